"""Late-interaction reranking (MaxSim) over the embedder's own token vectors: the default reranker.

Why: no pretrained cross-encoder ships in a package these machines can install, and the one we
train from MiniLM does not learn relevance in a CPU budget (BENCHMARKS.md, "Reranker"). The
packaged MiniLM's contextual token vectors do carry it: score a passage by, for every query
token, its best cosine with any passage token, averaged over the query tokens (ColBERT's MaxSim,
Khattab & Zaharia 2020), with no training. On the dev set, reranking the fused top 20 this way
raised hit@1, hit@5 and MRR@10 at once.

What it does: `MaxSimReranker.rerank(query, hits, top_k)` (the `coach.retrieval.rerank.Reranker` Protocol),
the score blended with the fused one by `blend` (1.0: MaxSim alone). Passage token vectors are
cached per passage text for the life of the process, so a warm query costs one short encode and
a few small matrix products. `[CLS]`/`[SEP]` positions are left out.

What it does not do: index token vectors on disk (the whole roadmap is ~440 passages, ~10 s to
encode once per process, and only the passages that reach the top 20 are ever encoded).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from coach.retrieval.rerank import reorder
from coach.types import Hit


class TokenEmbedder(Protocol):
    def token_vectors(self, texts: Sequence[str]) -> list[np.ndarray]:
        """One (tokens x dim) array per text, rows unit length, special tokens left out."""
        ...


def maxsim(query: np.ndarray, passage: np.ndarray) -> float:
    """Mean over the query's token vectors of their best cosine with a passage token vector
    (rows unit length). 0.0 when either side has no tokens.

    >>> q = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> maxsim(q, np.array([[1.0, 0.0]])), maxsim(q, np.array([[1.0, 0.0], [0.0, 1.0]]))
    (0.5, 1.0)
    """
    if not len(query) or not len(passage):
        return 0.0
    return float((query @ passage.T).max(axis=1).mean())


class MaxSimReranker:
    name = "maxsim"

    def __init__(self, embedder: TokenEmbedder, blend: float = 1.0, cache_size: int = 5_000) -> None:
        self.embedder = embedder
        self.blend = blend
        self.cache_size = cache_size
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _passages(self, texts: Sequence[str]) -> list[np.ndarray]:
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        if todo:
            known.update(zip(todo, self.embedder.token_vectors(todo)))
            with self._lock:
                if len(self._cache) + len(todo) > self.cache_size:
                    self._cache.clear()
                self._cache.update((t, known[t]) for t in todo)
        return [known[t] for t in texts]

    def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        q = self.embedder.token_vectors([query])[0]
        return [maxsim(q, p) for p in self._passages(passages)]

    def rerank(self, query: str, hits: Sequence[Hit], top_k: int) -> list[Hit]:
        if not hits:
            return []
        return reorder(hits, self.scores(query, [h.chunk.contextual_text for h in hits]), self.blend, top_k)
