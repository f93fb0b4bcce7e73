"""The mock-interview loop as a state machine that the terminal and the web UI both drive.

A `Session` holds the current question, what was asked and every answer; `handle(text)` takes
one line from the user and returns a `Turn` saying what happened and which question now waits
for an answer. It does no I/O: feedback and explanations are streamed by the caller through
`stream_feedback()` / `stream_explanation()`, which record the final text in the transcript.

Flow: ask -> the user answers -> grade (score card) -> feedback -> a follow-up on the most
important missing key point (at most `max_followups` per question) or the next question.
Commands (a line that is only the word, any case, optional leading "/" or ":"): "hint", "explain",
"skip", "next", "quit". Every answer is recorded before grading, so a failing model loses nothing;
no input (empty, 200 KB, control characters, NUL bytes, emoji, RTL text) makes `handle` raise.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from coach.bank import Question, QuestionBank
from coach.errors import CoachError
from coach.grading import Grade, PointResult
from coach.sanitize import clean
from coach.sections import in_section

COMMANDS = ("hint", "explain", "skip", "next", "quit")
_COMMAND = re.compile(r"^\s*[/:!]?\s*(hint|explain|skip|next|quit|exit|q)\s*[.!]?\s*$", re.I)
FOLLOWUP_BELOW = 7  # a strong answer (>= 7) moves on; anything less earns one follow-up


class GraderLike(Protocol):
    def grade(self, question: str, answer: object, *, chunk_ids: Sequence[str] = ()) -> Grade: ...

    def feedback_stream(self, question: str, grade: Grade) -> Iterator[str]: ...


class ExplainerLike(Protocol):
    def stream(self, question: object, context: object = None) -> Any: ...


@dataclass(frozen=True)
class Record:
    question: Question
    answer: str | None  # None for a command
    action: str  # "answer" | "hint" | "explain" | "skip" | "next" | "quit" | "error"
    grade: Grade | None = None
    text: str = ""  # feedback, hint, explanation or error message shown
    note: str = ""  # e.g. "the answer was truncated"
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Turn:
    kind: str  # "question" | "graded" | "hint" | "explain" | "skipped" | "notice" | "done" | "error"
    message: str = ""  # text to show (hint, notice, summary, error)
    grade: Grade | None = None
    question: Question | None = None  # the question now waiting for an answer (None when done)
    followup: bool = False  # `question` is a follow-up on the previous one


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
    >>> g = Grade(5, "partial", (), (p.text,), "", ("3.1",), points=(p,))
    >>> choose_followup(g, 0).label, choose_followup(g, 1), choose_followup(replace(g, score=8), 0)
    ('Window scaling', None, None)
    """
    if depth >= max_followups or grade.score >= FOLLOWUP_BELOW or grade.verdict in ("empty", "off-topic"):
        return None
    missing = [p for p in grade.points if p.text in grade.missing]
    return missing[0] if missing else None


def followup_text(point: PointResult) -> str:
    """A question about a missing point that names its topic without giving the answer away.

    >>> followup_text(PointResult("Window scaling: up to 1 GB", "3.1", "c", "Window scaling", 0, 0, None, 0))
    'Follow-up: what can you tell me about window scaling, and why does it matter here?'
    """
    topic = point.label or " ".join(point.text.split()[:6])
    topic = topic if topic[:2].isupper() else topic[:1].lower() + topic[1:]
    return f"Follow-up: what can you tell me about {topic}, and why does it matter here?"


def hint_text(points: Sequence[PointResult] | Sequence[Any]) -> str:
    """Topics to think about (labels only, not the facts), from the most relevant key points."""
    labels = []
    for p in points:
        label = getattr(p, "label", "") or " ".join(getattr(p, "text", "").split()[:4])
        if label and label.lower() not in (x.lower() for x in labels):
            labels.append(label)
    return ("Hint: think about " + ", ".join(labels[:3]) + ".") if labels else "Hint: start from the basics of the topic."


