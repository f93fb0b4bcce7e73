"""A practice session that is saved as it goes: the interview's events, recorded turn by turn.

What it does: defines what the app needs from the coach (`Coach`: start an `Interview` for a
`SessionSpec`, answer a follow-up question) and the events an interview emits (`Asked`, `Graded`,
`Said`, `Cited`, `Skipped`, `Ended`). `PracticeSession` wraps an interview and writes to the
`Store` as the events pass: the asked question is remembered as pending (so a resumed session
asks it again), and a turn is recorded once it is complete (its grade and the feedback streamed
after it), in one transaction. A turn whose stream is cut off (tab closed, error) after its grade
is still recorded, with the feedback streamed so far.

What it does not do: grade, choose questions or talk to a model (that is the interview behind
the Protocol), or render anything (`coach.ui`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol, Union

from coach.store import Citation, GradeRecord, QuestionRef, Session, Store, Turn

COMMANDS = ("hint", "explain", "skip", "next", "quit")
ProgressFn = Callable[[float, str], None]  # (fraction done 0..1, what is happening)


@dataclass(frozen=True)
class Asked:
    """The coach asks a question (a new one or a follow-up)."""

    question: QuestionRef
    intro: str = ""  # e.g. "A follow-up on what was missing:"


@dataclass(frozen=True)
class Graded:
    """The score card of an answer; its feedback may stream after it as `Said(kind="feedback")`."""

    question: QuestionRef
    answer: str
    grade: GradeRecord


@dataclass(frozen=True)
class Said:
    """A piece of streamed text."""

    text: str
    kind: str = "feedback"  # feedback | hint | explanation | answer | note


@dataclass(frozen=True)
class Cited:
    """The passages behind the text just said."""

    citations: tuple[Citation, ...]
    kind: str = "explanation"


@dataclass(frozen=True)
class Skipped:
    question: QuestionRef


@dataclass(frozen=True)
class Ended:
    reason: str = ""  # "no more questions in section 3.1", "quit", ...


Event = Union[Asked, Graded, Said, Cited, Skipped, Ended]


@dataclass(frozen=True)
class SessionSpec:
    mode: str  # "mock" (mixed sections), "section", "review" (the given questions)
    section: str | None = None  # a section id, for mode "section"
    level: int | None = None  # 0/1/2, or None for any
    questions: tuple[QuestionRef, ...] = ()  # ask exactly these, in order (mode "review")
    first: QuestionRef | None = None  # ask this first: the pending question of a resumed session
    asked: tuple[str, ...] = ()  # question ids already asked in this session: do not ask again


class Interview(Protocol):
    def start(self) -> Iterator[Event]:
        """Ask the first question."""
        ...

    def send(self, text: str) -> Iterator[Event]:
        """An answer, or one of COMMANDS."""
        ...


class Coach(Protocol):
    def interview(self, spec: SessionSpec, progress: ProgressFn | None = None) -> Interview: ...

    def ask(self, question: str, context: str | None = None,
            progress: ProgressFn | None = None) -> Iterator[Event]:
        """A grounded explanation: `Said(kind="answer")` pieces, then `Cited`."""
        ...


class PracticeSession:
    """One stored session driven through an `Interview`. Not shared between browser tabs: each
    tab (or terminal) holds its own."""

    def __init__(self, store: Store, session: Session, interview: Interview) -> None:
        self.store = store
        self.session = session
        self.interview = interview
        self.question: QuestionRef | None = session.pending  # the question waiting for an answer
        self._busy = threading.Lock()  # one request at a time (a second click while a turn streams)

    @classmethod
    def new(cls, store: Store, coach: Coach, spec: SessionSpec,
            progress: ProgressFn | None = None) -> PracticeSession:
        interview = coach.interview(spec, progress)  # may fail (no model, no index): create nothing then
        return cls(store, store.create_session(spec.mode, spec.section, spec.level), interview)

    @classmethod
    def resume(cls, store: Store, coach: Coach, session_id: str,
               progress: ProgressFn | None = None) -> tuple[PracticeSession, list[Turn]]:
        """Reopen a stored session: its turns so far, and an interview that asks the pending question first."""
        session = store.session(session_id)
        turns = store.turns(session.id)
        review = tuple(q for q in _review_questions(store, session, turns))
        spec = SessionSpec(session.mode, session.section, session.level, review, session.pending,
                           tuple(dict.fromkeys(t.question.id for t in turns)))
        return cls(store, session, coach.interview(spec, progress)), turns

    def start(self) -> Iterator[Event]:
        return self._record(self.interview.start)

    def send(self, text: str) -> Iterator[Event]:
        return self._record(lambda: self.interview.send(text))

    def typed(self, text: str) -> None:
        """The answer typed so far, for an interview that reads it ahead (not while a turn runs)."""
        typed = getattr(self.interview, "typed", None)
        if typed is not None and not self._busy.locked():
            typed(text)

    def _record(self, events: Callable[[], Iterator[Event]]) -> Iterator[Event]:
        if not self._busy.acquire(blocking=False):
            yield Said("Still working on the previous request: wait for it to finish.", "note")
            return
        try:
            yield from self._events(events())
        finally:
            self._busy.release()

    def _events(self, events: Iterator[Event]) -> Iterator[Event]:
        sid = self.session.id
        graded: Graded | None = None
        feedback: list[str] = []

        def flush() -> None:
            nonlocal graded
            if graded is not None:
                g = graded.grade
                if not g.feedback.strip() and feedback:
                    g = replace(g, feedback="".join(feedback).strip())
                self.store.record_turn(sid, graded.question, graded.answer, g)
                graded = None
                feedback.clear()

        try:
            for ev in events:
                if isinstance(ev, Graded):
                    flush()
                    graded = ev
                    self.question = None
                elif isinstance(ev, Said) and ev.kind == "feedback" and graded is not None:
                    feedback.append(ev.text)
                elif isinstance(ev, Skipped):
                    flush()
                    self.store.record_turn(sid, ev.question, "", None)
                    self.question = None
                elif isinstance(ev, Asked):
                    flush()
                    self.store.set_pending(sid, ev.question)
                    self.question = ev.question
                elif isinstance(ev, Ended):
                    flush()
                    self.store.finish(sid)
                    self.question = None
                yield ev
        finally:
            flush()


def _review_questions(store: Store, session: Session, turns: list[Turn]) -> list[QuestionRef]:
    """For a resumed review session: the due questions not yet asked in it."""
    if session.mode != "review":
        return []
    from coach.progress import due_questions
    from coach.store import utcnow

    done = {t.question.id for t in turns}
    return [q for q in due_questions(store.reviews(), store.all_turns(), utcnow()) if q.id not in done]
