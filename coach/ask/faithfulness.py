"""How much of an explanation its sources support, sentence by sentence: the check the ask eval
reports and gates on.

For each sentence of the explanation (citation markers removed): its best cosine with any sentence
of the sources, and the judge's P(yes) on "do these notes support the statement?", asked with the
source passages closest to it (`TOP`). A sentence is supported when the similarity shows the sources
talk about it (`floor`) and the judge says they state it (`mark`); without a judge, when the
similarity alone reaches `alone`. The score is the share of supported sentences.

Why not RAGAS faithfulness alone: judged by the same 1.5B model, it breaks the explanation into
statements and asks for a verdict on each, about a minute per explanation here, and its score
dropped for 2 of 3 planted claims (BENCHMARKS.md); this check asks one short question per sentence
and names the sentence that failed, so it runs on the whole ask set and gates on it.

It does not decide what is shown (`coach.ask.support` drops sentences before the user sees them,
by similarity alone, so it never waits for the judge).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from coach.grading.signals import sentences
from coach.llm.chat import Message
from coach.llm.judge import Judge
from coach.prompts import render

FLOOR = 0.30  # below it, nothing in the sources is about the sentence
MARK = 0.5  # the judge's P(yes) for "the notes support it"
ALONE = 0.60  # without a judge: the similarity that counts as support
TOP = 3  # source passages (or notes) shown to the judge per sentence
PASSAGE_CHARS = 900
_CITE = re.compile(r"\s*\[\d+(?:\.\d+)*(?:\s*,\s*\d+(?:\.\d+)*)*\]")

Embed = Callable[[list[str]], list[list[float]]]


@dataclass(frozen=True)
class SentenceCheck:
    sentence: str
    similarity: float  # best cosine with a sentence of the sources
    p_yes: float | None  # the judge's, when asked
    supported: bool


@dataclass(frozen=True)
class Faithfulness:
    checks: tuple[SentenceCheck, ...]

    @property
    def score(self) -> float:
        """Share of supported sentences (1.0 for an explanation with none to check)."""
        return sum(c.supported for c in self.checks) / len(self.checks) if self.checks else 1.0

    @property
    def unsupported(self) -> list[str]:
        return [c.sentence for c in self.checks if not c.supported]


def statements(text: str) -> list[str]:
    """The sentences of an explanation, without citation markers.

    >>> statements("SYN starts it [3.1]. The server answers SYN-ACK [3.1, 3.2].")
    ['SYN starts it.', 'The server answers SYN-ACK.']
    """
    return [s for s in (_CITE.sub("", x).strip() for x in sentences(text)) if len(s.split()) >= 3]


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(x * y for x, y in zip(a, b)))


def check(explanation: str, sources: Sequence[str], embed: Embed, judge: Judge | None = None, *,
          floor: float = FLOOR, mark: float = MARK, alone: float = ALONE, top: int = TOP) -> Faithfulness:
    """Every sentence of `explanation` against `sources` (passage texts); `embed` maps texts to unit
    vectors."""
    said = statements(explanation)
    units = [(i, u) for i, s in enumerate(sources) for u in sentences(s) if u.strip()]
    if not said:
        return Faithfulness(())
    if not units:
        return Faithfulness(tuple(SentenceCheck(s, 0.0, None, False) for s in said))
    vecs = embed(said + [u for _, u in units])
    svecs, uvecs = vecs[:len(said)], vecs[len(said):]
    out = []
    for s, sv in zip(said, svecs):
        sims = [_dot(sv, uv) for uv in uvecs]
        best = max(sims)
        if judge is None:
            out.append(SentenceCheck(s, round(best, 4), None, best >= alone))
            continue
        near: list[int] = []
        for j in sorted(range(len(units)), key=lambda j: -sims[j]):
            if units[j][0] not in near:
                near.append(units[j][0])
            if len(near) == top:
                break
        notes = "\n\n".join(" ".join(sources[i].split())[:PASSAGE_CHARS] for i in near)
        p = judge.p_yes([Message("system", render("support_system")),
                         Message("user", render("support_check", notes=notes, statement=s))])
        ok = best >= floor and p is not None and p >= mark
        out.append(SentenceCheck(s, round(best, 4), None if p is None else round(p, 4), ok))
    return Faithfulness(tuple(out))
