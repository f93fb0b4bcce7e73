"""Vector storage: the `VectorStore` Protocol and its chromadb backend (embedded or HTTP server).

Chroma never embeds anything itself here: its default embedding function downloads an ONNX model
on first use, which fails offline. We pass vectors we computed, and the collection is created with
an embedding function that delegates to our `Embedder`, so chroma never falls back to its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from coach.config import StoreConfig
from coach.errors import CoachError
from coach.lazy import once
from coach.retrieval.embedder import Embedder


class VectorStore(Protocol):
    def add(self, ids: Sequence[str], vectors: Sequence[Sequence[float]], documents: Sequence[str]) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def query(self, vector: Sequence[float], n: int) -> dict[str, float]:
        """{id: cosine similarity}, best first."""
        ...

    def ids(self) -> set[str]: ...


class _Unavailable:
    def __init__(self, name: str) -> None:
        self.name = name

    def embed(self, texts, *, query: bool = False):
        raise CoachError(f"this collection needs coach's embedder {self.name!r}: open it through coach")


def _embedding_function(embedder: Embedder):
    from chromadb.api.types import EmbeddingFunction

    class CoachEmbeddingFunction(EmbeddingFunction):
        def __init__(self, inner: Embedder) -> None:
            self._inner = inner

        def __call__(self, input):  # noqa: A002 - chroma's required signature
            return self._inner.embed(list(input))

        @staticmethod
        def name() -> str:
            return "coach"

        def get_config(self) -> dict[str, Any]:
            return {"embedder": self._inner.name}

        @staticmethod
        def build_from_config(config: dict[str, Any]):
            # chroma rebuilds the function from stored config when a collection is opened without
            # one; we always pass ours, so such a copy only explains itself if ever called.
            return CoachEmbeddingFunction(_Unavailable(config.get("embedder", "?")))

    return CoachEmbeddingFunction(embedder)


class ChromaStore:
    """`VectorStore` on a chromadb collection (cosine space). The embedder's name is recorded in
    the collection metadata so vectors from two embedders are never mixed."""

    def __init__(self, cfg: StoreConfig, path: Path, embedder: Embedder) -> None:
        self.cfg = cfg
        self.path = path
        self.embedder = embedder
        self._collection = None
        self._exact: tuple[list[str], Any] | None = None  # (ids, unit rows or None): see `query`

    def _client(self):
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        if self.cfg.backend == "http":
            try:
                return chromadb.HttpClient(host=self.cfg.host, port=self.cfg.port, settings=settings)
            except Exception as e:  # noqa: BLE001
                raise CoachError(
                    f"cannot reach the chroma server at {self.cfg.host}:{self.cfg.port} ({e}); start it with "
                    f'"chroma run --path DIR --port {self.cfg.port}" or set store.backend = "embedded"'
                ) from e
        self.path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self.path), settings=settings)

    @property
    def collection(self):
        return once(self, "_collection", lambda: self._client().get_or_create_collection(
            self.cfg.collection, embedding_function=_embedding_function(self.embedder),
            metadata={"hnsw:space": "cosine", "embedder": self.embedder.name}))

    def embedder_name(self) -> str | None:
        return (self.collection.metadata or {}).get("embedder")

    def reset(self) -> None:
        client = self._client()
        try:
            client.delete_collection(self.cfg.collection)
        except Exception:  # noqa: BLE001 - absent collection: nothing to delete
            pass
        self._collection = self._exact = None

    def add(self, ids: Sequence[str], vectors: Sequence[Sequence[float]], documents: Sequence[str]) -> None:
        if ids:
            self.collection.upsert(ids=list(ids), embeddings=[list(v) for v in vectors], documents=list(documents))
            self._exact = None

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self.collection.delete(ids=list(ids))
            self._exact = None

    def ids(self) -> set[str]:
        return set(self.collection.get(include=[])["ids"])

    def query(self, vector: Sequence[float], n: int) -> dict[str, float]:
        """Exact cosine over every stored vector up to `EXACT_MAX` of them, chromadb's HNSW above.
        Why: HNSW is approximate, and measured on the roadmap's 438 chunks its top 100 for one
        query differed between two processes, which moved the min-max normalisation of every dense
        score in hybrid fusion; an exact scan of a few thousand vectors costs about a millisecond."""
        ids, rows = once(self, "_exact", self._load_matrix)
        if rows is not None:
            return exact_top(ids, rows, vector, n) if ids else {}
        res = self.collection.query(query_embeddings=[list(vector)], n_results=min(n, len(ids)), include=["distances"])
        return {i: 1.0 - float(d) for i, d in zip(res["ids"][0], res["distances"][0])}

    def _load_matrix(self) -> tuple[list[str], Any]:
        """(ids, unit rows) of every stored vector; (ids, None) when there are more than `EXACT_MAX`."""
        import numpy as np

        if self.collection.count() > EXACT_MAX:
            return self.collection.get(include=[])["ids"], None
        got = self.collection.get(include=["embeddings"])
        if not got["ids"]:
            return [], np.zeros((0, 0))
        mat = np.asarray(got["embeddings"], dtype=np.float64)
        norms = np.linalg.norm(mat, axis=1, keepdims=True)
        return list(got["ids"]), mat / np.where(norms == 0, 1.0, norms)


EXACT_MAX = 50_000  # vectors; 50k x 384 float64 is ~150 MB and a ~10 ms scan


def exact_top(ids: Sequence[str], unit_rows: Any, vector: Sequence[float], n: int) -> dict[str, float]:
    """The `n` rows with the highest cosine to `vector`, best first, ties by id.

    >>> import numpy as np
    >>> exact_top(["a", "b", "c"], np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]]), [0.0, 2.0], 2)
    {'b': 1.0, 'c': 0.8}
    """
    import numpy as np

    q = np.asarray(vector, dtype=np.float64)
    q = q / (np.linalg.norm(q) or 1.0)
    sims = unit_rows @ q
    k = min(n, len(ids))
    top = np.argpartition(-sims, k - 1)[:k] if k < len(ids) else np.arange(len(ids))
    order = sorted(top.tolist(), key=lambda i: (-sims[i], ids[i]))
    return {ids[i]: round(float(sims[i]), 6) for i in order}
