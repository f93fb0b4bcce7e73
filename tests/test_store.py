"""The progress database: turns persist, resume after reopening, concurrent sessions do not mix,
a killed writer loses no committed turn and leaves no half-written one."""

import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone

import pytest

from coach.errors import CoachError, UsageError
from coach.grading.types import Grade
from coach.session import review
from coach.session import store as store_mod
from coach.session.store import Store
from coach.types import Citation, Question

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
Q1 = Question("1.3#1", "Explain the TCP 3-way handshake.", "1.3", None, "roadmap")
Q2 = Question("gen:2.1", "What does the OOM killer do?", "2.1", 0, "generated")


def grade(score):
    return Grade(score, "partial", ("SYN",), ("ACK",), ("1.1",),
                 (Citation("1.1", "Section 1 — Networking > 1.1 TCP Deep Dive", "SYN, SYN-ACK, ACK", "c1"),))


def test_wal_and_schema(db):
    con = sqlite3.connect(db.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == store_mod.SCHEMA_VERSION


def test_turns_round_trip_and_resume_after_reopening(tmp_path):
    s = Store(tmp_path / "p.db")
    sess = s.create_session("section", "1.1", 1, now=T0)
    s.set_pending(sess.id, Q1, now=T0)
    t1 = s.record_turn(sess.id, Q1, "SYN then SYN-ACK then ACK", grade(7.5), now=T0 + timedelta(minutes=1))
    s.set_pending(sess.id, Q2, now=T0 + timedelta(minutes=2))
    del s

    again = Store(tmp_path / "p.db")  # a restarted server
    latest = again.latest_open()
    assert latest.id == sess.id and latest.pending == Q2 and latest.section == "1.1" and latest.level == 1
    turns = again.turns(sess.id)
    assert turns == [t1]
    assert turns[0].grade.sources[0].heading_path.endswith("1.1 TCP Deep Dive")
    assert turns[0].question == Q1 and turns[0].n == 1 and not turns[0].skipped


def test_skip_is_a_turn_without_grade_or_review(db):
    sess = db.create_session("mock", now=T0)
    t = db.record_turn(sess.id, Q1, "", None, now=T0)
    assert t.skipped and db.turns(sess.id)[0].grade is None and db.reviews() == []
    summary = db.sessions()[0]
    assert (summary.turns, summary.answered, summary.skipped, summary.mean_score) == (1, 0, 1, None)


def test_summaries_count_and_average(db):
    a = db.create_session("mock", now=T0)
    b = db.create_session("section", "2.1", now=T0 + timedelta(hours=1))
    db.record_turn(a.id, Q1, "x", grade(4), now=T0 + timedelta(minutes=1))
    db.record_turn(a.id, Q2, "y", grade(8), now=T0 + timedelta(minutes=2))
    db.record_turn(a.id, Q2, "", None, now=T0 + timedelta(minutes=3))
    by_id = {x.session.id: x for x in db.sessions()}
    assert (by_id[a.id].answered, by_id[a.id].skipped, by_id[a.id].mean_score) == (2, 1, 6.0)
    assert by_id[b.id].turns == 0 and by_id[b.id].mean_score is None
    assert [x.session.id for x in db.sessions()] == [b.id, a.id]  # most recently updated first


def test_finish_and_latest_open(db):
    a = db.create_session("mock", now=T0)
    b = db.create_session("section", "1.1", now=T0 + timedelta(seconds=1))
    assert db.latest_open().id == b.id and db.latest_open("mock").id == a.id
    db.finish(b.id, now=T0 + timedelta(seconds=2))
    assert db.latest_open().id == a.id and db.session(b.id).status == "finished"


def test_session_lookup_by_prefix_and_clear_errors(db):
    a = db.create_session("mock", now=T0)
    assert db.session(a.id[:-2]).id == a.id
    with pytest.raises(UsageError, match='coach history" lists'):
        db.session("nope")
    db.create_session("mock", now=T0)  # same second: ids share the prefix up to the random part
    with pytest.raises(UsageError, match="ambiguous"):
        db.session(a.id[:16])
    with pytest.raises(UsageError, match="does not exist"):
        db.record_turn("missing", Q1, "x", grade(5))
    with pytest.raises(UsageError, match="unknown session mode"):
        db.create_session("party")


def test_failed_turn_writes_nothing(db, monkeypatch):
    sess = db.create_session("mock", now=T0)

    def boom(*a, **k):
        raise RuntimeError("scheduler crashed")

    monkeypatch.setattr(review, "schedule", boom)
    with pytest.raises(RuntimeError):
        db.record_turn(sess.id, Q1, "answer", grade(5), now=T0 + timedelta(minutes=5))
    assert db.turns(sess.id) == [] and db.reviews() == []
    assert db.session(sess.id).updated == T0  # the session row was rolled back too


def test_concurrent_sessions_do_not_mix(tmp_path):
    path = tmp_path / "p.db"
    Store(path)
    ids, errors = {}, []

    def tab(name):
        try:
            s = Store(path)  # each tab/thread its own object, like two processes
            sess = s.create_session("section", name)
            ids[name] = sess.id
            for i in range(25):
                q = Question(f"{name}#{i}", f"{name} question {i}", name)
                s.set_pending(sess.id, q)
                s.record_turn(sess.id, q, f"{name} answer {i}", grade(i % 11))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=tab, args=(n,)) for n in ("1.1", "2.1", "1.2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    s = Store(path)
    for name, sid in ids.items():
        turns = s.turns(sid)
        assert [t.n for t in turns] == list(range(1, 26))
        assert all(t.answer.startswith(name) and t.question.section == name for t in turns)
    assert len(s.reviews()) == 75


KILL_SCRIPT = r"""
import os, signal, sys
from coach.grading.types import Grade
from coach.session.store import Store
from coach.types import Question
s = Store(sys.argv[1])
sess = s.create_session("mock")
for i in range(3):
    s.record_turn(sess.id, Question(f"q{i}", f"question {i}", "1.1"), f"answer {i}", Grade(6, "ok"))
print(sess.id, flush=True)
# a fourth turn, killed after its row is written but before the commit
orig = Store._review
def die(self, *a, **k):
    orig(self, *a, **k)
    os.kill(os.getpid(), signal.SIGKILL)
Store._review = die
s.record_turn(sess.id, Question("q3", "question 3", "1.1"), "answer 3", Grade(6, "ok"))
"""


def test_killed_writer_keeps_committed_turns_and_no_half_turn(tmp_path):
    path = tmp_path / "p.db"
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(path)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == -9, proc.stderr
    sid = proc.stdout.strip()
    s = Store(path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    turns = s.turns(sid)
    assert [t.answer for t in turns] == ["answer 0", "answer 1", "answer 2"]
    assert {r.question.id for r in s.reviews()} == {"q0", "q1", "q2"}
    assert s.record_turn(sid, Q1, "after restart", grade(5)).n == 4


def test_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "p.db"
    Store(path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version=99")
    con.close()
    with pytest.raises(CoachError, match="newer coach"):
        Store(path)


def test_unreadable_file_is_a_clear_error(tmp_path):
    path = tmp_path / "p.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CoachError, match="move away|moved away"):
        Store(path)
