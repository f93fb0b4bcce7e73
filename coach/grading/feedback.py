"""Feedback on a graded answer: 2-3 sentences worded by the LLM from the score card, streamed.

The card decides what the feedback may say: the LLM gets only the covered and missed key points,
and is told not to praise an answer that covered none (with nothing covered, "say what was good"
made the 1.5B praise points the card lists as missed). Answers settled without the LLM (empty,
too short, an echo, off-topic, an injection attempt) get fixed text; without a model, a template.

It does not grade (`coach.grading.grader`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from coach.grading.types import Grade
from coach.llm.chat import ChatModel, Message
from coach.prompts import render

FEEDBACK_TOKENS = 120


def stream(model: ChatModel | None, question: str, grade: Grade) -> Iterator[str]:
    """The feedback on `grade`, streamed: fixed text for the pre-checked cases, a template without
    a model, else the LLM's words."""
    fixed = fixed_feedback(grade)
    if fixed is not None or model is None:
        yield fixed if fixed is not None else template_feedback(grade)
        return
    prompt = render("grade_feedback", question=question, score=grade.score, verdict=grade.verdict,
                    covered=_bullets(grade.covered), missing=_bullets(grade.missing), task=task(grade))
    messages = [Message("system", render("feedback_system")), Message("user", prompt)]
    yield from model.stream(messages, max_tokens=FEEDBACK_TOKENS)


def task(g: Grade) -> str:
    """What the feedback should do.

    >>> task(Grade(2.0, "weak", (), ("TIME_WAIT lasts 2*MSL",), ()))[:27]
    'the answer covered none of '
    """
    if not g.covered:
        return ("the answer covered none of the key points, so do not praise it: say which missed points "
                "to explain first")
    if not g.missing:
        return "say what was good, and one thing that would make the answer even clearer"
    return "say what was good, then what to add or correct"


def fixed_feedback(g: Grade) -> str | None:
    """Feedback that needs no LLM: the answer was empty, too short, an echo, off-topic, or an
    injection attempt; None for an answer the LLM gives feedback on.

    >>> fixed_feedback(Grade(0.0, "empty", (), ("SYN",), ()))
    'No answer was given. A good answer would cover: SYN.'
    """
    todo = "; ".join(g.missing[:3])
    if g.verdict == "empty":
        return f"No answer was given. A good answer would cover: {todo}." if todo else "No answer was given."
    if g.signals and g.signals.injection:
        return ("Your answer contains instructions addressed to the grader; they were ignored and the score is "
                f"capped at {g.score}. Answer the question itself" + (f", e.g.: {todo}." if todo else "."))
    if g.reason.startswith(("too short", "the answer mostly repeats")):
        return f"The answer is too thin to grade ({g.reason}). Explain it in your own words" + \
            (f", covering: {todo}." if todo else ".")
    if g.verdict == "off-topic":
        return "This answer does not address the question that was asked" + (f"; it should cover: {todo}." if todo else ".")
    return None


def template_feedback(g: Grade) -> str:
    """Feedback from the card alone (`coach grade --quick`, or when the LLM's stream came back empty).

    >>> template_feedback(Grade(5.0, "partial", ("SYN",), ("ACK",), ()))
    'You covered: SYN. Add: ACK.'
    """
    parts = []
    if g.covered:
        parts.append("You covered: " + "; ".join(g.covered[:3]) + ".")
    if g.missing:
        parts.append("Add: " + "; ".join(g.missing[:3]) + ".")
    return " ".join(parts) or "Graded against the roadmap's key points."


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {x}" for x in items) or "- (none)"
