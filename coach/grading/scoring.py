"""Turning grading signals into a 0-10 score: pure functions, no models.

Why in code: small local judges asked for one number are lenient and noisy, and every packaged
model gave a prompt-injection answer 10/10 (MODELS.md). So the score is a fixed, tested function of
grounded signals, and the LLM is one input among several:

- per key point: the best cosine similarity of an answer sentence (or two) with the point, the
  share of the point's technical terms the answer uses, and the LLM's P(yes) that the answer
  states the point correctly (`coach.llm.judge`);
- per answer: relevance to the question and its passages, content words, how much only echoes the
  question, how much of it is prose rather than a bare list of terms, and injection patterns;
- with an answer key, per misconception: the LLM's P(yes) that the answer claims it, next to its
  P(yes) that the answer claims the key fact closest to it (the difference cancels the judge's
  lean to "yes" for anything on topic); a misconception claimed caps the score.

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
    core: bool = False  # an answer key's core fact: weighs `Params.w_core` times as much


@dataclass(frozen=True)
class AnswerSignals:
    points: tuple[PointSignals, ...]  # most relevant to the question first
    relevance: float  # max cosine of the answer with the question, its passages, its key points
    content_words: int
    echo: float  # share of the answer's content tokens that are already in the question
    injection: tuple[str, ...] = ()  # names of the injection patterns found
    prose: float = 1.0  # share of function words (signals.prose_ratio): near 0 for a bare list of terms
    misconceptions: tuple[MisconceptionSignals, ...] = ()  # with an answer key


@dataclass(frozen=True)
class MisconceptionSignals:
    similarity: float  # best cosine of an answer sentence (or pair) with the misconception
    fact_similarity: float = 0.0  # the answer's best cosine with any key fact
    p_claim: float | None = None  # P(yes): "does the answer claim <misconception>?"
    p_fact: float | None = None  # P(yes): "does the answer claim <the key fact closest to it>?"


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
    # Answer keys: a core fact weighs `w_core` times a plain one in the coverage, and `w_top` of the
    # coverage is the mean credit of the two best-covered core facts instead (an answer that states
    # the central facts well is not strong, but it is not weak either: a concise correct answer).
    w_core: float = 2.0
    w_top: float = 0.0
    # A misconception counts as claimed when the answer talks about it (similarity >= m_sim) and
    # either its closest sentence is nearer to it than any sentence is to a key fact, by `m_gap`
    # (cosine), or the judge's P(yes) for it beats that of the key fact closest to it by `m_margin`.
    m_gap: float = 1.0
    m_sim: float = 0.5
    m_margin: float = 0.1
    cap_misconception: int = 3
    # An answer whose words are less than `min_prose` function words is a list of terms, not an
    # explanation (real answers: ~0.3-0.5; a dump of ten terms: ~0).
    min_prose: float = 0.12
    cap_terms: int = 3
    min_content_words: int = 5  # fewer is "too short": a phrase, not an answer
    max_echo: float = 0.8  # an answer this much made of the question's words only repeats it
    cap_injection: int = 3  # instructions to the grader never earn more than this
    cap_off_topic: int = 2
    cap_short: int = 1


DEFAULT = Params()  # grading on the roadmap's passages
# Grading on an answer key's facts: chosen by scripts/calibrate_grading.py on the odd ids of the dev
# set, checked on the even ids (BENCHMARKS.md): the judge's P(yes) weighs less than on passages (the
# facts are precise, so similarity and terms are better evidence), the two best-covered core facts
# earn half the coverage, and the judge's misconception question is off (m_margin 1.0): the
# embedding check (m_gap) caught as much without its two extra prompts per misconception.
KEYED = Params(p_lo=0.5, p_hi=0.85, w_llm=0.3, w_sim=0.35, w_terms=0.35, no_coverage=0.3, full_coverage=0.8,
               w_top=0.5, w_core=1.0, m_gap=0.0, m_margin=1.0)


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
    weights = [max(p.weight, 0.0) * (params.w_core if p.core else 1.0) for p in points]
    total = sum(weights)
    if not total:
        return 0.0
    credits = [point_credit(p, params) for p in points]
    mean = sum(w * c for w, c in zip(weights, credits)) / total
    core = sorted((c for c, p in zip(credits, points) if p.core), reverse=True)[:2]
    if not core or not params.w_top:
        return round(mean, 6)
    return round((1 - params.w_top) * mean + params.w_top * sum(core) / len(core), 6)


def claimed(m: MisconceptionSignals, params: Params = DEFAULT) -> bool:
    """The answer claims this misconception: it talks about it, and says it more nearly than it says
    any key fact, or the judge leans to it over the key fact closest to it.

    >>> claimed(MisconceptionSignals(0.7, 0.9, 0.95, 0.7)), claimed(MisconceptionSignals(0.7, 0.9, 0.9, 0.92))
    (True, False)
    >>> claimed(MisconceptionSignals(0.2, 0.1, 0.95, 0.5)), claimed(MisconceptionSignals(0.7, 0.9, None, 0.5))
    (False, False)
    >>> claimed(MisconceptionSignals(0.8, 0.7), Params(m_gap=0.05))
    True
    """
    if m.similarity < params.m_sim:
        return False
    if m.similarity - m.fact_similarity >= params.m_gap:
        return True
    if m.p_claim is None or m.p_fact is None:
        return False
    return m.p_claim - m.p_fact >= params.m_margin


def claims(s: AnswerSignals, params: Params = DEFAULT) -> list[bool]:
    """For each misconception of the answer's key, whether the answer claims it."""
    return [claimed(m, params) for m in s.misconceptions]


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
    >>> aggregate(AnswerSignals(strong, 0.7, 60, 0.05, prose=0.02))
    (3.0, 'weak')
    >>> aggregate(AnswerSignals(strong, 0.7, 60, 0.05, misconceptions=(MisconceptionSignals(0.8, 0.9, 0.97, 0.6),)))
    (3.0, 'wrong')
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
    if any(claims(s, params)) and score > params.cap_misconception:
        score, verdict = float(params.cap_misconception), "wrong"
    if s.prose < params.min_prose and score > params.cap_terms:
        score, verdict = float(params.cap_terms), "weak"
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
