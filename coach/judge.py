"""Yes/no judgements as a probability, not a word.

Why: measured on the dev set, Qwen2.5-Coder-1.5B answering a schema-constrained {"verdict": "yes"|"no"}
said "yes" to every key point of strong, partial and wrong answers alike, and so did every prompt
variant tried. The probability it puts on "yes" versus "no" for the first reply token still moves
with the answer (e.g. 0.93 / 0.86 / 0.78 for the central point of a strong / partial / wrong answer
on TCP teardown), so that number is the signal `coach.scoring` uses.

`YesNoJudge.p_yes(messages)` is the one method. Backends:
- `LlamaJudge` wraps `coach.llm.LlamaCppChatModel`: one prompt evaluation and one sampled token,
  reading the logits through llama-cpp-python's public `logits_processor` hook. It shares the
  model, its lock and its KV cache (so calls sharing a prompt head reuse it). It reaches into the
  adapter's `_exclusive` / `_model`, the only place outside coach.llm that does. `judging(head)`
  wraps the prompts of one answer: they start from a fresh state in which `head` (the prompt up to
  the answer) was evaluated on its own, either just now or earlier by `prefill(head)` while the user
  was typing; the steps are the same both ways, so the numbers are too;
- `VerdictJudge` for any other `ChatModel` (an OpenAI-compatible server, the test fakes): the
  schema-constrained verdict, 1.0 for "yes" and 0.0 for "no", None when the reply does not parse.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from coach.errors import ModelError
from coach.llm import ChatModel, LlamaCppChatModel, Message, complete_json, to_dicts

YES_NO = {"type": "object", "properties": {"verdict": {"enum": ["yes", "no"]}}, "required": ["verdict"]}


class YesNoJudge(Protocol):
    def p_yes(self, messages: Sequence[Message]) -> float | None:
        """P("yes") / (P("yes") + P("no")) for the reply to `messages`; None if unreadable."""
        ...


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


class LlamaJudge:
    WORDS = (("yes", "Yes", " yes", " Yes"), ("no", "No", " no", " No"))

    def __init__(self, model: LlamaCppChatModel) -> None:
        self.model = model
        self._ids: tuple[list[int], list[int]] | None = None
        self._turn = threading.Lock()  # one answer's prompts run back to back
        self._ready: tuple[tuple[Message, ...], int] | None = None  # (head, model.uses) when it evaluated head

    def prefill(self, head: Sequence[Message]) -> None:
        """Evaluate the prompt head of the next answer ahead of time (from a background thread)."""
        key = tuple(head)
        with self._turn:
            if not self._holds(key):
                self._evaluate(key)

    @contextmanager
    def judging(self, head: Sequence[Message]) -> Iterator[None]:
        """Around the `p_yes` calls for one answer, all of whose prompts start with `head`."""
        key = tuple(head)
        with self._turn:
            if not self._holds(key):
                self._evaluate(key)
            yield

    def _holds(self, key: tuple[Message, ...]) -> bool:
        return self._ready == (key, self.model.uses)

    def _evaluate(self, key: tuple[Message, ...]) -> None:
        with self.model._exclusive():  # noqa: SLF001 - see the module docstring
            llama = self.model._model()  # noqa: SLF001
            self.model.uses += 1
            llama.reset()  # greedy output is reproducible only from a fresh state (MODELS.md)
            try:  # the templated head plus one sampled token; the next prompt reuses the shared prefix
                llama.create_chat_completion(messages=to_dicts(key), max_tokens=1, temperature=0.0,
                                             seed=self.model.seed)
            except ValueError as e:
                raise ModelError(f"{e}: shorten the question or raise llm.n_ctx (now {self.model.n_ctx})") from e
            self._ready = (key, self.model.uses)

    def _token_ids(self, llama: Any) -> tuple[list[int], list[int]]:
        if self._ids is None:
            def first(words: tuple[str, ...]) -> list[int]:
                ids = {llama.tokenize(w.encode(), add_bos=False, special=False)[0] for w in words}
                return sorted(ids)
            self._ids = (first(self.WORDS[0]), first(self.WORDS[1]))
        return self._ids

    def p_yes(self, messages: Sequence[Message]) -> float | None:
        seen: list[Any] = []

        def capture(input_ids: Any, scores: Any) -> Any:
            if not seen:
                seen.append(scores.copy())
            return scores

        with self.model._exclusive():  # noqa: SLF001 - see the module docstring
            llama = self.model._model()  # noqa: SLF001
            self.model.uses += 1  # the cache holds this prompt now, not a prefilled head
            yes, no = self._token_ids(llama)
            try:  # a plain list works as llama_cpp.LogitsProcessorList (a list): llama_cpp is not imported here
                llama.create_chat_completion(messages=to_dicts(messages), max_tokens=1, temperature=0.0,
                                             seed=self.model.seed, logits_processor=[capture])
            except ValueError as e:  # the prompt does not fit the context
                raise ModelError(f"{e}: shorten the prompt or raise llm.n_ctx (now {self.model.n_ctx})") from e
        if not seen:
            return None
        row = seen[0]
        return normalised_yes([float(row[i]) for i in yes], [float(row[i]) for i in no])


def make_judge(model: ChatModel) -> YesNoJudge:
    if isinstance(model, LlamaCppChatModel):
        return LlamaJudge(model)
    return VerdictJudge(model)
