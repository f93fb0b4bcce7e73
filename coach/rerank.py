"""Reranking after fusion, behind the `Reranker` Protocol.

`NoopReranker` keeps the fused order (selected by `--no-rerank` or `reranker.model = "none"`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

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
