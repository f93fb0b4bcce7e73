"""`coach history [--json]` and `coach history --export ID [--out FILE]`."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from coach.grading.types import Grade
from coach.session.store import Store
from coach.types import Citation, Question

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def env(cfg, monkeypatch, tmp_path):
    toml = tmp_path / "coach.toml"
    toml.write_text(f'[paths]\ncorpus_dir = "{cfg.corpus_dir}"\ndata_dir = "{cfg.data_dir}"\n')
    monkeypatch.setenv("COACH_CONFIG", str(toml))
    monkeypatch.delenv("COACH_DATA_DIR", raising=False)
    return Store.open(cfg)


def seed(store):
    a = store.create_session("section", "1.1", 1, now=T0)
    store.record_turn(a.id, Question("1.3#1", "Explain the TCP 3-way handshake.", "1.3", None, "roadmap"),
                      "SYN, SYN-ACK, ACK.\nThen data flows.",
                      Grade(7.5, "good", ("SYN and SYN-ACK",), ("sequence numbers",), ("1.1",),
                            (Citation("1.1", "Section 1 — Networking > 1.1 TCP Deep Dive", "- **Ports**: ..."),)),
                      feedback="Name the ISNs.", now=T0 + timedelta(minutes=1))
    store.record_turn(a.id, Question("gen:1.2", "How does DNS resolution work?", "1.2", 0, "generated"), "",
                      None, now=T0 + timedelta(minutes=2))
    b = store.create_session("mock", now=T0 + timedelta(hours=2))
    return a, b


def test_history_json(env, capsys, run):
    a, b = seed(env)
    code, out, err = run("history", "--json")
    data = json.loads(out)
    assert code == 0 and [d["id"] for d in data] == [b.id, a.id]
    assert set(data[0]) == {"id", "mode", "section", "level", "status", "started", "updated", "turns", "answered",
                            "skipped", "mean_score"}
    first = data[1]
    assert (first["turns"], first["answered"], first["skipped"], first["mean_score"]) == (2, 1, 1, 7.5)
    assert (first["mode"], first["section"], first["level"], first["status"]) == ("section", "1.1", 1, "open")
    assert data[0]["mean_score"] is None


def test_history_table_and_empty(env, capsys, run):
    code, out, _ = run("history")
    assert code == 0 and "no sessions yet" in out
    a, _ = seed(env)
    code, out, _ = run("history")
    assert a.id in out and "section 1.1, level 1" in out and "7.5" in out


def test_export_markdown(env, capsys, tmp_path, run):
    a, _ = seed(env)
    code, out, _ = run("history", "--export", a.id)
    assert code == 0
    assert out.startswith(f"# Interview session {a.id}\n")
    assert "## 1. Explain the TCP 3-way handshake." in out
    assert "> SYN, SYN-ACK, ACK.\n> Then data flows." in out
    assert "**Score: 7.5/10 (good)**" in out and "- sequence numbers" in out and "Name the ISNs." in out
    assert "- [1.1] Section 1 — Networking > 1.1 TCP Deep Dive: - **Ports**: ..." in out
    assert "## 2. How does DNS resolution work?" in out and "**Skipped.**" in out
    dest = tmp_path / "s.md"
    code, out2, _ = run("history", "--export", a.id[:-3], "--out", str(dest))
    assert code == 0 and out2.strip() == str(dest) and dest.read_text() == out


def test_export_unknown_session_is_exit_2(env, capsys, run):
    code, out, err = run("history", "--export", "nope")
    assert code == 2 and "does not exist" in err and "Traceback" not in err
    code, _, err = run("history", "--out", "x.md")
    assert code == 2 and "--export" in err


def test_serve_rejects_a_bad_port(env, capsys, run):
    code, _, err = run("serve", "--port", "70000")
    assert code == 2 and "between 1 and 65535" in err
