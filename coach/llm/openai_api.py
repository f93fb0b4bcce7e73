"""Any OpenAI-compatible server (llama.cpp's or llama-cpp-python's server, vLLM) as a `ChatModel`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from coach.errors import ModelError
from coach.llm.chat import MAX_TOKENS, Message, check_schema, to_dicts


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


