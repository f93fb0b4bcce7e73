"""Reranking after fusion, behind the `Reranker` Protocol.

`NoopReranker` keeps the fused order (selected by `--no-rerank` or `reranker.model = "none"`);
`reorder` is what every scoring reranker (`coach.retrieval.maxsim`, `coach.retrieval.crossencoder`) does with its
scores: blend them with the fused ones and sort.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from coach.retrieval.fusion import minmax
from coach.types import Hit


class Reranker(Protocol):
    name: str

    def rerank(self, query: str, hits: Sequence[Hit], top_k: int) -> list[Hit]:
        """The best `top_k` of `hits` for `query`, best first."""
        ...


class NoopReranker:
    name = "none"

    def rerank(self, query: str, hits: Sequence[Hit], top_k: int) -> list[Hit]:
        return list(hits[:top_k])


def blend_scores(ce: Sequence[float], fused: Sequence[float], blend: float) -> list[float]:
    """blend * minmax(ce) + (1 - blend) * minmax(fused), element-wise.

    >>> blend_scores([2.0, 0.0, 1.0], [0.9, 0.5, 0.1], 0.5)
    [1.0, 0.25, 0.25]
    """
    nc = minmax(dict(enumerate(ce)))
    nf = minmax(dict(enumerate(fused)))
    return [blend * nc[i] + (1 - blend) * nf[i] for i in range(len(ce))]


def reorder(hits: Sequence[Hit], scores: Sequence[float], blend: float, top_k: int) -> list[Hit]:
    """The best `top_k` hits by `blend_scores` (ties: the fused order), each keeping its model
    score under "rerank".

    >>> from coach.types import Chunk
    >>> hs = [Hit(Chunk(c, "1", "t", ("t",), c, "f"), s) for c, s in (("a", 0.9), ("b", 0.5))]
    >>> [(h.chunk.id, h.scores["rerank"]) for h in reorder(hs, [0.1, 0.7], 1.0, 2)]
    [('b', 0.7), ('a', 0.1)]
    """
    final = blend_scores(scores, [h.score for h in hits], blend)
    order = sorted(range(len(hits)), key=lambda i: (-final[i], i))
    return [Hit(hits[i].chunk, final[i], {**hits[i].scores, "rerank": scores[i]}) for i in order[:top_k]]
