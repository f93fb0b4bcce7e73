"""The score aggregation: pure, hand-computed cases."""

from dataclasses import replace

import pytest

from coach.grading.scoring import (
    DEFAULT,
    AnswerSignals,
    Params,
    PointSignals,
    aggregate,
    coverage,
    point_credit,
    precheck,
    ramp,
)

P = Params(sim_lo=0.4, sim_hi=0.8, p_lo=0.5, p_hi=0.9, w_llm=0.5, w_sim=0.25, w_terms=0.25, no_coverage=0.0,
           full_coverage=0.5,
           rel_lo=0.3, rel_hi=0.5)


def answer(points, relevance=0.7, words=60, echo=0.1, **kw):
    return AnswerSignals(tuple(points), relevance, words, echo, **kw)


def test_point_credit_by_hand():
    # sim 0.6 -> 0.5 of the ramp; terms 0.4; P(yes) 0.8 -> 0.75 of the ramp
    # 0.5*0.75 + 0.25*0.5 + 0.25*0.4 = 0.375 + 0.125 + 0.1 = 0.6
    assert point_credit(PointSignals(0.6, 0.4, 0.8), P) == pytest.approx(0.6)
    # no LLM verdict: (0.25*0.5 + 0.25*0.4) / 0.5 = 0.45
    assert point_credit(PointSignals(0.6, 0.4, None), P) == pytest.approx(0.45)


def test_coverage_is_weighted():
    pts = [PointSignals(0.8, 1.0, 0.9, weight=3.0), PointSignals(0.4, 0.0, 0.5, weight=1.0)]
    assert coverage(pts, P) == pytest.approx(0.75)  # (3*1 + 1*0) / 4
    assert coverage([], P) == 0.0


def test_score_scales_coverage_to_the_full_mark_and_by_relevance():
    pts = [PointSignals(0.6, 0.4, 0.8)] * 3  # credit 0.6 each
    s, v = aggregate(answer(pts), P)
    assert (s, v) == (10, "strong")  # 0.6 / 0.5 caps at 1
    pts = [PointSignals(0.6, 0.4, 0.8), PointSignals(0.4, 0.0, 0.5)]  # coverage 0.3 -> 0.3/0.5 = 6
    assert aggregate(answer(pts), P) == (6, "partial")
    assert aggregate(answer(pts, relevance=0.4), P) == (3, "weak")  # relevance ramp 0.5 -> 3
    assert aggregate(answer(pts, relevance=0.33), P) == (0.9, "off-topic")  # 6 * 0.15
    # coverage at or below no_coverage earns 0; between the two marks, linear, one decimal
    Q = replace(P, no_coverage=0.1)
    assert aggregate(answer(pts), Q) == (5.0, "partial")  # (0.3 - 0.1) / (0.5 - 0.1)
    assert aggregate(answer([PointSignals(0.5, 0.0, 0.55)]), Q)[0] == pytest.approx(0.6)  # credit 0.125: (0.125 - 0.1) / 0.4 -> 0.6


def test_injection_never_scores_above_3_whatever_the_other_signals_say():
    perfect = [PointSignals(1.0, 1.0, 1.0)] * 6
    for flags in [("override",), ("fake-json",), ("role-spoof", "score-demand")]:
        score, _ = aggregate(answer(perfect, injection=flags), DEFAULT)
        assert score <= 3


@pytest.mark.parametrize("sig, want", [
    (answer([], relevance=0.0, words=0, echo=1.0), (0, "empty")),
    (answer([PointSignals(1, 1, 1)], words=3), (1, "weak")),
    (answer([PointSignals(1, 1, 1)], echo=0.9), (1, "weak")),
    (answer([PointSignals(1, 1, 1)], relevance=0.1), (0, "off-topic")),
])
def test_prechecks_score_low_without_the_llm(sig, want):
    assert precheck(sig, P)[:2] == want and aggregate(sig, P) == want


def test_no_precheck_for_a_real_answer():
    assert precheck(answer([PointSignals(0.6, 0.4, None)]), P) is None


def test_ramp_edges():
    assert ramp(0.3, 0.3, 0.5) == 0.0 and ramp(0.5, 0.3, 0.5) == 1.0 and ramp(1.0, 0.5, 0.5) == 1.0
