"""Turning grading signals into a 0-10 score: pure functions, no models.

Why in code: small local judges asked for one number are lenient and noisy, and every packaged
model gave a prompt-injection answer 10/10 (MODELS.md). So the score is a fixed, tested function of
grounded signals, and the LLM is one input among several:

- per key point: the best cosine similarity of an answer sentence (or two) with the point, the
  share of the point's technical terms the answer uses, and the LLM's P(yes) that the answer
  states the point correctly (`coach.llm.judge`);
- per answer: relevance to the question and its passages, content words, how much only echoes the
  question, and injection patterns.

`precheck` settles the cases that need no LLM (empty, too short, echo, off-topic); `aggregate`
does the rest. Parameters live in `Params` with the reason for each value; they were chosen on the
odd ids of evals/grading_dev.jsonl and checked on the even ids (scripts/calibrate_grading.py; BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

VERDICTS = ("strong", "partial", "weak", "wrong", "off-topic", "empty")


@dataclass(frozen=True)
class PointSignals:
    similarity: float  # best cosine of an answer sentence (or sentence pair) with the point
    terms: float  # share of the point's vocabulary in the answer, technical terms double (0-1)
    llm: float | None = None  # the LLM's P(yes) for "the answer states this point"; None: not asked
    weight: float = 1.0  # importance of the point (its similarity to the question)


@dataclass(frozen=True)
class AnswerSignals:
    points: tuple[PointSignals, ...]  # most relevant to the question first
    relevance: float  # max cosine of the answer with the question, its passages, its key points
    content_words: int
    echo: float  # share of the answer's content tokens that are already in the question
    injection: tuple[str, ...] = ()  # names of the injection patterns found


@dataclass(frozen=True)
class Params:
    # Similarity (MiniLM cosine) earning no / full credit: off-topic answers' best sentence-point
    # match sits near 0.2-0.35 on the dev set, a sentence restating a point near 0.6-0.8.
    sim_lo: float = 0.35
    sim_hi: float = 0.70
    # P(yes) earning no / full credit. The 1.5B leans to "yes": ~0.6 is its "no", ~0.9-0.95 its
    # "yes" (both marks chosen by scripts/calibrate_grading.py on the odd ids of the dev set).
    p_lo: float = 0.60
    p_hi: float = 0.90
    # Weights of the three per-point signals (sum 1). Only the LLM can tell a true statement from a
    # fluent false one; similarity and terms see topic, not truth.
    w_llm: float = 0.5
    w_sim: float = 0.25
    w_terms: float = 0.25
    # Coverage (weighted mean credit) that earns 0 / 10: the rubric is cut from the retrieved
    # passages, which hold more than any one question asks, so no strong answer covers it all, and
    # an answer that only shares the topic still earns some similarity and term credit.
    no_coverage: float = 0.3
    full_coverage: float = 0.7
    # Relevance below `rel_lo` is off-topic without asking the LLM; up to `rel_hi` the score is
    # scaled down linearly.
    rel_lo: float = 0.30
    rel_hi: float = 0.45
    min_content_words: int = 5  # fewer is "too short": a phrase, not an answer
    max_echo: float = 0.8  # an answer this much made of the question's words only repeats it
    cap_injection: int = 3  # instructions to the grader never earn more than this
    cap_off_topic: int = 2
    cap_short: int = 1


DEFAULT = Params()


def ramp(x: float, lo: float, hi: float) -> float:
    """0 below `lo`, 1 above `hi`, linear between.

    >>> ramp(0.5, 0.25, 0.75), ramp(0.2, 0.3, 0.7), ramp(0.9, 0.3, 0.7)
    (0.5, 0.0, 1.0)
    """
    if hi <= lo:
        return 1.0 if x >= hi else 0.0
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))


def point_credit(p: PointSignals, params: Params = DEFAULT) -> float:
    """Credit (0-1) for one key point. Without an LLM verdict its weight goes to the others.

    >>> point_credit(PointSignals(similarity=0.70, terms=0.5, llm=0.95))
    0.875
    >>> point_credit(PointSignals(similarity=0.525, terms=0.0, llm=None))
    0.25
    """
    sim = ramp(p.similarity, params.sim_lo, params.sim_hi)
    if p.llm is None:
        total = params.w_sim + params.w_terms
        return round((params.w_sim * sim + params.w_terms * p.terms) / total, 6) if total else 0.0
    llm = ramp(p.llm, params.p_lo, params.p_hi)
    return round(params.w_llm * llm + params.w_sim * sim + params.w_terms * p.terms, 6)


def coverage(points: Sequence[PointSignals], params: Params = DEFAULT) -> float:
    """Weighted mean credit over the key points (0 when there are none).

    >>> coverage([PointSignals(0.7, 1.0, 1.0, 2.0), PointSignals(0.0, 0.0, 0.0, 1.0)])
    0.666667
    """
    total = sum(max(p.weight, 0.0) for p in points)
    if not total:
        return 0.0
    credits = [point_credit(p, params) for p in points]
    mean = sum(max(p.weight, 0.0) * c for p, c in zip(points, credits)) / total
    return round(mean, 6)


def precheck(s: AnswerSignals, params: Params = DEFAULT) -> tuple[float, str, str] | None:
    """(score, verdict, reason) for answers graded without the LLM, else None.

    >>> precheck(AnswerSignals((), 0.0, 0, 1.0))
    (0, 'empty', 'no answer given')
    >>> precheck(AnswerSignals((), 0.1, 40, 0.0))[:2]
    (0, 'off-topic')
    >>> precheck(AnswerSignals((), 0.6, 40, 0.0)) is None
    True
    """
    if s.content_words == 0:
        return 0, "empty", "no answer given"
    if s.content_words < params.min_content_words:
        return min(params.cap_short, 1 if s.relevance >= params.rel_lo else 0), "weak", \
            f"too short: {s.content_words} content words"
    if s.echo >= params.max_echo:
        return min(params.cap_short, 1), "weak", "the answer mostly repeats the question"
    if s.relevance < params.rel_lo:
        return 0, "off-topic", f"not about the question (relevance {s.relevance:.2f} < {params.rel_lo})"
    return None


def aggregate(s: AnswerSignals, params: Params = DEFAULT) -> tuple[float, str]:
    """The score (0-10, one decimal: two answers to one question rarely tie) and verdict.

    >>> strong = tuple(PointSignals(0.75, 0.6, 0.95) for _ in range(4))
    >>> aggregate(AnswerSignals(strong, 0.7, 60, 0.05))
    (10.0, 'strong')
    >>> half = tuple(PointSignals(0.6, 0.3, 0.75) for _ in range(4))
    >>> aggregate(AnswerSignals(half, 0.7, 60, 0.05))
    (5.1, 'partial')
    >>> aggregate(AnswerSignals(strong, 0.7, 60, 0.05, injection=("score-demand",)))
    (3.0, 'weak')
    >>> aggregate(AnswerSignals(strong, 0.32, 60, 0.05))
    (1.3, 'off-topic')
    """
    early = precheck(s, params)
    if early is not None:
        return float(early[0]), early[1]
    cov = coverage(s.points, params)
    on_topic = ramp(s.relevance, params.rel_lo, params.rel_hi)
    score = round(10.0 * ramp(cov, params.no_coverage, params.full_coverage) * on_topic, 1)
    verdict = verdict_for(score)
    if on_topic < 1.0 and score <= params.cap_off_topic:
        verdict = "off-topic"
    if s.injection:
        score = min(score, float(params.cap_injection))
        verdict = verdict if verdict in ("wrong", "off-topic") else verdict_for(score)
    return score, verdict


def verdict_for(score: float) -> str:
    """The verdict band of a score.

    >>> [verdict_for(x) for x in (9, 5, 2)]
    ['strong', 'partial', 'weak']
    """
    if score >= 7:
        return "strong"
    if score >= 4:
        return "partial"
    return "weak"
