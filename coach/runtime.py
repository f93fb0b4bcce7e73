"""Wiring: builds the real backends from the config. The only place that picks implementations;
everything else receives its backends as arguments (so tests pass fakes)."""

from __future__ import annotations

from coach.config import Config
from coach.dense import SentenceTransformerEmbedder
from coach.errors import IndexNotBuiltError
from coach.index import load_saved, read_manifest
from coach.rerank import NoopReranker, Reranker
from coach.retrieve import Retriever
from coach.vectors import ChromaStore


def make_embedder(cfg: Config, show_progress: bool = False) -> SentenceTransformerEmbedder:
    e = cfg.embedder
    return SentenceTransformerEmbedder(e.model, e.batch_size, e.device, e.query_prefix, show_progress)


def make_store(cfg: Config, embedder) -> ChromaStore:
    return ChromaStore(cfg.store, cfg.index_dir / "chroma", embedder)


def make_reranker(cfg: Config, embedder=None) -> Reranker:
    """The configured reranker; MaxSim uses `embedder` (the retriever's, so the model loads once)."""
    if cfg.reranker.model == "none":
        return NoopReranker()
    if cfg.reranker.model == "maxsim":
        from coach.maxsim import MaxSimReranker

        return MaxSimReranker(embedder or make_embedder(cfg), cfg.reranker.blend)
    from coach.crossencoder import load_reranker

    return load_reranker(cfg)


def open_retriever(cfg: Config, embedder=None, store=None, reranker: Reranker | None = None) -> Retriever:
    """The retriever over the saved index; clear errors when it is missing or from another embedder."""
    if read_manifest(cfg) is None:
        raise IndexNotBuiltError()
    corpus = load_saved(cfg)
    embedder = embedder or make_embedder(cfg)
    store = store or make_store(cfg, embedder)
    if reranker is None:
        reranker = make_reranker(cfg, embedder) if cfg.retrieval.rerank else NoopReranker()
    return Retriever(corpus, embedder, store, cfg.retrieval, reranker)
