"""The `Judge` of the in-process llama.cpp model: P(yes) from logits, heads and typed answers read ahead.

It shares the chat model and its KV cache (through `LlamaCppChatModel.cache()`), so calls sharing a
prompt head reuse it:
- `judging(head)` wraps the prompts of one answer: they start from a fresh state in which `head`
  (the prompt up to the answer) was evaluated on its own, either just now or earlier by
  `prefill(head)` while the user was typing; the steps are the same both ways, so the numbers are.
- `prefill(head, answer)` goes on to evaluate the answer typed so far, a block at a time (a few
  tokens short of its end, which the tokenizer may still merge with what comes next), so at grading
  llama.cpp's prefix match evaluates only the rest. The blocks sit on the grid where a cold grade's
  batch starts (see `BLOCK`), so P(yes) is bit-identical to a cold grade's
  (`scripts/bench_card.py --typed` and a slow test check it). It needs the GGUF's own chat template
  to tokenize a prompt as the chat handler does; with another, nothing is read ahead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from coach.llm.chat import Message
from coach.llm.llama import LlamaCache, LlamaCppChatModel


class LlamaJudge:
    # Answer tokens are read ahead in blocks of BLOCK tokens (~0.4 s each: a grade waits at most that)
    # on a grid that starts where a cold grade's batch starts (the end of the head). Measured with the
    # 1.5B: a prompt evaluated in blocks of 8, 16, 24, 32, 40 or 48 tokens from there, or all at once,
    # gives bit-identical P(yes); in blocks of 4 or 33, or of 1-12 tokens, P(yes) moved by up to 0.04
    # (llama.cpp computes a batch's rows in groups, so a token's numbers depend on where its batch
    # starts). A grade first drops what lies past the last whole block it shares, so it reads the same
    # numbers either way.
    BLOCK = 32
    MARGIN = 4  # the typed text's last tokens are left for later: the next keystrokes may change them

    def __init__(self, model: LlamaCppChatModel) -> None:
        self.model = model
        self._turn = threading.Lock()  # one answer's prompts run back to back
        self._ready: tuple[tuple[Message, ...], int] | None = None  # (head, model.uses) when it evaluated head
        self._head_ids: list[int] = []  # the tokens the head's evaluation put in the cache
        self._reads_ahead = True  # False once our tokenization is seen to differ from the chat handler's
        self._grading = 0  # grades waiting for the model: reading ahead gives way to them
        self._count = threading.Lock()

    def p_yes(self, messages: Sequence[Message]) -> float | None:
        with self.model.cache() as cache:
            return cache.p_yes(messages)

    def prefill(self, head: Sequence[Message], answer: str = "") -> None:
        """Evaluate the prompt head of the next answer ahead of time (from a background thread), and
        then `answer`, the answer typed so far, as the user message goes on after `head`."""
        key = tuple(head)
        with self._turn:
            if not self._holds(key):
                with self.model.cache() as cache:
                    self._evaluate(cache, key)
        while answer and not self._grading:
            with self._turn:
                if not self._holds(key):
                    return
                with self.model.cache() as cache:
                    if not self._read_ahead(cache, key, answer):
                        return

    @contextmanager
    def judging(self, head: Sequence[Message], answer: str = "") -> Iterator[None]:
        """Around the `p_yes` calls for one answer, all of whose prompts start with `head` and then
        `answer` (when given, what was read of it ahead is used)."""
        key = tuple(head)
        with self._count:
            self._grading += 1
        try:
            self._turn.acquire()
        finally:
            with self._count:
                self._grading -= 1
        try:
            with self.model.cache() as cache:
                if not self._holds(key) or (answer and not self._align(cache, key, answer)):
                    self._evaluate(cache, key)
            yield
        finally:
            self._turn.release()

    def _holds(self, key: tuple[Message, ...]) -> bool:
        return self._ready == (key, self.model.uses)

    def _evaluate(self, cache: LlamaCache, key: tuple[Message, ...]) -> None:
        self._head_ids = cache.restart(key)
        self._ready = (key, cache.uses)
        mine = cache.tokens(key)  # a chat handler we do not tokenize like: no reading ahead
        if mine is not None and self._head_ids[: len(mine)] != mine:
            self._reads_ahead = False

    def _grid(self, cache: LlamaCache, key: tuple[Message, ...], answer: str) -> tuple[list[int], int, int] | None:
        """(the tokens of `head` + `answer`, where the blocks start, the start of the last block the
        cache holds whole); None when the cache lost part of the head, or tokens cannot be copied."""
        if not self._reads_ahead:
            return None
        want = cache.tokens([*key[:-1], Message(key[-1].role, key[-1].content + answer)])
        if want is None:
            return None
        origin, same = _common(self._head_ids, want), _common(cache.cached(), want)
        if same < origin:
            return None
        return want, origin, origin + (same - origin) // self.BLOCK * self.BLOCK

    def _align(self, cache: LlamaCache, key: tuple[Message, ...], answer: str) -> bool:
        """Keep only the whole blocks of `answer` the cache holds; False when it must start afresh."""
        grid = self._grid(cache, key, answer)
        if grid is None:  # nothing was read ahead without a copy of the tokenizer: the head is there
            return cache.tokens(key) is None or not self._reads_ahead
        cache.keep(grid[2])  # the next prompt's prefix match stops here
        return True

    def _read_ahead(self, cache: LlamaCache, key: tuple[Message, ...], answer: str) -> bool:
        """Evaluate the next block of `answer`'s tokens that the cache lacks; False when none is left."""
        grid = self._grid(cache, key, answer)
        if grid is None:
            return False
        want, _, start = grid
        if len(want) - self.MARGIN - start < self.BLOCK:
            return False
        cache.keep(start)  # the evaluation drops the cache past this point first, as generation does
        cache.feed(want[start: start + self.BLOCK])
        return True


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    """The length of the common prefix of two token lists.

    >>> _common([1, 2, 3], [1, 2, 4, 5]), _common([], [1])
    (2, 0)
    """
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
