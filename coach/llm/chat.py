"""Chat models behind one small Protocol, and JSON replies checked against a schema.

`ChatModel.complete(messages, schema=None)` returns the reply text; with a JSON schema the reply is
constrained to it (valid JSON text). `ChatModel.stream(messages)` yields text pieces. The backends
are `coach.llm.llama` (llama-cpp-python in process) and `coach.llm.openai` (any OpenAI-compatible
server); tests use scripted fakes.

This module does not find model files (`coach.llm.packaged`) or write prompts (`prompts/`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

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


def to_dicts(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def complete_json(model: ChatModel, messages: Sequence[Message], schema: dict, *,
                  max_tokens: int = MAX_TOKENS) -> dict:
    """`model.complete` with `schema`, parsed and validated (`jsonschema`); ModelError when the
    reply is not valid."""
    import jsonschema

    text = model.complete(messages, schema, max_tokens=max_tokens)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ModelError(f"the model's reply is not valid JSON ({e.msg} at char {e.pos}; reply starts "
                         f"{text[:120]!r}): raise max_tokens (now {max_tokens}) or cap the schema's strings "
                         "and lists with maxLength/maxItems so the reply cannot be cut off") from e
    if not isinstance(value, dict):
        problems = [f"$: expected object, got {type(value).__name__}"]
    else:
        problems = [f"$.{'.'.join(map(str, err.absolute_path))}: {err.message}" if err.absolute_path else
                    f"$: {err.message}" for err in jsonschema.Draft202012Validator(schema).iter_errors(value)]
    if problems:
        raise ModelError(f"the model's JSON does not match the schema ({'; '.join(problems[:3])}): "
                         "if this is an OpenAI-compatible server, check that it supports response_format")
    return value


def check_schema(schema: dict, where: str = "$") -> None:
    """Reject schemas that llama.cpp's grammar would silently get wrong (MODELS.md): integer
    `minimum`/`maximum` are ignored (list the values in `enum`), and uncapped strings and lists can be
    cut off by max_tokens, which leaves invalid JSON (add `maxLength`/`maxItems`).

    >>> check_schema({"type": "integer", "minimum": 0})
    Traceback (most recent call last):
    coach.errors.ModelError: JSON schema $: minimum is ignored by llama.cpp's grammar: list the allowed values in "enum" instead (e.g. "enum": [0, 1, 2, 3])
    """
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
