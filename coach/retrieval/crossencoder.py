"""The cross-encoder reranker: `sentence_transformers.CrossEncoder` behind the `Reranker` Protocol.

It scores (query, heading path + chunk text) pairs for the fused top-N and blends that score with
the fused score (both min-max normalised over the candidates): a small domain model trained on
generated questions is a useful second opinion, not an oracle, and the blend keeps a confident
first-stage match from being thrown away. `reranker.blend = 1` is pure cross-encoder order.

`reranker.model`: "trained" (the local domain model, `coach rerank train`), or any CrossEncoder
name or path (e.g. "cross-encoder/ms-marco-MiniLM-L-6-v2" for users with a hub).
"""

from __future__ import annotations

from collections.abc import Sequence

from coach.config import Config
from coach.errors import ModelError
from coach.lazy import once
from coach.retrieval.embedder import offline_env
from coach.retrieval.rerank import reorder
from coach.types import Hit


def quantize_linear(module) -> None:
    """Replace the linear layers of a torch module, in place, by int8 dynamically quantized ones
    (weights int8, activations quantized per batch): torch's own CPU path, no export step."""
    import warnings

    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated in favour of torchao
        quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


class CrossEncoderReranker:
    def __init__(self, model_path: str, name: str, max_length: int = 128, blend: float = 0.5,
                 batch_size: int = 32, quantize: bool = False) -> None:
        self.path = model_path
        self.name = name
        self.max_length = max_length
        self.blend = blend
        self.batch_size = batch_size
        self.quantize = quantize
        self._model = None

    @property
    def model(self):
        return once(self, "_model", self._load)

    def _load(self):
        offline_env()
        from sentence_transformers import CrossEncoder

        try:
            model = CrossEncoder(self.path, max_length=self.max_length, device="cpu")
        except Exception as e:  # noqa: BLE001
            raise ModelError(f"cannot load reranker {self.name!r} from {self.path} ({type(e).__name__}: {e}); "
                             'train it with "coach rerank train" or set reranker.model = "none"') from e
        if self.quantize:
            quantize_linear(model)
        return model

    def scores(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        out = self.model.predict([(query, p) for p in passages], batch_size=self.batch_size,
                                 show_progress_bar=False, convert_to_numpy=True)
        return [float(x) for x in out]

    def rerank(self, query: str, hits: Sequence[Hit], top_k: int) -> list[Hit]:
        if not hits:
            return []
        return reorder(hits, self.scores(query, [h.chunk.contextual_text for h in hits]), self.blend, top_k)


def load_reranker(cfg: Config) -> CrossEncoderReranker:
    r = cfg.reranker
    if r.model == "trained":
        from coach.retrieval.rerank_train import trained_model_dir

        path = trained_model_dir(cfg)
        if not (path / "config.json").is_file():
            raise ModelError('the domain reranker is not trained yet: run "coach rerank train" '
                             '(or "coach index"), or set reranker.model = "none"')
        return CrossEncoderReranker(str(path), "trained", r.max_length, r.blend, quantize=r.quantize)
    return CrossEncoderReranker(r.model, r.model, r.max_length, r.blend, quantize=r.quantize)
