"""The retrieval pipeline: query resolution -> BM25 and dense -> fusion -> rerank.

`Retriever` holds the loaded index and the backends; `search` is the one entry point used by the
CLI, the coach, the UI, the LangChain adapter and the evals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from coach import fusion, query as q
from coach.bm25 import BM25Index
from coach.config import RetrievalConfig
from coach.corpus import Corpus
from coach.dense import Embedder
from coach.errors import IndexNotBuiltError, UsageError
from coach.rerank import NoopReranker, Reranker
from coach.vectors import VectorStore
from coach.types import Chunk, Hit

MODES = ("hybrid", "bm25", "dense")


@dataclass(frozen=True)
class Timing:
    bm25: float = 0.0
    dense: float = 0.0
    rerank: float = 0.0


class Retriever:
    def __init__(self, corpus: Corpus, embedder: Embedder, store: VectorStore, cfg: RetrievalConfig,
                 reranker: Reranker | None = None) -> None:
        if not corpus.chunks:
            raise IndexNotBuiltError("the index has no chunks")
        self.corpus = corpus
        self.cfg = cfg
        self.embedder = embedder
        self.store = store
        self.reranker = reranker or NoopReranker()
        self.chunks: dict[str, Chunk] = {c.id: c for c in corpus.chunks}
        self.bm25 = BM25Index(list(self.chunks), [c.contextual_text for c in self.chunks.values()],
                              k1=cfg.bm25_k1, b=cfg.bm25_b)
        self.last_timing = Timing()

    def search(self, query: str, k: int = 5, *, mode: str | None = None, rerank: bool | None = None,
               context: str | None = None) -> list[Hit]:
        mode = mode or self.cfg.mode
        if mode not in MODES:
            raise UsageError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        if k < 1:
            raise UsageError(f"-k must be at least 1, got {k}")
        text = q.resolve(query, context)
        if not text.strip():
            raise UsageError("empty query: type what you want to find")
        n = max(self.cfg.candidates, k)
        t0 = time.perf_counter()
        sparse = self.bm25.search(text, n) if mode in ("hybrid", "bm25") else {}
        t1 = time.perf_counter()
        dense: dict[str, float] = {}
        if mode in ("hybrid", "dense"):
            vec = self.embedder.embed([text], query=True)[0]
            dense = {i: s for i, s in self.store.query(vec, n).items() if i in self.chunks}
        t2 = time.perf_counter()
        if mode == "bm25":
            fused = dict(sparse)
        elif mode == "dense":
            fused = dict(dense)
        elif self.cfg.fusion == "rrf":
            fused = fusion.rrf([sparse, dense], k=self.cfg.rrf_k)
        else:
            fused = fusion.convex(dense, sparse, alpha=self.cfg.alpha)
        hits = [
            Hit(self.chunks[i], s, {"bm25": sparse.get(i, 0.0), "dense": dense.get(i, 0.0), "fused": s})
            for i, s in fused.items()
        ]
        use_rerank = self.cfg.rerank if rerank is None else rerank
        if use_rerank and not isinstance(self.reranker, NoopReranker):
            depth = max(self.cfg.rerank_depth, k)
            hits = self.reranker.rerank(text, hits[:depth], k) + hits[depth:]
        t3 = time.perf_counter()
        self.last_timing = Timing(t1 - t0, t2 - t1, t3 - t2)
        return hits[:k]
