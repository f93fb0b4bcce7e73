"""The mock-interview loop: one line from the user in, events out, for the terminal and the app alike.

Flow: ask -> the user answers -> grade (score card) -> feedback, streamed -> a follow-up on the
most important missed key point (at most `max_followups` per question) or the next question.
Commands (a line that is only the word, any case, optional leading "/" or ":"): "hint",
"explain", "skip", "next", "quit". No input (empty, 200 KB, control characters, NUL bytes, emoji,
RTL text) makes `send` raise: a failing model or backend becomes an error event, and the question
stays open.

While the user types, `prepare` works ahead (in a background thread when `background` is on):
it writes the next question if the bank runs low and lets the grader read the question (for a
question without a reviewed key, the grader drafts its key then, while the user types); `typed`
passes the answer typed so far to the grader.

It does no I/O and keeps no transcript: `coach.session.practice` records the events in the store.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from coach.corpus.answer_keys import AnswerKey
from coach.corpus.sections import in_section
from coach.errors import CoachError
from coach.grading.types import Grade, PointResult
from coach.sanitize import clean
from coach.session.bank import BankView
from coach.session.events import Asked, Cited, Ended, Event, Graded, Said, Skipped
from coach.types import Citation, Question

_COMMAND = re.compile(r"^\s*[/:!]?\s*(hint|explain|skip|next|quit|exit|q)\s*[.!]?\s*$", re.I)
FOLLOWUP_BELOW = 7  # a strong answer (>= 7) moves on; anything less earns one follow-up


class Grading(Protocol):
    """What the loop needs of `coach.grading.grader.Grader`."""

    def grade(self, question: str, answer: object, *, chunk_ids: Sequence[str] = (), question_id: str = "") -> Grade: ...

    def feedback(self, question: str, grade: Grade) -> Iterator[str]: ...

    def prepare(self, question: str, chunk_ids: Sequence[str] = (), answer: str = "", question_id: str = "") -> None:
        ...

    def key_points(self, question: str, chunk_ids: Sequence[str] = ()) -> list: ...

    def answer_key(self, question: str, question_id: str = "") -> AnswerKey | None: ...

    def key_source(self, key: AnswerKey) -> Citation | None: ...


class Explaining(Protocol):
    """What the loop needs of `coach.ask.explainer.Explainer`: a stream whose `result` has `sources`."""

    def stream(self, question: object, context: object = None) -> Any: ...


@dataclass(frozen=True)
class Turn:
    """What one line from the user did (the `coach interview --json` record's kind and message)."""

    kind: str  # "question" | "graded" | "hint" | "explain" | "skipped" | "notice" | "done" | "error"
    message: str = ""  # text to show (hint, notice, summary, error)
    grade: Grade | None = None
    question: Question | None = None  # the question now waiting for an answer (None when done)
    followup: bool = False  # `question` is a follow-up on the previous one
    skipped: bool = False  # the question before was left unanswered ("skip", "next")
    answer: str = ""  # the answer as graded (cleaned, cut to the limit)


def parse_command(text: str) -> str | None:
    """The command a line is, or None for an answer.

    >>> parse_command(" /Hint "), parse_command("exit"), parse_command("skip the SYN queue")
    ('hint', 'quit', None)
    """
    m = _COMMAND.match(text)
    if not m:
        return None
    word = m.group(1).lower()
    return "quit" if word in ("exit", "q") else word


def choose_followup(grade: Grade, depth: int, max_followups: int = 1) -> PointResult | None:
    """The missing key point to ask about next, or None to move on: a strong, empty or
    off-topic answer moves on, and so does a follow-up of a follow-up.

    >>> p = PointResult("Window scaling: up to 1 GB", "3.1", "c", "Window scaling", 0.2, 0.0, None, 0.1)
    >>> g = Grade(5, "partial", (), (p.text,), ("3.1",), points=(p,))
    >>> choose_followup(g, 0).label, choose_followup(g, 1)
    ('Window scaling', None)
    """
    if depth >= max_followups or grade.score >= FOLLOWUP_BELOW or grade.verdict in ("empty", "off-topic"):
        return None
    missing = grade.missing_points()
    return missing[0] if missing else None


def followup_text(point: PointResult) -> str:
    """A question about a missing point that names its topic without giving the answer away.

    >>> followup_text(PointResult("Window scaling: up to 1 GB", "3.1", "c", "Window scaling", 0, 0, None, 0))
    'Follow-up: what can you tell me about window scaling, and why does it matter here?'
    """
    topic = point.label or " ".join(point.text.split()[:6])
    topic = topic if topic[:2].isupper() else topic[:1].lower() + topic[1:]
    return f"Follow-up: what can you tell me about {topic}, and why does it matter here?"


def hint_text(points: Sequence[Any]) -> str:
    """Topics to think about (labels only, not the facts), from the most relevant key points.

    >>> hint_text([PointResult("TIME_WAIT lasts 2*MSL", "3.1", "c", "TIME_WAIT", 0, 0, None, 0)])
    'Hint: think about TIME_WAIT.'
    """
    labels: list[str] = []
    for p in points:
        label = p.label or " ".join(p.text.split()[:4])
        if label and label.lower() not in (x.lower() for x in labels):
            labels.append(label)
    return ("Hint: think about " + ", ".join(labels[:3]) + ".") if labels else "Hint: start from the basics of the topic."


_AHEAD: list[threading.Thread] = []


def finish_work_ahead() -> None:
    """Wait for the work-ahead threads before the process exits: llama.cpp still evaluating in a
    thread while the interpreter shuts down aborts the process."""
    for t in list(_AHEAD):
        t.join()


class InterviewLoop:
    """The `coach.session.events.Interview` of a real coach: bank, grader, explainer, model."""

    def __init__(self, bank: BankView, grader: Grading, explainer: Explaining | None = None, *,
                 section: str | None = None, level: int | None = None, seed: int | None = None,
                 generator: Any = None, max_followups: int = 1, asked: Sequence[str] = (),
                 background: bool = False) -> None:
        self.bank = bank
        self.grader = grader
        self.explainer = explainer
        self.section = section
        self.level = level
        self.rng = random.Random(seed)
        self.generator = generator  # a ChatModel to write new questions when the bank runs out
        self.max_followups = max_followups
        self.background = background  # work ahead in a thread after each question
        self.asked: list[str] = list(asked)
        self.current: Question | None = None
        self.depth = 0  # follow-ups asked on the current root question
        self.done = False
        self.scores: list[float] = []
        self.last: Turn | None = None  # what the last line did
        self._grades: dict[str, Grade] = {}  # the latest grade per question id, for hints

    # -- the Interview Protocol ----------------------------------------------------------------------
    def start(self) -> Iterator[Event]:
        yield from self._events(self._next_question("question"), None)

    def send(self, text: str) -> Iterator[Event]:
        before = self.current
        yield from self._events(self.handle(text), before)

    def typed(self, text: str) -> None:
        """The answer typed so far: the grader reads it ahead, so the score card waits only for the rest."""
        q = self.current
        if self.done or q is None or parse_command(text):
            return
        try:
            self.grader.prepare(q.text, q.chunk_ids, text, q.id)
        except Exception:  # noqa: BLE001 - grading does the same work itself and reports the error then
            pass

    def prepare(self) -> None:
        """Work ahead while the user types: write the next question if the bank is about to run out,
        then let the grader read the current question."""
        if self.done:
            return
        if self.generator is not None and len(
                [q for q in self.bank.candidates(self.section, self.level) if q.id not in self.asked]) < 2:
            try:
                self.bank.generate(self.generator, self.section, self.level if self.level is not None else 1,
                                   rng=random.Random(self.rng.random()))
            except CoachError:
                pass
        q = self.current
        if q is not None:
            try:
                self.grader.prepare(q.text, q.chunk_ids, question_id=q.id)
            except Exception:  # noqa: BLE001 - grading does the same work itself and reports the error then
                pass

    # -- one line ------------------------------------------------------------------------------------
    def handle(self, raw: object) -> Turn:
        """One line from the user, as a state change; the text streamed after it (feedback, an
        explanation) comes from `send`. Never raises."""
        if self.done or self.current is None:
            return Turn("done", "The session is over.")
        c = clean(raw)
        command = parse_command(c.text)
        if not c.text:
            return Turn("notice", "Type your answer, or one of: hint, explain, skip, next, quit.",
                        question=self.current)
        try:
            if command is None:
                return self._answer(c.text, c.note)
            return getattr(self, f"_cmd_{command}")()
        except Exception as e:  # noqa: BLE001 - the loop must survive a failing model or backend
            msg = str(e) if isinstance(e, CoachError) else f"{type(e).__name__}: {e}"
            return Turn("error", f"Something went wrong ({msg}). Type your answer again, or 'next' to move on.",
                        question=self.current)

    def _events(self, turn: Turn, before: Question | None) -> Iterator[Event]:
        self.last = turn
        if turn.grade is not None and before is not None:
            yield Graded(before, turn.answer, turn.grade)
            yield from self._streamed(lambda: self.grader.feedback(before.text, turn.grade), "feedback",
                                      "(feedback unavailable: {})")
        if turn.skipped and before is not None:
            yield Skipped(before)
        if turn.kind == "hint":
            yield Said(turn.message, "hint")
        elif turn.kind == "explain" and before is not None:
            yield from self._explain(before)
        elif turn.kind in ("notice", "error") and turn.message:
            yield Said(turn.message, "note" if turn.kind == "notice" else "error")
        if turn.kind == "done":
            yield Ended(turn.message)
        elif turn.question is not None and turn.question is not before:
            yield Asked(turn.question, turn.followup or turn.question.origin == "follow-up")
            if self.background:  # read the question (and write more if the bank runs low) while the user types
                _AHEAD[:] = [t for t in _AHEAD if t.is_alive()]
                t = threading.Thread(target=self.prepare, daemon=True, name="coach-work-ahead")
                t.start()
                _AHEAD.append(t)

    def _explain(self, q: Question) -> Iterator[Event]:
        key = self.grader.answer_key(q.text, q.id)
        if key is not None:  # reviewed content first: the key's model answer, cited
            yield Said(f"From the answer key [{key.section}]:\n\n{quote_block(key.model_answer)}", "explanation")
            source = self.grader.key_source(key)
            if source is not None:
                yield Cited((source,))
            return
        if self.explainer is None:
            yield Said("Explanations need the language model.", "explanation")
            return
        stream = None

        def start():
            nonlocal stream
            stream = self.explainer.stream(q.text)
            return stream

        yield from self._streamed(start, "explanation", "(explanation unavailable: {})")
        result = getattr(stream, "result", None)
        if result is not None and result.sources:
            yield Cited(result.sources)

    @staticmethod
    def _streamed(pieces, kind: str, failed: str) -> Iterator[Event]:
        """A model's stream as `Said` events; a model error (also one raised when the stream starts,
        e.g. the model loads) becomes a line of text, not an exception."""
        try:
            for piece in pieces():
                yield Said(piece, kind)
        except CoachError as e:
            yield Said(failed.format(e), kind)

    # -- questions -----------------------------------------------------------------------------------
    def _next_question(self, kind: str, message: str = "") -> Turn:
        q = self.bank.pick(self.section, self.level, self.asked, self.rng)
        if q is None and self.generator is not None:
            try:
                new = self.bank.generate(self.generator, self.section, self.level if self.level is not None else 1,
                                         rng=self.rng)
                q = next((x for x in new if x.id not in self.asked), None)
            except CoachError:
                q = None
        if q is None:
            return self._finish("No more questions for this selection. " + message)
        self.current, self.depth = q, 0
        self.asked.append(q.id)
        return Turn(kind, message, question=q)

    def _answer(self, text: str, note: str) -> Turn:
        q = self.current
        assert q is not None
        grade = self.grader.grade(q.text, text, chunk_ids=q.chunk_ids, question_id=q.id)
        if note:  # the answer was cut before it reached the grader
            grade = replace(grade, note=note)
        self.scores.append(grade.score)
        self._grades[q.id] = grade
        point = choose_followup(grade, self.depth, self.max_followups)
        if point is not None:
            fq = Question(f"{q.id}/f{self.depth + 1}", followup_text(point), q.section, q.level, "follow-up",
                          q.topic, (point.chunk_id,), q.home)
            self.current, self.depth = fq, self.depth + 1
            return Turn("graded", note, grade=grade, question=fq, followup=True, answer=text)
        nxt = self._next_question("graded", note)
        return Turn("graded" if nxt.kind != "done" else "done", nxt.message, grade, nxt.question, answer=text)

    def _cmd_hint(self) -> Turn:
        q = self.current
        assert q is not None
        last = self._grades.get(q.id)
        points: list[Any] = last.missing_points() if last else []
        if not points:
            points = self.grader.key_points(q.text, q.chunk_ids)
        return Turn("hint", hint_text(points), question=q)

    def _cmd_explain(self) -> Turn:
        return Turn("explain", "", question=self.current)

    def _cmd_skip(self) -> Turn:
        return replace(self._next_question("skipped", "Skipped."), skipped=True)

    def _cmd_next(self) -> Turn:
        return replace(self._next_question("question"), skipped=True)

    def _cmd_quit(self) -> Turn:
        return self._finish("")

    def _finish(self, message: str) -> Turn:
        self.done, self.current = True, None
        return Turn("done", (message + " " + self.summary()).strip())

    def summary(self) -> str:
        s = self.scores
        if not s:
            return "No answers graded."
        return f"{len(s)} answer(s) graded, mean score {sum(s) / len(s):.1f}/10."


def quote_block(text: str) -> str:
    """Text as a Markdown quote.

    >>> quote_block("a\\n\\nb")
    '> a\\n>\\n> b'
    """
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines())


def question_json(q: Question, selected: str | None = None) -> dict:
    """The `coach interview --json` contract. The section shown is one inside the user's
    selection: a roadmap question listed in 6.12 but about 6.10 shows 6.12 when 6.12 was asked for.

    >>> q = Question("6.12#3", "What is a PDB?", "6.10", 1, "roadmap", "6", (), "6.12")
    >>> question_json(q)["section"], question_json(q, "6.12")["section"]
    ('6.10', '6.12')
    """
    section = q.section
    if selected and not in_section(q.section, selected) and q.home and in_section(q.home, selected):
        section = q.home
    return {"question": q.text, "section": section, "level": q.level}