_AHEAD: list[threading.Thread] = []


def work_ahead(session: Session) -> None:
    """Run `session.prepare` in a background thread, while the user types."""
    _AHEAD[:] = [t for t in _AHEAD if t.is_alive()]
    t = threading.Thread(target=session.prepare, daemon=True, name="coach-work-ahead")
    t.start()
    _AHEAD.append(t)


def finish_work_ahead() -> None:
    """Wait for the work-ahead threads before the process exits: llama.cpp still evaluating in a
    thread while the interpreter shuts down aborts the process."""
    for t in list(_AHEAD):
        t.join()


class Session:
    def __init__(self, bank: QuestionBank, grader: GraderLike, explainer: ExplainerLike | None = None, *,
                 section: str | None = None, level: int | None = None, seed: int | None = None,
                 generator: Any = None, max_followups: int = 1) -> None:
        self.bank = bank
        self.grader = grader
        self.explainer = explainer
        self.section = section
        self.level = level
        self.rng = random.Random(seed)
        self.generator = generator  # a ChatModel to write new questions when the bank runs out
        self.max_followups = max_followups
        self.history: list[Record] = []
        self.asked: list[str] = []
        self.current: Question | None = None
        self.depth = 0  # follow-ups asked on the current root question
        self.done = False
        self._pending: tuple[str, Question, Grade] | None = None  # feedback to stream
        self._explain: Question | None = None

    # -- questions ---------------------------------------------------------------------------------
    def start(self) -> Turn:
        return self._next_question("question")

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

    def prepare(self) -> None:
        """Work ahead while the user types (call it from a background thread): write the next
        question if the bank is about to run out, then let the grader read the current question."""
        if self.done:
            return
        if self.generator is not None and len(
                [q for q in self.bank.candidates(self.section, self.level) if q.id not in self.asked]) < 2:
            try:
                self.bank.generate(self.generator, self.section, self.level if self.level is not None else 1,
                                   rng=random.Random(self.rng.random()))
            except CoachError:
                pass
        q, ready = self.current, getattr(self.grader, "prepare", None)
        if q is not None and ready is not None:
            try:
                ready(q.text, chunk_ids=q.chunk_ids)
            except Exception:  # noqa: BLE001 - grading does the same work itself and reports the error then
                pass

    def typed(self, text: str) -> None:
        """The answer typed so far (the app sends it as the user types; call it from a background
        thread): the grader reads it ahead, so the score card waits only for the rest."""
        q, ready = self.current, getattr(self.grader, "prepare", None)
        if self.done or q is None or ready is None or parse_command(text):
            return
        try:
            ready(q.text, chunk_ids=q.chunk_ids, answer=text)
        except Exception:  # noqa: BLE001 - grading does the same work itself and reports the error then
            pass

    # -- input -------------------------------------------------------------------------------------
    def handle(self, raw: object) -> Turn:
        """One line from the user. Never raises."""
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
            self.history.append(Record(self.current, c.text if command is None else None, "error", text=msg))
            return Turn("error", f"Something went wrong ({msg}). Your answer is saved in the transcript; "
                        "type it again, or 'next' to move on.", question=self.current)

    def _answer(self, text: str, note: str) -> Turn:
        q = self.current
        assert q is not None
        record = Record(q, text, "answer", note=note)
        self.history.append(record)  # saved before grading: a crash below loses nothing
        grade = self.grader.grade(q.text, text, chunk_ids=q.chunk_ids)
        self.history[-1] = replace(record, grade=grade)
        self._pending = (q.text, q, grade)
        point = choose_followup(grade, self.depth, self.max_followups)
        if point is not None:
            fq = Question(f"{q.id}/f{self.depth + 1}", followup_text(point), q.section, q.level, "follow-up",
                          q.topic, (point.chunk_id,), q.home)
            self.current, self.depth = fq, self.depth + 1
            return Turn("graded", note, grade=grade, question=fq, followup=True)
        nxt = self._next_question("graded", note)
        return replace(nxt, kind="graded" if nxt.kind != "done" else "done", grade=grade)

    def _cmd_hint(self) -> Turn:
        q = self.current
        assert q is not None
        last = next((r.grade for r in reversed(self.history) if r.question.id == q.id and r.grade), None)
        points = [p for p in last.points if p.text in last.missing] if last else []
        if not points and hasattr(self.grader, "key_points"):
            points = self.grader.key_points(q.text, q.chunk_ids)
        text = hint_text(points)
        self.history.append(Record(q, None, "hint", text=text))
        return Turn("hint", text, question=q)

    def _cmd_explain(self) -> Turn:
        q = self.current
        assert q is not None
        self._explain = q
        self.history.append(Record(q, None, "explain"))
        return Turn("explain", "", question=q)

    def _cmd_skip(self) -> Turn:
        assert self.current is not None
        self.history.append(Record(self.current, None, "skip"))
        return self._next_question("skipped", "Skipped.")

    def _cmd_next(self) -> Turn:
        assert self.current is not None
        self.history.append(Record(self.current, None, "next"))
        return self._next_question("question")

    def _cmd_quit(self) -> Turn:
        assert self.current is not None
        self.history.append(Record(self.current, None, "quit"))
        return self._finish("")

    def _finish(self, message: str) -> Turn:
        self.done, self.current = True, None
        return Turn("done", (message + " " + self.summary()).strip())

    # -- streamed text -----------------------------------------------------------------------------
    def stream_feedback(self) -> Iterator[str]:
        """Feedback on the last graded answer, streamed; recorded in the transcript at the end."""
        if self._pending is None:
            return
        text, q, grade = self._pending
        self._pending = None
        yield from self._recorded(lambda: self.grader.feedback_stream(text, grade), q, "answer", " (feedback unavailable: {})")

    def stream_explanation(self) -> Iterator[str]:
        q, self._explain = self._explain, None
        if q is None:
            return
        if self.explainer is None:
            yield "Explanations need the language model."
            return
        yield from self._recorded(lambda: self.explainer.stream(q.text), q, "explain", "(explanation unavailable: {})")

    def _recorded(self, stream: Callable[[], Iterable[str]], q: Question, action: str, failed: str) -> Iterator[str]:
        """Pass a model's stream through; a model error (also one raised when the stream starts,
        e.g. the model loads) becomes a line of text, not an exception. The whole text is then
        recorded on `q`'s latest `action` in the transcript."""
        parts: list[str] = []
        try:
            for piece in stream():
                parts.append(piece)
                yield piece
        except CoachError as e:
            parts.append(failed.format(e))
            yield parts[-1]
        self._amend(q, action, "".join(parts).strip())

    def _amend(self, q: Question, action: str, text: str) -> None:
        for i in range(len(self.history) - 1, -1, -1):
            r = self.history[i]
            if r.question.id == q.id and r.action == action:
                self.history[i] = replace(r, text=text)
                if r.grade is not None:
                    self.history[i] = replace(self.history[i], grade=replace(r.grade, feedback=text))
                return

    # -- results -----------------------------------------------------------------------------------
    def scores(self) -> list[int]:
        return [r.grade.score for r in self.history if r.grade is not None]

    def summary(self) -> str:
        s = self.scores()
        if not s:
            return "No answers graded."
        return f"{len(s)} answer(s) graded, mean score {sum(s) / len(s):.1f}/10."

    def transcript(self) -> list[dict]:
        out = []
        for r in self.history:
            d = {"question_id": r.question.id, "question": r.question.text, "section": r.question.section,
                 "action": r.action, "answer": r.answer, "text": r.text, "note": r.note, "at": round(r.at, 3)}
            if r.grade is not None:
                d["grade"] = {**r.grade.to_json(), "reason": r.grade.reason}
            out.append(d)
        return out


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
