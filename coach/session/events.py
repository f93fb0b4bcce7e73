"""What an interview says, as events: the terminal prints them, the app renders them, the store keeps them.

An `Interview` (the Protocol) turns what the user sends into events; `coach.session.interview`
is the real one, tests have fakes. `SessionSpec` says which session to run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, Union

from coach.grading.types import Grade
from coach.types import Citation, Question

COMMANDS = ("hint", "explain", "skip", "next", "quit")
ProgressFn = Callable[[float, str], None]  # (fraction done 0..1, what is happening)


@dataclass(frozen=True)
class Asked:
    """The coach asks a question (a new one, or a follow-up on what the last answer missed)."""

    question: Question
    followup: bool = False


@dataclass(frozen=True)
class Graded:
    """The score card of an answer; its feedback streams after it as `Said(kind="feedback")`."""

    question: Question
    answer: str
    grade: Grade


@dataclass(frozen=True)
class Said:
    """A piece of streamed text."""

    text: str
    kind: str = "feedback"  # feedback | hint | explanation | answer | note | error | user (an answer re-sent)


@dataclass(frozen=True)
class Cited:
    """The passages behind the text just said."""

    citations: tuple[Citation, ...]
    kind: str = "explanation"


@dataclass(frozen=True)
class Skipped:
    question: Question


@dataclass(frozen=True)
class Ended:
    reason: str = ""  # the session's summary, e.g. "3 answer(s) graded, mean score 6.1/10."


Event = Union[Asked, Graded, Said, Cited, Skipped, Ended]


@dataclass(frozen=True)
class SessionSpec:
    mode: str  # "mock" (mixed sections), "section", "review" (the given questions)
    section: str | None = None  # a section id, for mode "section"
    level: int | None = None  # 0/1/2, or None for any
    questions: tuple[Question, ...] = ()  # ask exactly these, in order (mode "review")
    first: Question | None = None  # ask this first: the pending question of a resumed session
    asked: tuple[str, ...] = ()  # question ids already asked in this session: do not ask again


class Interview(Protocol):
    def start(self) -> Iterator[Event]:
        """Ask the first question."""
        ...

    def send(self, text: str) -> Iterator[Event]:
        """An answer, or one of COMMANDS."""
        ...

    def typed(self, text: str) -> None:
        """The answer typed so far (the app sends it as the user types), to work ahead on; may do nothing."""
        ...


class Interviewer(Protocol):
    """What the app and the terminal need from the coach: interviews, and answers to questions."""

    def interview(self, spec: SessionSpec, progress: ProgressFn | None = None) -> Interview: ...

    def ask(self, question: str, context: str | None = None,
            progress: ProgressFn | None = None) -> Iterator[Event]:
        """A grounded explanation: `Said(kind="answer")` pieces, then `Cited`."""
        ...
