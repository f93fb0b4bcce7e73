"""A practice session saved as it goes: the one driver from the user's input to the store, shared by
the terminal (`coach interview`) and the app.

`Practice` runs an `Interview` and records its events in the `Store` as they pass:
- the asked question is remembered as pending, so a resumed session asks it again; an answer sent
  for it is remembered with it until its grade is stored, so a process killed while grading loses
  nothing: the resumed session grades that answer first;
- a grade is committed the moment it is computed (`Graded`), with its FSRS review, and the feedback
  streamed after it is added when it finishes: a process killed at any point loses at most the
  words still streaming;
- a skipped question is a turn without a grade; the end finishes the session.
The stored session is created with the first line the user sends, so a session nobody answered
leaves nothing behind. One request runs at a time (a second click while a turn streams is told
to wait).

It does not grade, choose questions or render (the `Interview` and the callers do).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from coach.errors import UsageError
from coach.session.events import (
    Asked,
    Ended,
    Event,
    Graded,
    Interview,
    Interviewer,
    ProgressFn,
    Said,
    SessionSpec,
    Skipped,
)
from coach.session.interview import parse_command
from coach.session.progress import due_questions
from coach.session.store import Session, Store, Turn, utcnow
from coach.types import Question


class Practice:
    """One stored session driven through an `Interview`. Each browser tab (or terminal) holds its own."""

    def __init__(self, store: Store, interview: Interview, spec: SessionSpec, session: Session | None = None) -> None:
        self.store = store
        self.interview = interview
        self.spec = spec
        self.session = session
        self.question: Question | None = session.pending if session else None  # waiting for an answer
        self._busy = threading.Lock()

    @classmethod
    def new(cls, store: Store, coach: Interviewer, spec: SessionSpec, progress: ProgressFn | None = None) -> Practice:
        return cls(store, coach.interview(spec, progress), spec)  # may fail (no model, no index): nothing stored

    @classmethod
    def resume(cls, store: Store, coach: Interviewer, session_id: str,
               progress: ProgressFn | None = None) -> tuple[Practice, list[Turn]]:
        """Reopen a stored session (an id, a unique prefix, or "" for the latest open one): its turns
        so far, and an interview that asks the pending question first."""
        session = store.latest_open() if session_id == "" else store.session(session_id)
        if session is None:
            raise UsageError('no open session to resume: start one with "coach interview" ("coach history" lists them)')
        if session.status != "open":
            raise UsageError(f'session {session.id} is finished: start a new one with "coach interview"')
        turns = store.turns(session.id)
        spec = SessionSpec(session.mode, session.section, session.level, tuple(review_queue(store, session, turns)),
                           session.pending, tuple(dict.fromkeys(t.question.id for t in turns)))
        return cls(store, coach.interview(spec, progress), spec, session), turns

    @property
    def session_id(self) -> str | None:
        return self.session.id if self.session else None

    def start(self) -> Iterator[Event]:
        """Ask the first question; a resumed session whose last answer was never graded grades it now."""
        unsent = self.session.pending_answer if self.session else ""
        if not unsent:
            return self._run(self.interview.start)

        def start_then_grade() -> Iterator[Event]:
            yield from self.interview.start()
            if self.session is not None and self.question is not None:
                self.store.set_pending(self.session.id, self.question, answer=unsent)
            yield Said("Your last answer was not graded before the coach stopped: grading it now.", "note")
            yield Said(unsent, "user")
            yield from self.interview.send(unsent)
        return self._run(start_then_grade)

    def send(self, text: str) -> Iterator[Event]:
        return self._run(lambda: self.interview.send(text), sent=text)

    def typed(self, text: str) -> None:
        """The answer typed so far, passed on to the interview (not while a turn runs)."""
        if not self._busy.locked():
            self.interview.typed(text)

    def _run(self, events: Callable[[], Iterator[Event]], sent: str | None = None) -> Iterator[Event]:
        if not self._busy.acquire(blocking=False):
            yield Said("Still working on the previous request: wait for it to finish.", "note")
            return
        try:
            if sent is not None and self.session is None:
                spec = self.spec
                self.session = self.store.create_session(spec.mode, spec.section, spec.level)
            if sent and self.question is not None and self.session is not None:
                # an answer (not a command) is kept with its question until its grade is stored
                self.store.set_pending(self.session.id, self.question, answer="" if parse_command(sent) else sent)
            yield from self._record(events())
        finally:
            self._busy.release()

    def _record(self, events: Iterator[Event]) -> Iterator[Event]:
        graded: int | None = None  # the turn whose feedback is streaming
        feedback: list[str] = []

        def flush() -> None:
            nonlocal graded
            if graded is not None and self.session is not None:
                self.store.add_feedback(self.session.id, graded, "".join(feedback).strip())
            graded = None
            feedback.clear()

        try:
            for ev in events:
                if isinstance(ev, Said) and ev.kind == "feedback" and graded is not None:
                    feedback.append(ev.text)
                    yield ev
                    continue
                flush()
                sid = self.session_id
                if isinstance(ev, Graded) and sid:
                    graded = self.store.record_turn(sid, ev.question, ev.answer, ev.grade).n
                    self.question = None
                elif isinstance(ev, Skipped) and sid:
                    self.store.record_turn(sid, ev.question, "", None)
                    self.question = None
                elif isinstance(ev, Asked):
                    self.question = ev.question
                    if sid:
                        self.store.set_pending(sid, ev.question)
                elif isinstance(ev, Ended):
                    self.question = None
                    if sid:
                        self.store.finish(sid)
                yield ev
        finally:
            flush()


def review_queue(store: Store, session: Session, turns: list[Turn]) -> list[Question]:
    """For a resumed review session: the due questions not yet asked in it."""
    if session.mode != "review":
        return []
    done = {t.question.id for t in turns}
    return [q for q in due_questions(store.reviews(), store.all_turns(), utcnow()) if q.id not in done]
