"""The CLI contract with fake backends: JSON shapes, errors and exit codes."""

import json
import subprocess
import sys

import pytest

from coach import cli


@pytest.fixture
def env(fake_cli):
    return fake_cli


def test_missing_index_message_and_exit_code(env, capsys, run):
    code, out, err = run("search", "dns")
    assert code == 1 and 'index not built: run "coach index"' in err and "Traceback" not in err


def test_index_then_noop(env, capsys, run):
    code, out, _ = run("index")
    assert code == 0 and "indexed" in out
    code, out, _ = run("index")
    assert code == 0 and "up to date" in out


def test_search_json_shape(env, capsys, run):
    run("index")
    code, out, _ = run("search", "CLOSE_WAIT", "-k", "2", "--json")
    data = json.loads(out)
    assert code == 0 and len(data["hits"]) == 2
    assert set(data["hits"][0]) == {"chunk_id", "section", "title", "heading_path", "text", "score"}
    assert data["hits"][0]["section"] == "1.1"
    assert data["hits"][0]["heading_path"].startswith("Section 1 — Networking > 1.1 TCP Deep Dive")


def test_batch_contract_and_bad_lines(env, capsys, tmp_path, run):
    run("index")
    f = tmp_path / "q.jsonl"
    f.write_text('{"id": "a", "query": "oom_score_adj"}\n'
                 '{"id": "b", "query": "how do I tune that?", "context": "TIME_WAIT on TCP"}\n'
                 "not json\n"
                 '{"id": "d"}\n'
                 '\n'
                 '{"id": 5, "query": "stub resolver"}\n')
    code, out, _ = run("search", "--batch", str(f), "--json", "-k", "3")
    lines = [json.loads(x) for x in out.splitlines()]
    assert code == 0
    assert [x["id"] for x in lines] == ["a", "b", "line-3", "d", "5"]
    assert lines[0]["hits"][0]["section"] == "2.1"
    assert lines[1]["hits"][0]["section"] == "1.1"
    assert "error" in lines[2] and "error" in lines[3]
    assert len(lines[4]["hits"]) == 3


def test_human_output_emphasises_terms(env, capsys, run):
    run("index")
    code, out, _ = run("search", "oom_score_adj", "--no-rerank")
    assert code == 0 and "[2.1] Memory" in out and "**oom_score_adj**" in out


def test_usage_errors_exit_2(env, capsys, tmp_path, run):
    run("index")
    assert run("search")[0] == 2
    assert run("search", "x", "-k", "0")[0] == 2
    assert run("search", "--batch", str(tmp_path / "nope.jsonl"), "--json")[0] == 2
    with pytest.raises(SystemExit) as e:
        cli.main(["search", "x", "--mode", "magic"])
    assert e.value.code == 2


def test_sections_and_questions(env, capsys, run):
    code, out, _ = run("sections", "--json")
    ids = [s["id"] for s in json.loads(out)]
    assert code == 0 and ids[:4] == ["1", "1.1", "1.2", "1.3"]
    code, out, _ = run("questions", "--section", "1", "--json")
    assert [q["id"] for q in json.loads(out)] == ["1.3#1", "1.3#2"]


def test_bad_config_is_reported(env, capsys, tmp_path, monkeypatch, run):
    bad = tmp_path / "bad.toml"
    bad.write_text("[retrieval]\nfusion = 3\n")
    code, _, err = run("--config", str(bad), "sections")
    assert code == 2 and "retrieval.fusion" in err


def test_help_is_light():
    code = ("import sys, contextlib, io\nfrom coach import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    cli.main(['sections', '--help']) if False else None\n"
            "try:\n    cli.build_parser().parse_args(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'chromadb', 'llama_cpp', 'sentence_transformers', 'gradio') if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_rerank_train_passes_chosen_settings_and_rejects_bad_ones(env, capsys, monkeypatch, tmp_path, run):
    import coach.retrieval.rerank_train as rt

    run("index")
    seen = []
    monkeypatch.setattr(rt, "train", lambda cfg, retriever, s, **kw: seen.append(s) or tmp_path / "m")
    code, out, err = run("rerank", "train", "--epochs", "2", "--lr", "1e-4")
    assert code == 0 and out.strip() == str(tmp_path / "m") and "reranker.model" in err
    assert (seen[0].epochs, seen[0].lr, seen[0].layers) == (2, 1e-4, rt.TrainSettings().layers)
    code, _, _ = run("rerank", "train")
    assert code == 0 and seen[1] == rt.TrainSettings()
    code, _, err = run("rerank", "train", "--layers", "0")
    assert code == 2 and "must be positive" in err and len(seen) == 2


def test_questions_about_a_subsection_come_from_their_keys(env, capsys, run):
    code, out, _ = run("questions", "--section", "1.1")
    assert code == 0 and "the roadmap lists them under 1.3 Interview Questions" in out and "[1.3#1]" in out
    code, out, _ = run("questions", "--section", "1.1", "--json")
    assert [(q["id"], q["about"]) for q in json.loads(out)] == [("1.3#1", "1.1")]
    code, _, err = run("questions", "--section", "9.9")
    assert code == 2 and "unknown section" in err
