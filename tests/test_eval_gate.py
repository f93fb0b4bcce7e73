"""The eval runner: results, report with plots, baseline and the regression gate, on fakes."""

import json

import pytest

from coach import cli
from coach.evals import kit as evalkit
from coach.retrieval import query

DATASET = [
    {"id": "q1", "query": "oom_score_adj victim", "kind": "keyword", "sections": ["2.1"], "phrase": "OOM killer"},
    {"id": "q2", "query": "stub resolver to authoritative", "kind": "paraphrase", "sections": ["1.2"],
     "phrase": "stub resolver"},
    {"id": "q3", "query": "how do I tune that?", "context": "TIME_WAIT sockets tcp_tw_reuse", "kind": "followup",
     "sections": ["1.1"], "phrase": "tcp_tw_reuse"},
    {"id": "q4", "query": "and what is the safe setting for it?", "context": "net.ipv4.tcp_tw_reuse outbound reuse",
     "kind": "followup", "sections": ["1.1"], "phrase": "tcp_tw_reuse"},
]


@pytest.fixture
def main(backends):
    """`coach` with the fake backends."""
    return lambda argv: cli.main(argv, backends=backends)


@pytest.fixture
def env(fake_cli, monkeypatch, main):
    tmp_path = fake_cli
    monkeypatch.setattr(evalkit, "BASELINE_DIR", tmp_path / "baselines")
    data = tmp_path / "dev.jsonl"
    data.write_text("\n".join(json.dumps(d) for d in DATASET) + "\n")
    assert main(["index"]) == 0
    return tmp_path, data


def test_gate_passes_on_the_baseline_and_fails_on_a_planted_regression(env, capsys, monkeypatch, main):
    tmp, data = env
    assert main(["eval", "retrieval", "--dataset", str(data), "--update-baseline", "--json"]) == 0
    baseline = json.loads((tmp / "baselines" / "retrieval.json").read_text())
    assert baseline["metrics"]["hybrid.hit@1"] == 1.0
    capsys.readouterr()
    assert main(["eval", "retrieval", "--dataset", str(data), "--gate"]) == 0
    assert "no regression" in capsys.readouterr().err

    # planted regression: follow-ups lose the previous turn (as if a change dropped the context)
    monkeypatch.setattr(query, "CONTEXT_WORDS", 0)
    assert main(["eval", "retrieval", "--dataset", str(data), "--gate"]) == 1
    err = capsys.readouterr().err
    assert "REGRESSION retrieval: hybrid.hit@1" in err


def test_gate_needs_a_baseline_measured_the_same_way(env, capsys, main):
    tmp, data = env
    assert main(["eval", "retrieval", "--dataset", str(data), "--gate"]) == 2
    assert "no baseline" in capsys.readouterr().err
    main(["eval", "retrieval", "--dataset", str(data), "--update-baseline", "--limit", "2"])
    assert main(["eval", "retrieval", "--dataset", str(data), "--gate"]) == 2


def test_results_and_report_are_written(env, capsys, main):
    tmp, data = env
    report = tmp / "out" / "report.md"
    assert main(["eval", "retrieval", "--dataset", str(data), "--report", str(report)]) == 0
    text = report.read_text()
    assert "| hybrid |" in text and "![Retrieval hit@5 per query kind](report-1.png)" in text
    assert (tmp / "out" / "report-1.png").read_bytes()[:4] == b"\x89PNG"
    saved = list((tmp / "data" / "evals").glob("retrieval-*.json"))
    assert saved and "hybrid.mrr@10" in json.loads(saved[0].read_text())["metrics"]


def test_compare_treats_missing_and_nan_as_regressions():
    base = {"metrics": {"a": 0.5, "b": 0.5}, "tolerance": {"default": 0.0}}
    assert [r.metric for r in evalkit.compare({"a": float("nan")}, base)] == ["a", "b"]
    assert evalkit.compare({"a": 0.5, "b": 0.6}, base) == []
