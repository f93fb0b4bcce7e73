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
  was typing; the steps are the same both ways, so the numbers are too. `prefill(head, answer)`
  goes on to evaluate the answer typed so far (a few tokens short of its end, which the tokenizer
  may still merge with what comes next), a block at a time, so at grading llama.cpp's prefix match
  evaluates only the rest. The blocks sit on the grid where a cold grade's batch starts (see
  `BLOCK`), so the P(yes) are bit-identical to a cold grade's (`scripts/bench_card.py --typed` and a
  slow test check it). It needs the GGUF's own chat template (the default) to tokenize a prompt as
  the chat handler does; with another, nothing is read ahead;
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
    # Answer tokens are read ahead in blocks of BLOCK tokens (~0.4 s each: a grade waits at most that)
    # on a grid that starts where a cold grade's batch starts (the end of the head). Measured with the
    # 1.5B: a prompt evaluated in blocks of 8, 16, 24, 32, 40 or 48 tokens from there, or all at once,
    # gives bit-identical P(yes); in blocks of 4 or 33, or of 1-12 tokens, P(yes) moved by up to 0.04 (llama.cpp
    # computes a batch's rows in groups, so a token's numbers depend on where its batch starts). A grade
    # first drops what lies past the last whole block it shares, so it reads the same numbers either way.
    BLOCK = 32
    MARGIN = 4  # the typed text's last tokens are left for later: the next keystrokes may change them

    def __init__(self, model: LlamaCppChatModel) -> None:
        self.model = model
        self._ids: tuple[list[int], list[int]] | None = None
        self._turn = threading.Lock()  # one answer's prompts run back to back
        self._ready: tuple[tuple[Message, ...], int] | None = None  # (head, model.uses) when it evaluated head
        self._format: Any = None  # the GGUF's chat template (False: typed text is not read ahead)
        self._head_ids: list[int] = []  # the tokens `_evaluate` put in the cache
        self._grading = 0  # grades waiting for the model: reading ahead gives way to them
        self._count = threading.Lock()

    def prefill(self, head: Sequence[Message], answer: str = "") -> None:
        """Evaluate the prompt head of the next answer ahead of time (from a background thread), and
        then `answer`, the answer typed so far, as the user message goes on after `head`."""
        key = tuple(head)
        with self._turn:
            if not self._holds(key):
                self._evaluate(key)
        while answer and not self._grading:
            with self._turn:
                if not self._holds(key) or not self._read_ahead(key, answer):
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
            if not self._holds(key) or (answer and not self._align(key, answer)):
                self._evaluate(key)
            yield
        finally:
            self._turn.release()

    def _grid(self, llama: Any, key: tuple[Message, ...], answer: str) -> tuple[list[int], int, int] | None:
        """(the tokens of `head` + `answer`, where the blocks start, the start of the last block the
        cache holds whole); None when the cache lost part of the head, or tokens cannot be copied."""
        want = self._tokens(llama, [*key[:-1], Message(key[-1].role, key[-1].content + answer)])
        if want is None:
            return None
        origin, same = _common(self._head_ids, want), _common(llama._input_ids, want)  # noqa: SLF001
        if same < origin:
            return None
        return want, origin, origin + (same - origin) // self.BLOCK * self.BLOCK

    def _align(self, key: tuple[Message, ...], answer: str) -> bool:
        """Keep only the whole blocks of `answer` the cache holds; False when it must start afresh."""
        with self.model._exclusive():  # noqa: SLF001
            llama = self.model._model()  # noqa: SLF001
            grid = self._grid(llama, key, answer)
            if grid is None:  # nothing was read ahead without a copy of the tokenizer: the head is there
                return self._format is False
            llama.n_tokens = grid[2]  # the next prompt's prefix match stops here
            return True

    def _read_ahead(self, key: tuple[Message, ...], answer: str) -> bool:
        """Evaluate the next block of `answer`'s tokens that the cache lacks; False when none is left."""
        with self.model._exclusive():  # noqa: SLF001 - see the module docstring
            llama = self.model._model()  # noqa: SLF001
            grid = self._grid(llama, key, answer)
            if grid is None:
                return False
            want, _, start = grid
            if len(want) - self.MARGIN - start < self.BLOCK:
                return False
            llama.n_tokens = start  # `eval` drops the cache past this point first, as `generate` does
            llama.eval(want[start: start + self.BLOCK])
            return True

    def _tokens(self, llama: Any, messages: Sequence[Message]) -> list[int] | None:
        """The prompt tokens of `messages` up to the end of the last message's content, as llama-cpp-
        python's chat handler tokenizes them; None when that cannot be done exactly."""
        if self._format is None:
            self._format = False
            template = getattr(llama, "metadata", {}).get("tokenizer.chat_template")
            if template and getattr(llama, "chat_format", None) == "chat_template.default":
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter

                def text(token: int) -> str:
                    return llama.detokenize([token], special=True).decode("utf-8", "replace") if token >= 0 else ""
                self._format = Jinja2ChatFormatter(template, eos_token=text(llama.token_eos()),
                                                   bos_token=text(llama.token_bos()))
        if not self._format:
            return None
        mark = "\x00end\x00"  # `clean` removes NUL bytes, so no answer contains it
        dicts = to_dicts([*messages[:-1], Message(messages[-1].role, messages[-1].content + mark)])
        out = self._format(messages=dicts)
        prompt = out.prompt[: out.prompt.index(mark)]
        return llama.tokenize(prompt.encode("utf-8"), add_bos=not out.added_special, special=True)

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
            self._head_ids = list(llama._input_ids)  # noqa: SLF001
            mine = self._tokens(llama, key)  # a chat handler we do not tokenize like: no reading ahead
            if mine is not None and self._head_ids[: len(mine)] != mine:
                self._format = False

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


def make_judge(model: ChatModel) -> YesNoJudge:
    if isinstance(model, LlamaCppChatModel):
        return LlamaJudge(model)
    return VerdictJudge(model)
