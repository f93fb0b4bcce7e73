"""Sparse retrieval: Okapi BM25 via `rank-bm25` over contextual chunk text (heading path + text)."""

from __future__ import annotations

from collections.abc import Sequence

from coach.corpus.text import tokenize


class BM25Index:
    """BM25Okapi over tokenised documents (k1, b as given; the config's defaults are Anserini's)."""

    def __init__(self, ids: Sequence[str], texts: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        from rank_bm25 import BM25Okapi

        self.ids = list(ids)
        corpus = [tokenize(t) or ["\x00"] for t in texts]  # rank-bm25 divides by zero on empty docs
        self._bm25 = BM25Okapi(corpus, k1=k1, b=b)

    def scores(self, query_tokens: Sequence[str]) -> list[float]:
        return [float(s) for s in self._bm25.get_scores(list(query_tokens))]

    def search(self, query: str, n: int) -> dict[str, float]:
        """Top `n` {id: score} for documents sharing at least one term with the query, best first."""
        tokens = tokenize(query)
        if not tokens:
            return {}
        scores = self.scores(tokens)
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], self.ids[i]))
        return {self.ids[i]: scores[i] for i in order[:n] if scores[i] > 0}
