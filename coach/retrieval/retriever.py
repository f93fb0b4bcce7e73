"""The retrieval pipeline: query resolution -> BM25 and dense -> fusion -> rerank.

`Retriever` holds the loaded index and the backends; `search` is the one entry point used by the
CLI, the coach, the UI, the LangChain adapter and the evals.
"""

from __future__ import annotations

from coach.config import RetrievalConfig
from coach.corpus.loader import Corpus
from coach.errors import IndexNotBuiltError, UsageError
from coach.retrieval import fusion
from coach.retrieval import query as q
from coach.retrieval.bm25 import BM25Index
from coach.retrieval.embedder import Embedder
from coach.retrieval.rerank import NoopReranker, Reranker
from coach.retrieval.vectors import VectorStore
from coach.types import Chunk, Hit

MODES = ("hybrid", "bm25", "dense")


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
        sparse = self.bm25.search(text, n) if mode in ("hybrid", "bm25") else {}
        dense: dict[str, float] = {}
        if mode in ("hybrid", "dense"):
            vec = self.embedder.embed([text], query=True)[0]
            dense = {i: s for i, s in self.store.query(vec, n).items() if i in self.chunks}
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
        return hits[:k]
