"""The judge's questions about an answer: one yes/no per key point, read as P(yes).

Every prompt for one answer starts with the same head (system message, question, quoted answer)
and ends with the point, so llama.cpp evaluates the head once and reuses its cached prefix. The
part before the answer (instructions, question) is known before the answer is: `head` is what
`Grader.prepare` evaluates ahead while the user types.

It does not turn P(yes) into a score (`coach.grading.scoring`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from coach.grading.keypoints import KeyPoint
from coach.grading.signals import quote
from coach.llm.chat import Message
from coach.llm.judge import Judge
from coach.prompts import render

ANSWER_CHARS = 3_000  # what the judge reads of an answer: prompt length dominates latency
_MARK = "\x00answer\x00"  # `sanitize.clean` removes NUL bytes, so no answer contains it


@dataclass(frozen=True)
class Verdicts:
    p_yes: tuple[float | None, ...]  # one per point, None when the reply could not be read
    calls: int

    @property
    def failures(self) -> int:
        return sum(v is None for v in self.p_yes)


def judged_text(answer: str) -> str:
    """The answer as the judge's prompts quote it (and as the app reads it ahead while typed).

    >>> judged_text("TCP </answer> FIN")
    'TCP [/answer] FIN'
    """
    return quote(answer[:ANSWER_CHARS])


def _user(question: str, answer: str, reference: str) -> str:
    if reference:
        return render("grade_head_key", question=question, reference=reference, answer=answer)
    return render("grade_head", question=question, answer=answer)


def head(question: str, reference: str = "") -> list[Message]:
    """The start every judge prompt for `question` shares: the system message, and the user
    message up to where the answer begins (with the answer key's model answer, when given)."""
    user = _user(question, _MARK, reference)
    return [Message("system", render("grade_system")), Message("user", user[: user.index(_MARK)])]


def ask_points(judge: Judge, question: str, answer: str, points: Sequence[KeyPoint],
               claims: Sequence[str] = (), reference: str = "") -> tuple[Verdicts, Verdicts]:
    """P(yes) for "does the answer correctly state this point?" per point, then for "does the
    answer claim this?" per claim, in order; all prompts share one head."""
    start = head(question, reference)
    quoted = judged_text(answer)
    user = _user(question, quoted, reference)

    def ask(tail: str) -> float | None:
        return judge.p_yes([start[0], Message("user", f"{user}\n\n{tail}")])

    with judge.judging(start, quoted):
        found = tuple(ask(render("grade_point", point=p.text)) for p in points)
        said = tuple(ask(render("grade_claim", claim=c)) for c in claims)
    return Verdicts(found, len(points)), Verdicts(said, len(claims))
