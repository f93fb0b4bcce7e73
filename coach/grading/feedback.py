"""Feedback on a graded answer: 2-3 sentences worded by the LLM from the score card, streamed.

The card decides what the feedback may say: the LLM gets only the covered and missed key points,
and is told not to praise an answer that covered none (with nothing covered, "say what was good"
made the 1.5B praise points the card lists as missed). A misconception the answer claims is named
first, in fixed words. The LLM's text is passed on sentence by sentence, and a sentence that calls
a covered point missing is dropped (`contradicts_card`). Answers settled without the LLM (empty,
too short, an echo, off-topic, an injection attempt, a bare list of terms) get fixed text; without
a model, a template.

It does not grade (`coach.grading.grader`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from coach.corpus.text import tokenize
from coach.grading.types import Grade
from coach.llm.chat import ChatModel, Message
from coach.prompts import render

FEEDBACK_TOKENS = 120


def stream(model: ChatModel | None, question: str, grade: Grade) -> Iterator[str]:
    """The feedback on `grade`, streamed: fixed text for the pre-checked cases, a template without
    a model, else the LLM's words checked against the card."""
    fixed = fixed_feedback(grade)
    if grade.claimed:
        yield misconception_text(grade) + " "
    if fixed is not None or model is None:
        yield fixed if fixed is not None else template_feedback(grade)
        return
    prompt = render("grade_feedback", question=question, score=grade.score, verdict=grade.verdict,
                    covered=_bullets(grade.covered), missing=_bullets(grade.missing), task=task(grade))
    messages = [Message("system", render("feedback_system")), Message("user", prompt)]
    said = False
    for sentence in _sentences(model.stream(messages, max_tokens=FEEDBACK_TOKENS)):
        if not contradicts_card(sentence, grade):
            said = True
            yield sentence
    if not said:
        yield template_feedback(grade)


def misconception_text(g: Grade) -> str:
    """The misconceptions the answer reads like, named.

    >>> misconception_text(Grade(3.0, "wrong", claimed=("TIME_WAIT is on the server",)))
    'Careful: part of the answer reads like a common misconception, that TIME_WAIT is on the server. It is not so.'
    """
    said = "; and that ".join(m.rstrip(".") for m in g.claimed)
    if said[:2].istitle():  # "The server ..." -> "the server ...", but "TIME_WAIT ..." stays
        said = said[0].lower() + said[1:]
    return f"Careful: part of the answer reads like a common misconception, that {said}. It is not so."


_MISSING_CUE = re.compile(r"\b(miss(ed|ing)?|did ?n[o']t|forg[oe]t|lack(s|ed|ing)?|omit(s|ted)?|add|include|"
                          r"mention|should (also )?(cover|explain|say))\b", re.I)


def contradicts_card(sentence: str, g: Grade) -> bool:
    """A feedback sentence that says something is missing while the words it names belong to a point
    the card shows as covered (and to none it shows as missed).

    >>> g = Grade(6.0, "partial", ("TIME_WAIT lasts 2*MSL",), ("SYN cookies resist SYN floods",))
    >>> contradicts_card("You missed that TIME_WAIT lasts 2*MSL.", g)
    True
    >>> contradicts_card("Add how SYN cookies resist SYN floods.", g), contradicts_card("Good on TIME_WAIT.", g)
    (False, False)
    """
    if not _MISSING_CUE.search(sentence):
        return False
    words = set(tokenize(sentence))

    def overlap(point: str) -> float:
        p = set(tokenize(point))
        return len(words & p) / len(p) if p else 0.0

    covered = max((overlap(p) for p in g.covered), default=0.0)
    missing = max((overlap(p) for p in g.missing), default=0.0)
    return covered >= 0.5 and covered > missing


def _sentences(pieces: Iterator[str]) -> Iterator[str]:
    """Streamed text regrouped into whole sentences (with their trailing space); a last sentence
    cut off by the token limit is dropped.

    >>> list(_sentences(iter(["Good start. Add", " the ISN. Then expl"])))
    ['Good start. ', 'Add the ISN. ']
    """
    buf = ""
    for piece in pieces:
        buf += piece
        while (m := _END.search(buf)) is not None:
            yield buf[: m.end()]
            buf = buf[m.end():]
    if buf.strip().endswith((".", "!", "?")):
        yield buf


_END = re.compile(r"[.!?]\s+(?=\S)")


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
    if g.reason.startswith("a list of terms"):
        return ("This is a list of terms, not an answer: explain how they fit together and why" +
                (f", e.g.: {todo}." if todo else "."))
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
