import math

import pytest

from coach.evals import metrics
from coach.retrieval import fusion


def test_rrf_matches_a_hand_computed_table():
    # bm25 ranks: a=1, b=2, c=3; dense ranks: c=1, a=2, d=3 (k = 60)
    bm25 = {"a": 9.0, "b": 5.0, "c": 1.0}
    dense = {"c": 0.9, "a": 0.8, "d": 0.1}
    got = fusion.rrf([bm25, dense], k=60)
    want = {"a": 1 / 61 + 1 / 62, "c": 1 / 63 + 1 / 61, "b": 1 / 62, "d": 1 / 63}
    assert list(got) == ["a", "c", "b", "d"]
    for d, v in want.items():
        assert got[d] == pytest.approx(v)


def test_rrf_k_changes_weight_of_top_ranks():
    got = fusion.rrf([{"a": 2.0, "b": 1.0}], k=0)
    assert got == {"a": 1.0, "b": 0.5}


def test_convex_combination_normalises_each_list():
    got = fusion.convex({"a": 0.9, "b": 0.7, "c": 0.5}, {"c": 12.0, "b": 2.0}, alpha=0.25)
    assert got["a"] == pytest.approx(0.25 * 1.0)
    assert got["b"] == pytest.approx(0.25 * 0.5 + 0.75 * 0.0)
    assert got["c"] == pytest.approx(0.75 * 1.0)
    assert list(got)[0] == "c"
    with pytest.raises(ValueError):
        fusion.convex({}, {}, alpha=1.5)


def test_ranking_metrics():
    rel = [False, False, True, False, True]
    assert metrics.hit_at(rel, 2) == 0.0 and metrics.hit_at(rel, 3) == 1.0
    assert metrics.reciprocal_rank(rel) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank(rel, k=2) == 0.0
    dcg = 1 / math.log2(4) + 1 / math.log2(6)
    idcg = 1 + 1 / math.log2(3)
    assert metrics.ndcg_at(rel, 10, n_relevant=2) == pytest.approx(dcg / idcg)
    assert metrics.percentile([10, 20, 30, 40, 50], 95) == pytest.approx(48.0)


def test_relevance_needs_section_and_phrase():
    assert metrics.is_relevant("3.1", "- `TIME_WAIT`  purpose: x", ["3.1"], "`time_wait` purpose")
    assert not metrics.is_relevant("3.2", "- `TIME_WAIT` purpose: x", ["3.1"], "`TIME_WAIT` purpose")
