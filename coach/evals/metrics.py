"""Ranking metrics with binary relevance: pure functions over a list of relevance flags, best first.

hit@k (success@k): 1 if any of the first k is relevant. Reciprocal rank (MRR when averaged,
Voorhees 1999): 1 / rank of the first relevant within the cutoff. nDCG@k (Järvelin & Kekäläinen
2002) with gain 1 and log2 discount, ideal = all `n_relevant` (capped at k) ranked first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence


def hit_at(rel: Sequence[bool], k: int) -> float:
    """Any relevant in the first k.

    >>> hit_at([False, True, False], 1), hit_at([False, True, False], 2)
    (0.0, 1.0)
    """
    return 1.0 if any(rel[:k]) else 0.0


def reciprocal_rank(rel: Sequence[bool], k: int = 10) -> float:
    """1 / rank of the first relevant, 0 if none in the first k.

    >>> reciprocal_rank([False, False, True])
    0.3333333333333333
    """
    for i, r in enumerate(rel[:k]):
        if r:
            return 1.0 / (i + 1)
    return 0.0


def ndcg_at(rel: Sequence[bool], k: int = 10, n_relevant: int = 1) -> float:
    """Normalised discounted cumulative gain.

    >>> round(ndcg_at([False, True], k=10, n_relevant=1), 4)  # 1/log2(3)
    0.6309
    """
    dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(rel[:k]) if r)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(max(n_relevant, 1), k)))
    return dcg / ideal if ideal else 0.0


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile, p in [0, 100].

    >>> percentile([1, 2, 3, 4], 50)
    2.5
    """
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * p / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def normalize(text: str) -> str:
    """Case-folded, whitespace-collapsed text for phrase matching."""
    return re.sub(r"\s+", " ", text).strip().lower()


def is_relevant(section: str, text: str, gold_sections: Sequence[str], phrase: str) -> bool:
    """A passage is relevant when it lies in a gold section and contains the gold phrase."""
    return section in gold_sections and normalize(phrase) in normalize(text)
