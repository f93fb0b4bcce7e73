"""LangChain adapter: any `ChatModel` as a `BaseChatModel`, for RAGAS and users' own chains.

    chat = CoachChatModel(model=Coach(cfg).chat)
    chat.invoke("Explain TIME_WAIT in one sentence.").content
    chat.bind(schema={...}).invoke(...)      # a JSON-schema-constrained reply

It translates messages (system/human/ai; text only, no tools or images) and honours `stop` by
cutting the text, since the ChatModel protocol has no stop sequences. Sampling settings
(temperature, ...) belong to the backend and are ignored here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ChatMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from coach.errors import ModelError
from coach.llm.chat import MAX_TOKENS, Message

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def to_messages(messages: list[BaseMessage]) -> list[Message]:
    out = []
    for m in messages:
        role = m.role if isinstance(m, ChatMessage) else _ROLES.get(m.type, m.type)
        role = _ROLES.get(role, role)
        if role not in ("system", "user", "assistant"):
            raise ModelError(f"CoachChatModel cannot send a {m.type!r} message: only system, human and ai "
                             "messages (no tools)")
        out.append(Message(role, _text(m.content)))
    return out


def _text(content: str | list) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and part.get("type") == "text":
            parts.append(part["text"])
        else:
            raise ModelError("CoachChatModel accepts text content only (no images or files)")
    return "".join(parts)


def cut_at_stop(text: str, stop: list[str] | None) -> tuple[str, bool]:
    """`text` up to the first stop sequence, and whether one was found.

    >>> cut_at_stop("yes. Observation: x", ["Observation:"])
    ('yes. ', True)
    """
    cuts = [i for s in stop or [] if s and (i := text.find(s)) >= 0]
    return (text[: min(cuts)], True) if cuts else (text, False)


class CoachChatModel(BaseChatModel):
    """A LangChain chat model over a coach `ChatModel` (`model=`)."""

    model: Any  # a coach.llm.chat.ChatModel
    max_tokens: int = MAX_TOKENS
    json_schema: dict | None = None  # constrain every reply to this JSON schema (or bind schema=)

    @property
    def _llm_type(self) -> str:
        return "coach"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": type(self.model).__name__, "max_tokens": self.max_tokens}

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        schema = kwargs.get("schema", self.json_schema)
        text = self.model.complete(to_messages(messages), schema,
                                   max_tokens=kwargs.get("max_tokens", self.max_tokens))
        text, _ = cut_at_stop(text, stop)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        # Hold back the last few characters: a stop sequence may arrive split across pieces.
        hold = max((len(s) for s in stop or []), default=1) - 1
        pending = ""
        pieces = self.model.stream(to_messages(messages), max_tokens=kwargs.get("max_tokens", self.max_tokens))
        try:
            for piece in pieces:
                pending, stopped = cut_at_stop(pending + piece, stop)
                keep = 0 if stopped else min(hold, len(pending))
                ready, pending = pending[: len(pending) - keep], pending[len(pending) - keep:]
                if ready:
                    yield self._chunk(ready, run_manager)
                if stopped:
                    return
            if pending:
                yield self._chunk(pending, run_manager)
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()  # release the backend if we stopped early

    @staticmethod
    def _chunk(text: str, run_manager: CallbackManagerForLLMRun | None) -> ChatGenerationChunk:
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
        if run_manager:
            run_manager.on_llm_new_token(text, chunk=chunk)
        return chunk
