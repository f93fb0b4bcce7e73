"""Yes/no judgements as a probability, not a word: the `Judge` Protocol and its plain backend.

Why a probability: measured on the dev set, Qwen2.5-Coder-1.5B answering a schema-constrained
{"verdict": "yes"|"no"} said "yes" to every key point of strong, partial and wrong answers alike.
The probability it puts on "yes" versus "no" for the first reply token still moves with the answer,
so that number is the signal `coach.grading.scoring` uses.

- `Judge.p_yes(messages)`: P(yes) / (P(yes) + P(no)), or None when the reply cannot be read.
- `Judge.judging(head, answer)`: wraps the prompts of one answer, which all start with `head`
  (the prompt up to where the answer begins) and then `answer`; a judge that caches prompts uses it
  to start them from a known state.
- `Judge.prefill(head, answer)`: work done ahead, while the user types (from a background thread).

Backends: `coach.llm.llama_judge.LlamaJudge` (logits of the in-process model, the head evaluated
once and the typed answer read ahead) and `VerdictJudge` here, for any other `ChatModel` (an
OpenAI-compatible server, the test fakes): the schema-constrained verdict, 1.0 for "yes" and 0.0
for "no", nothing cached, nothing done ahead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

from coach.errors import ModelError
from coach.llm.chat import ChatModel, Message, complete_json

YES_NO = {"type": "object", "properties": {"verdict": {"enum": ["yes", "no"]}}, "required": ["verdict"]}


class Judge(Protocol):
    def p_yes(self, messages: Sequence[Message]) -> float | None: ...

    def judging(self, head: Sequence[Message], answer: str = "") -> AbstractContextManager[None]: ...

    def prefill(self, head: Sequence[Message], answer: str = "") -> None: ...


def normalised_yes(yes_logits: Sequence[float], no_logits: Sequence[float]) -> float:
    """P(yes) / (P(yes) + P(no)) from the logits of the spellings of each word.

    >>> round(normalised_yes([2.0], [0.0]), 3), normalised_yes([0.0, 0.0], [0.0, 0.0])
    (0.881, 0.5)
    """
    top = max([*yes_logits, *no_logits])
    py = sum(math.exp(x - top) for x in yes_logits)
    pn = sum(math.exp(x - top) for x in no_logits)
    return py / (py + pn)


class VerdictJudge:
    """A `Judge` over any `ChatModel`: the verdict it writes, read as 1.0 or 0.0."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model

    def p_yes(self, messages: Sequence[Message]) -> float | None:
        try:
            reply = complete_json(self.model, messages, YES_NO, max_tokens=12)
        except ModelError as e:
            if "not valid JSON" in str(e) or "does not match the schema" in str(e):
                return None
            raise
        return 1.0 if reply["verdict"] == "yes" else 0.0

    def judging(self, head: Sequence[Message], answer: str = "") -> AbstractContextManager[None]:
        return nullcontext()

    def prefill(self, head: Sequence[Message], answer: str = "") -> None:
        return None
