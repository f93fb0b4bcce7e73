"""The retrieval pipeline: query resolution -> BM25 and dense -> fusion -> rerank.

`Retriever` holds the loaded index and the backends; `search` is the one entry point used by the
CLI, the coach, the UI, the LangChain adapter and the evals. The index holds two kinds of chunk:
the roadmap's passages and the answer keys (`Chunk.kind`); a search looks in one kind, the
roadmap's by default, with a BM25 index of its own (so the keys do not move the roadmap's term
statistics) and the dense results of that kind.
"""

from __future__ import annotations

from collections import Counter

from coach.config import RetrievalConfig
from coach.corpus import glossary
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
        self._count = Counter(c.kind for c in corpus.chunks)  # chunks per kind
        self._bm25: dict[str, BM25Index] = {}
        self._homes: dict[str, list[str]] | None = None
        self._glossary: dict[str, str] | None = None

    def glossary(self) -> dict[str, str]:
        """The roadmap's acronyms and their expansions (`coach.corpus.glossary`), built on first use."""
        if self._glossary is None:
            self._glossary = glossary.build(c.text for c in self.chunks.values() if c.kind == "roadmap")
        return self._glossary

    def homes(self) -> dict[str, list[str]]:
        """Each answer key's chunk -> the roadmap passage it belongs to: the passage of the key's
        subsection whose BM25 score for the key's question and model answer is highest."""
        if self._homes is None:
            bm25 = self.bm25("roadmap")
            homes = {}
            for c in self.chunks.values():
                if c.kind != "key":
                    continue
                scores = bm25.search(c.text, len(bm25.ids))
                own = [i for i in scores if self.chunks[i].section == c.section]
                if own:
                    homes[c.id] = own[:1]
            self._homes = homes
        return self._homes

    def bm25(self, kind: str = "roadmap") -> BM25Index:
        if kind not in self._bm25:
            docs = [c for c in self.chunks.values() if c.kind == kind]
            self._bm25[kind] = BM25Index([c.id for c in docs], [c.contextual_text for c in docs],
                                         k1=self.cfg.bm25_k1, b=self.cfg.bm25_b)
        return self._bm25[kind]

    def search(self, query: str, k: int = 5, *, mode: str | None = None, rerank: bool | None = None,
               context: str | None = None, kind: str = "roadmap") -> list[Hit]:
        """The best `k` chunks of `kind` ("roadmap" or "key") for `query` (with the previous turn
        as `context` for a follow-up)."""
        mode = mode or self.cfg.mode
        if mode not in MODES:
            raise UsageError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        if k < 1:
            raise UsageError(f"-k must be at least 1, got {k}")
        text = q.resolve(query, context)
        if not text.strip():
            raise UsageError("empty query: type what you want to find")
        if self.cfg.glossary:
            text = glossary.expand(text, self.glossary())
        n = max(self.cfg.candidates, k)
        if not self._count[kind]:
            return []
        expand = mode == "hybrid" and kind == "roadmap" and self.cfg.expand > 0 and self._count["key"] > 0
        sparse = self.bm25(kind).search(text, n) if mode in ("hybrid", "bm25") else {}
        dense: dict[str, float] = {}
        if mode in ("hybrid", "dense"):
            vec = self.embedder.embed([text], query=True)[0]
            found = list(self.store.query(vec, len(self.chunks)).items())  # exact: then keep `kind`
            dense = dict([(i, s) for i, s in found if i in self.chunks and self.chunks[i].kind == kind][:n])
        if expand:  # a passage also scores as well as the answer keys that belong to it (`homes`)
            keys_dense = dict([(i, s) for i, s in found if i in self.chunks and self.chunks[i].kind == "key"][:n])
            sparse = fusion.lift(sparse, self.bm25("key").search(text, n), self.homes(), self.cfg.expand)
            dense = fusion.lift(dense, keys_dense, self.homes(), self.cfg.expand)
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
