"""Sessions, turns and review state, kept in SQLite in the data dir.

What it does: one database file (`<data_dir>/progress.db`, WAL journal) with three tables:
sessions (mode, section, level, status, the question waiting for an answer), turns (question,
answer, grade, citations) and reviews (one FSRS card per question). `record_turn` writes the turn,
touches the session and advances the question's card in ONE transaction, so a turn is either fully
stored or not at all, and a killed server loses no committed turn. Every call opens its own
short-lived connection, so two browser tabs (threads) or two processes can write at once: turn
numbers are assigned inside an immediate (write-locked) transaction.

What it does not do: grade, pick questions or render anything. Values in and out are the frozen
dataclasses below; no rows or dicts cross the boundary.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from coach.errors import CoachError, UsageError
from coach.grading.types import Grade
from coach.session import review
from coach.types import Citation, Question

DB_FILE = "progress.db"
SCHEMA_VERSION = 1
MODES = ("mock", "section", "review", "ask")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, mode TEXT NOT NULL, section TEXT, level INTEGER,
    started TEXT NOT NULL, updated TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open',
    pending TEXT  -- JSON of the question waiting for an answer
);
CREATE TABLE IF NOT EXISTS turns (
    session TEXT NOT NULL REFERENCES sessions(id), n INTEGER NOT NULL,
    question_id TEXT NOT NULL, question TEXT NOT NULL, source TEXT NOT NULL, section TEXT NOT NULL,
    level INTEGER, answer TEXT NOT NULL, skipped INTEGER NOT NULL, score REAL, verdict TEXT NOT NULL,
    covered TEXT NOT NULL, missing TEXT NOT NULL, feedback TEXT NOT NULL, citations TEXT NOT NULL,
    created TEXT NOT NULL, PRIMARY KEY (session, n)
);
CREATE INDEX IF NOT EXISTS turns_created ON turns(created);
CREATE TABLE IF NOT EXISTS reviews (
    question_id TEXT PRIMARY KEY, question TEXT NOT NULL, section TEXT NOT NULL, level INTEGER,
    source TEXT NOT NULL, card TEXT NOT NULL, due TEXT NOT NULL, reps INTEGER NOT NULL,
    last_score REAL NOT NULL, updated TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Session:
    id: str
    mode: str  # one of MODES
    section: str | None
    level: int | None
    started: datetime
    updated: datetime
    status: str  # "open" or "finished"
    pending: Question | None = None  # asked, not yet answered
    pending_answer: str = ""  # sent for `pending` but not graded yet (the process stopped while grading)


@dataclass(frozen=True)
class Turn:
    session: str
    n: int  # 1-based position in the session
    question: Question
    answer: str
    grade: Grade | None  # None when the question was skipped
    created: datetime
    feedback: str = ""  # worded after the grade, appended when it finished streaming

    @property
    def skipped(self) -> bool:
        return self.grade is None


@dataclass(frozen=True)
class SessionSummary:
    session: Session
    turns: int
    answered: int
    skipped: int
    mean_score: float | None  # None when nothing was graded


@dataclass(frozen=True)
class ReviewState:
    question: Question
    card: str  # fsrs Card JSON
    due: datetime
    reps: int
    last_score: float
    updated: datetime


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _ts(t: datetime) -> str:
    if t.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return t.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _dt(s: str) -> datetime:
    return datetime.fromisoformat(s)


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise CoachError(f"{self.path} was written by a newer coach (schema {version}): "
                                     "upgrade coach, or move the file away to start afresh")
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as e:
            raise CoachError(f"cannot open the progress database {self.path} ({e}): check the data dir "
                             "is writable; a corrupt file can be moved away (history is lost)") from e

    @classmethod
    def open(cls, cfg) -> Store:
        """The store in the config's data dir."""
        return cls(cfg.data_dir / DB_FILE)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at each checkpoint; no corruption
            db.execute("PRAGMA foreign_keys=ON")
            yield db
        finally:
            db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One immediate transaction: other writers wait; all or nothing."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # sessions ------------------------------------------------------------------------------

    def create_session(self, mode: str, section: str | None = None, level: int | None = None,
                       now: datetime | None = None) -> Session:
        if mode not in MODES:
            raise UsageError(f"unknown session mode {mode!r}: use one of {', '.join(MODES)}")
        now = now or utcnow()
        with self._write() as db:
            while True:  # a readable, sortable id; the random tail keeps two tabs in one second apart
                sid = now.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
                if not db.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,)).fetchone():
                    break
            db.execute("INSERT INTO sessions (id, mode, section, level, started, updated, status) "
                       "VALUES (?, ?, ?, ?, ?, ?, 'open')", (sid, mode, section, level, _ts(now), _ts(now)))
        return Session(sid, mode, section, level, now, now, "open")

    def session(self, session_id: str) -> Session:
        """The session with this id (or a unique prefix of it); UsageError naming what to do if none."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM sessions WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id = ? DESC",
                              (session_id, _like_prefix(session_id), session_id)).fetchall()
        if not rows or (len(rows) > 1 and rows[0][0] != session_id):
            why = "is ambiguous" if rows else "does not exist"
            raise UsageError(f"session {session_id!r} {why}: \"coach history\" lists the session ids")
        return _session(rows[0])

    def latest_open(self, mode: str | None = None) -> Session | None:
        """The most recently updated open session (of `mode`, if given): what `--resume` picks."""
        sql, args = "SELECT * FROM sessions WHERE status = 'open'", ()
        if mode:
            sql, args = sql + " AND mode = ?", (mode,)
        with self._connect() as db:
            row = db.execute(sql + " ORDER BY updated DESC, id DESC LIMIT 1", args).fetchone()
        return _session(row) if row else None

    def set_pending(self, session_id: str, question: Question | None, now: datetime | None = None, *,
                    answer: str = "") -> None:
        """Remember the question waiting for an answer (None: nothing pending), and the answer sent
        for it while it is being graded, for resuming."""
        with self._write() as db:
            self._touch(db, session_id, now or utcnow(), pending=question, answer=answer)

    def finish(self, session_id: str, now: datetime | None = None) -> None:
        with self._write() as db:
            self._touch(db, session_id, now or utcnow(), pending=None)
            db.execute("UPDATE sessions SET status = 'finished' WHERE id = ?", (session_id,))

    def sessions(self, limit: int | None = None) -> list[SessionSummary]:
        """Every session, most recently updated first, with its turn counts and mean score."""
        sql = ("SELECT s.*, COUNT(t.n), COUNT(t.score), COALESCE(SUM(t.skipped), 0), AVG(t.score) "
               "FROM sessions s LEFT JOIN turns t ON t.session = s.id GROUP BY s.id "
               "ORDER BY s.updated DESC, s.id DESC")
        with self._connect() as db:
            rows = db.execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
        return [SessionSummary(_session(r[:8]), r[8], r[9], r[10], r[11]) for r in rows]

    # turns ---------------------------------------------------------------------------------

    def record_turn(self, session_id: str, question: Question, answer: str, grade: Grade | None,
                    feedback: str = "", now: datetime | None = None) -> Turn:
        """Store one turn (grade None: skipped), clear the session's pending question and, for a
        graded turn, advance the question's FSRS card: all in one transaction. Feedback streamed
        after the grade is added with `add_feedback`."""
        now = now or utcnow()
        g = grade
        with self._write() as db:
            self._touch(db, session_id, now, pending=None)
            n = db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM turns WHERE session = ?", (session_id,)).fetchone()[0]
            db.execute(
                "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, n, question.id, question.text, question.origin, question.section, question.level,
                 answer, g is None, g.score if g else None, g.verdict if g else "skipped",
                 json.dumps(list(g.covered) if g else [], ensure_ascii=False),
                 json.dumps(list(g.missing) if g else [], ensure_ascii=False), feedback,
                 json.dumps([asdict(c) for c in g.sources] if g else [], ensure_ascii=False), _ts(now)))
            if g is not None:
                self._review(db, question, g.score, now)
        return Turn(session_id, n, question, answer, _kept(grade) if grade else None, now, feedback)

    def add_feedback(self, session_id: str, n: int, feedback: str) -> None:
        """The feedback of turn `n`, once it has streamed (the grade was stored before it)."""
        with self._write() as db:
            db.execute("UPDATE turns SET feedback = ? WHERE session = ? AND n = ?", (feedback, session_id, n))

    def turns(self, session_id: str) -> list[Turn]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM turns WHERE session = ? ORDER BY n", (session_id,)).fetchall()
        return [_turn(r) for r in rows]

    def all_turns(self, since: datetime | None = None) -> list[Turn]:
        """Every turn of every session, oldest first (for the progress charts)."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM turns WHERE created >= ? ORDER BY created, session, n",
                              (_ts(since) if since else "",)).fetchall()
        return [_turn(r) for r in rows]

    # review state --------------------------------------------------------------------------

    def reviews(self) -> list[ReviewState]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM reviews ORDER BY due, question_id").fetchall()
        return [ReviewState(Question(r[0], r[1], r[2], r[3], r[4]), r[5], _dt(r[6]), r[7], r[8], _dt(r[9]))
                for r in rows]

    def _review(self, db: sqlite3.Connection, q: Question, score: float, now: datetime) -> None:
        row = db.execute("SELECT card, reps FROM reviews WHERE question_id = ?", (q.id,)).fetchone()
        nxt = review.schedule(row[0] if row else None, score, now)
        db.execute("INSERT OR REPLACE INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (q.id, q.text, q.section, q.level, q.origin, nxt.card, _ts(nxt.due),
                    (row[1] if row else 0) + 1, float(score), _ts(now)))

    def _touch(self, db: sqlite3.Connection, session_id: str, now: datetime, *, pending: Question | None,
               answer: str = "") -> None:
        cur = db.execute("UPDATE sessions SET updated = ?, pending = ? WHERE id = ?",
                         (_ts(now), _pending_json(pending, answer) if pending else None, session_id))
        if cur.rowcount != 1:
            raise UsageError(f"session {session_id!r} does not exist: start a new one")


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" if prefix else "\x00"


