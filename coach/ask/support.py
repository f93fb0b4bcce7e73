"""Does a generated sentence have support in the notes it was written from? Pure maths over vectors.

An explanation is written by the LLM from notes: key facts of answer keys and key points of roadmap
passages, each under its section id. Before a sentence is shown, its vector is compared with the
notes' (`support`): the best cosine, and the section of the best note. A sentence whose best cosine
is below the mark is dropped: nothing in the notes says anything like it. A citation `[3.1]` is
kept only when a note of section 3.1 supports the sentence (`cited_sections`).

What it does not do: embed (the caller passes unit vectors), or judge truth: a sentence worded
like a note but saying the opposite has support by this measure (the ask eval counts the claims
an explanation must not make apart, with the grader's misconception check).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CITES = 0.40  # a citation stays when a note of the cited section is this close to the sentence (config: ask.cites)


@dataclass(frozen=True)
class Note:
    text: str
    section: str
    vector: Sequence[float]


def _cos(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(x * y for x, y in zip(a, b)))


def support(vector: Sequence[float], notes: Sequence[Note]) -> tuple[float, str]:
    """(best cosine with any note, that note's section); (0.0, "") without notes.

    >>> notes = [Note("a", "3.1", [1.0, 0.0]), Note("b", "6.4", [0.0, 1.0])]
    >>> support([0.6, 0.8], notes), support([1.0, 0.0], [])
    ((0.8, '6.4'), (0.0, ''))
    """
    best, section = 0.0, ""
    for n in notes:
        c = _cos(vector, n.vector)
        if c > best:
            best, section = c, n.section
    return round(best, 6), section


def cited_sections(vector: Sequence[float], cited: Sequence[str], notes: Sequence[Note], mark: float = CITES
                   ) -> list[str]:
    """The cited section ids that have a note at least `mark` close to the sentence.

    >>> notes = [Note("a", "3.1", [1.0, 0.0]), Note("b", "6.4", [0.0, 1.0])]
    >>> cited_sections([1.0, 0.0], ["3.1", "6.4"], notes)
    ['3.1']
    """
    return [s for s in cited if any(n.section == s and _cos(vector, n.vector) >= mark for n in notes)]
