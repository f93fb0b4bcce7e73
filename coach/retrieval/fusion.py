"""Rank fusion: pure functions over {doc_id: score} rankings.

- Reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009): score(d) = sum_r 1 / (k + rank_r(d)),
  ranks starting at 1, k = 60. Uses ranks only, so BM25's unbounded scores and cosine similarities
  need no calibration.
- Convex combination (Bruch, Gai & Ingber, 2023): score(d) = alpha * norm(dense) + (1 - alpha) * norm(bm25),
  each list min-max normalised; a document absent from a list contributes 0 for that list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def ranks(scores: Mapping[str, float]) -> dict[str, int]:
    """1-based ranks by descending score; ties broken by id so results are deterministic.

    >>> ranks({"a": 0.2, "b": 0.9, "c": 0.5})
    {'b': 1, 'c': 2, 'a': 3}
    """
    ordered = sorted(scores, key=lambda d: (-scores[d], d))
    return {d: i + 1 for i, d in enumerate(ordered)}


def rrf(rankings: Sequence[Mapping[str, float]], k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion of several score maps.

    >>> rrf([{"a": 3.0, "b": 1.0}, {"b": 0.9, "c": 0.1}], k=60)  # a: 1/61; b: 1/62 + 1/61; c: 1/62
    {'b': 0.03252247488101534, 'a': 0.01639344262295082, 'c': 0.016129032258064516}
    """
    fused: dict[str, float] = {}
    for scores in rankings:
        for doc, r in ranks(scores).items():
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + r)
    return dict(sorted(fused.items(), key=lambda kv: (-kv[1], kv[0])))


def minmax(scores: Mapping[str, float]) -> dict[str, float]:
    """Scale to [0, 1]; a list whose scores are all equal maps to 1.0 for every document.

    >>> minmax({"a": 2.0, "b": 4.0, "c": 3.0})
    {'a': 0.0, 'b': 1.0, 'c': 0.5}
    """
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi == lo:
        return {d: 1.0 for d in scores}
    return {d: (s - lo) / (hi - lo) for d, s in scores.items()}


def lift(primary: Mapping[str, float], secondary: Mapping[str, float], homes: Mapping[str, Sequence[str]],
         weight: float) -> dict[str, float]:
    """Document expansion at query time: each list min-max normalised, a document scores the best of
    its own score and `weight` times the score of any secondary document whose home it is.

    >>> lift({"a": 2.0, "b": 1.0, "c": 0.0}, {"k1": 5.0, "k2": 1.0}, {"k1": ["c"], "k2": ["b"]}, 0.8)
    {'a': 1.0, 'c': 0.8, 'b': 0.5}
    """
    out = dict(minmax(primary))
    for doc, score in minmax(secondary).items():
        for home in homes.get(doc, ()):
            out[home] = max(out.get(home, 0.0), weight * score)
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def convex(dense: Mapping[str, float], sparse: Mapping[str, float], alpha: float = 0.5) -> dict[str, float]:
    """alpha * minmax(dense) + (1 - alpha) * minmax(sparse), best first.

    >>> convex({"a": 0.9, "b": 0.5}, {"b": 10.0, "c": 2.0}, alpha=0.5)
    {'a': 0.5, 'b': 0.5, 'c': 0.0}
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be within [0, 1], got {alpha}")
    nd, ns = minmax(dense), minmax(sparse)
    fused = {d: alpha * nd.get(d, 0.0) + (1 - alpha) * ns.get(d, 0.0) for d in set(nd) | set(ns)}
    return dict(sorted(fused.items(), key=lambda kv: (-kv[1], kv[0])))
