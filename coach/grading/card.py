"""The score card of a grade, in the two forms it is shown: plain text (the terminal) and Markdown
(the app). Pure string functions."""

from __future__ import annotations

from coach.grading.draft import is_draft
from coach.grading.types import Grade

DRAFTED = "graded against an answer key the local model drafted for this question (not reviewed)"


def notes(g: Grade) -> list[str]:
    """What the card says about how it was graded: what capped the score, what was cut, a drafted key."""
    return [x for x in (g.reason, g.note, DRAFTED if is_draft(g.key) else "") if x]


def text(g: Grade) -> str:
    """The card for the terminal.

    >>> print(text(Grade(6.5, "partial", ("SYN",), ("ACK",), ("3.1",))))
    score: 6.5/10 (partial)
      + SYN
      - ACK
    sources: [3.1]
    """
    lines = [f"score: {g.score:g}/10 ({g.verdict})"]
    lines += [f"note: {x}" for x in notes(g)]
    lines += [f"  + {x}" for x in g.covered] + [f"  - {x}" for x in g.missing]
    if g.citations:
        lines.append("sources: " + ", ".join(f"[{c}]" for c in g.citations))
    return "\n".join(lines)


def markdown(g: Grade, feedback: str = "") -> str:
    """The card for the app, with the feedback under it when there is some.

    >>> print(markdown(Grade(6.5, "partial", ("SYN",), ("ACK",), ())))
    ### Score 6.5/10 · partial
    <BLANKLINE>
    **Covered**
    - ✓ SYN
    <BLANKLINE>
    **Missed**
    - ✗ ACK
    """
    out = [f"### Score {g.score:g}/10 · {g.verdict}"]
    for x in notes(g):
        out += ["", f"*{x[0].upper() + x[1:]}.*"]
    if g.covered:
        out += ["", "**Covered**", *[f"- ✓ {p}" for p in g.covered]]
    if g.missing:
        out += ["", "**Missed**", *[f"- ✗ {p}" for p in g.missing]]
    if feedback.strip():
        out += ["", "**Feedback**", "", feedback.strip()]
    return "\n".join(out)
