"""Tiny deterministic fakes for the fast suite: no torch, no chromadb, no llama.cpp."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

from coach.corpus.text import tokenize


class HashingEmbedder:
    """Bag of hashed tokens, L2-normalised: texts sharing words get similar vectors; token vectors too."""

    def __init__(self, dim: int = 64, name: str = "fake-hashing") -> None:
        self.dim = dim
        self.name = name
        self.calls: list[list[str]] = []
        self.token_calls: list[list[str]] = []

    def embed(self, texts: Sequence[str], *, query: bool = False) -> list[list[float]]:
        self.calls.append(list(texts))
        return [self._vector(t) for t in texts]

    def token_vectors(self, texts: Sequence[str]):
        """One hashed vector per token (`coach.retrieval.maxsim.TokenEmbedder`): equal words, equal rows."""
        import numpy as np

        self.token_calls.append(list(texts))
        return [np.array([self._vector(tok) for tok in tokenize(t)], dtype=float).reshape(-1, self.dim)
                for t in texts]

    def _vector(self, text: str) -> list[float]:
        v = [0.0] * self.dim
        for tok in tokenize(text):
            h = int(hashlib.md5(tok.encode()).hexdigest(), 16)
            v[h % self.dim] += 1.0 if (h >> 8) % 2 else -1.0
        n = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / n for x in v]


class MemoryStore:
    """VectorStore in a dict, exact cosine search."""

    def __init__(self, embedder_name: str | None = None) -> None:
        self.vectors: dict[str, list[float]] = {}
        self._embedder_name = embedder_name
        self.added: list[str] = []

    def embedder_name(self):
        return self._embedder_name

    def reset(self) -> None:
        self.vectors.clear()

    def add(self, ids, vectors, documents) -> None:
        for i, v in zip(ids, vectors):
            self.vectors[i] = list(v)
            self.added.append(i)

    def delete(self, ids) -> None:
        for i in ids:
            self.vectors.pop(i, None)

    def ids(self) -> set[str]:
        return set(self.vectors)

    def query(self, vector, n):
        sims = {i: sum(a * b for a, b in zip(vector, v)) for i, v in self.vectors.items()}
        best = sorted(sims, key=lambda i: (-sims[i], i))[:n]
        return {i: sims[i] for i in best}


class OverlapReranker:
    """Scores a hit by the share of query tokens found in the chunk text."""

    name = "fake-overlap"

    def rerank(self, query, hits, top_k):
        from coach.types import Hit

        q = set(tokenize(query))

        def score(h):
            return len(q & set(tokenize(h.chunk.contextual_text))) / (len(q) or 1)

        ranked = sorted(hits, key=lambda h: -score(h))
        return [Hit(h.chunk, score(h), h.scores) for h in ranked[:top_k]]


import json  # noqa: E402
import re  # noqa: E402
from typing import NamedTuple  # noqa: E402


class ScriptedCall(NamedTuple):
    messages: list
    schema: dict | None


class ScriptedChatModel:
    """ChatModel that replays scripted replies in order and records every call in `.calls`.

    A reply is a string, a dict (sent as JSON text) or a callable `(messages, schema) -> str | dict`.
    Schemas are checked like the real backends do (`coach.llm.check_schema`). `stream` yields the
    reply in word pieces that join back to it.
    """

    def __init__(self, replies: list) -> None:
        self.replies = list(replies)
        self.calls: list[ScriptedCall] = []

    def complete(self, messages, schema=None, *, max_tokens=512) -> str:
        if schema is not None:
            from coach.llm.chat import check_schema

            check_schema(schema)
        return self._next(messages, schema)

    def stream(self, messages, *, max_tokens=512):
        text = self._next(messages, None)
        yield from (p for p in re.split(r"(?<=\s)(?=\S)", text) if p)

    def _next(self, messages, schema) -> str:
        self.calls.append(ScriptedCall(list(messages), schema))
        if not self.replies:
            raise AssertionError(f"ScriptedChatModel: no scripted reply left for call {len(self.calls)}")
        reply = self.replies.pop(0)
        if callable(reply):
            reply = reply(messages, schema)
        return json.dumps(reply) if isinstance(reply, dict) else reply