def _pending_json(q: Question, answer: str = "") -> str:
    """The pending question, whole (its passages too: a resumed follow-up is graded as it was
    asked), and the answer being graded for it. `source` is the question's origin, the key schema 1
    has always used."""
    d = asdict(q)
    d["source"] = d.pop("origin")
    if answer:
        d["answer"] = answer
    return json.dumps(d, ensure_ascii=False)


def _session(r: tuple) -> Session:
    pending, answer = None, ""
    if r[7]:
        d = json.loads(r[7])
        pending = Question(d["id"], d["text"], d["section"], d.get("level"), d.get("source", ""), d.get("topic", ""),
                           tuple(d.get("chunk_ids", ())), d.get("home", ""))
        answer = d.get("answer", "")
    return Session(r[0], r[1], r[2], r[3], _dt(r[4]), _dt(r[5]), r[6], pending, answer)


def _kept(g: Grade) -> Grade:
    """What the store keeps of a grade (and gives back): the card and its sources."""
    return Grade(g.score, g.verdict, tuple(g.covered), tuple(g.missing),
                 tuple(dict.fromkeys(c.section for c in g.sources)), tuple(g.sources))


def _turn(r: tuple) -> Turn:
    q = Question(r[2], r[3], r[5], r[6], r[4])
    grade = None
    if not r[8]:
        sources = tuple(Citation(**c) for c in json.loads(r[14]))
        grade = _kept(Grade(r[9], r[10], tuple(json.loads(r[11])), tuple(json.loads(r[12])), (), sources))
    return Turn(r[0], r[1], q, r[7], grade, _dt(r[15]), r[13])
