"""Turning grading signals into a 0-10 score: pure functions, no models.

Why in code: small local judges asked for one number are lenient and noisy, and every packaged
model gave a prompt-injection answer 10/10 (MODELS.md). So the score is a fixed, tested function of
grounded signals, and the LLM is one input among several:

- per key point: the best cosine similarity of an answer sentence (or two) with the point, the
  share of the point's technical terms the answer uses, and the LLM's P(yes) that the answer
  states the point correctly (`coach.judge`);
- per answer: relevance to the question and its passages, content words, how much only echoes the
  question, and injection patterns;
- optionally, per checked sentence (the answer's closest to the rubric): the LLM's P(yes) that it
  is correct according to the key points (the claim check, `truth`), which can only lower a score
  (off by default: see `Params.w_truth`).

`precheck` settles the cases that need no LLM (empty, too short, echo, off-topic); `aggregate`
does the rest. The contradiction check is computed here too: an answer that talks about the
central key point (high similarity) while the LLM doubts it states it correctly (low P(yes)) is
treated as confidently wrong. Parameters live in `Params` with the reason for each value; they were
chosen on the odd ids of evals/grading_dev.jsonl and checked on the even ids
(scripts/calibrate_grading.py; BENCHMARKS.md).
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
    llm_contradiction: float | None = None  # optional LLM P(yes) for "contradicts the reference"
    # the LLM's P(yes) that each of the answer's sentences closest to the rubric is correct
    # according to the rubric (most relevant first); empty when not checked
    claims: tuple[float, ...] = ()


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
    # Share of the coverage taken from the best-credited point instead of the mean, so that one
    # point stated well earns credit when the others are missing (a concise answer). Off: measured
    # on the dev set with the 1.5B (BENCHMARKS.md), 0.5 lifted correct one- or two-sentence answers
    # (above 3: 33% -> 56%) and fluent wrong answers alike (at most 3: 63% -> 37%), because no
    # signal of that judge tells them apart; the four-kind held-out objective did not move.
    w_best: float = 0.0
    # Relevance below `rel_lo` is off-topic without asking the LLM; up to `rel_hi` the score is
    # scaled down linearly.
    rel_lo: float = 0.30
    rel_hi: float = 0.45
    # Contradiction: the answer discusses the central point (similarity >= c_sim) but the LLM's
    # P(yes) for it is below c_p. Off by default (c_sim > 1): on the dev set it capped strong
    # answers as often as wrong ones, because the 1.5B's P(yes) for the central point is noisy.
    # Set c_sim = 0.5 to turn it on with a stronger judge.
    c_sim: float = 1.1
    c_p: float = 0.60
    # Claim check: the answer's sentences closest to the rubric are each checked against the key
    # points ("according to the notes, is this statement correct?"). The lowest P(yes) among the
    # first `claim_k` is ramped between t_lo and t_hi into a factor in [1 - w_truth, 1] on the
    # score. It can only lower a score: a fluent answer wrong on its central claim loses credit that
    # similarity and terms gave it. Off: with the 1.5B it orders partial above wrong 46 of 53 times
    # on the dev set, but strong answers' extra details are doubted as well (their lowest P(yes)
    # averages 0.51, partial 0.58, wrong 0.33), so every weight and mark searched lowered strong >
    # partial and strong >= 7 as much as it raised the rest: the held-out objective did not move
    # (BENCHMARKS.md). `Grader(n_claims=...)` computes the signal.
    w_truth: float = 0.0
    t_lo: float = 0.4
    t_hi: float = 0.7
    claim_k: int = 3
    min_content_words: int = 5  # fewer is "too short": a phrase, not an answer
    max_echo: float = 0.8  # an answer this much made of the question's words only repeats it
    cap_contradiction: int = 3  # a confidently wrong answer is at most "wrong"
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
    """Weighted mean credit over the key points (0 when there are none), blended with the best
    point's credit by `params.w_best`.

    >>> pts = [PointSignals(0.7, 1.0, 1.0, 2.0), PointSignals(0.0, 0.0, 0.0, 1.0)]
    >>> coverage(pts), coverage(pts, Params(w_best=0.5))
    (0.666667, 0.833333)
    """
    total = sum(max(p.weight, 0.0) for p in points)
    if not total:
        return 0.0
    credits = [point_credit(p, params) for p in points]
    mean = sum(max(p.weight, 0.0) * c for p, c in zip(points, credits)) / total
    return round((1 - params.w_best) * mean + params.w_best * max(credits), 6)


def truth(s: AnswerSignals, params: Params = DEFAULT) -> float:
    """The factor (1 - w_truth .. 1) the claim check puts on the score; 1 when nothing was checked.

    >>> sig = AnswerSignals((), 0.7, 50, 0.0, claims=(0.9, 0.55, 0.2))
    >>> truth(sig, Params(w_truth=1.0, t_lo=0.4, t_hi=0.7, claim_k=2)), truth(sig, Params(w_truth=0.5, claim_k=3))
    (0.5, 0.5)
    >>> truth(sig), truth(AnswerSignals((), 0.7, 50, 0.0), Params(w_truth=1.0))
    (1.0, 1.0)
    """
    checked = s.claims[: max(params.claim_k, 1)]
    if not checked or params.w_truth <= 0:
        return 1.0
    return round(1.0 - params.w_truth * (1.0 - ramp(min(checked), params.t_lo, params.t_hi)), 6)


def contradicted(s: AnswerSignals, params: Params = DEFAULT) -> bool:
    """The answer talks about the central key point but the LLM doubts it states it correctly.

    >>> on = Params(c_sim=0.5)
    >>> contradicted(AnswerSignals((PointSignals(0.65, 0.4, 0.55),), 0.7, 50, 0.0), on)
    True
    >>> contradicted(AnswerSignals((PointSignals(0.65, 0.4, 0.85),), 0.7, 50, 0.0), on)
    False
    >>> contradicted(AnswerSignals((PointSignals(0.65, 0.4, 0.55),), 0.7, 50, 0.0))  # off by default
    False
    """
    if not s.points or s.points[0].llm is None:
        return False
    central = s.points[0]
    return central.similarity >= params.c_sim and central.llm < params.c_p


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
    >>> wrong = (PointSignals(0.7, 0.6, 0.55),) + strong[1:]
    >>> aggregate(AnswerSignals(wrong, 0.7, 60, 0.05), Params(c_sim=0.5))
    (3.0, 'wrong')
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
    score = round(10.0 * ramp(cov, params.no_coverage, params.full_coverage) * on_topic * truth(s, params), 1)
    verdict = verdict_for(score)
    if on_topic < 1.0 and score <= params.cap_off_topic:
        verdict = "off-topic"
    if contradicted(s, params) and score > params.cap_contradiction:
        score, verdict = float(params.cap_contradiction), "wrong"
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
