"""The client as a LangChain chat model, so chains compose (``prompt | model | parser``).

A thin face: messages are converted to the wire format and every call goes through
``LLMClient``, so retries, timeouts, typed errors and key hygiene are the client's and stay in
one place. For ``ainvoke``/``astream`` LangChain runs the blocking client in a thread, which is
correct, just not concurrent in the event loop: nothing in the product calls the model from an
event loop, so an async twin of the client was not worth keeping in step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from assistant.llm.client import LLMClient
from assistant.llm.wire import Completion, Message, StreamEvent
from assistant.settings import display_url

if TYPE_CHECKING:
    from assistant.settings import Settings


def to_wire(messages: Sequence[BaseMessage]) -> list[Message]:
    """LangChain messages as Chat Completions messages (text content only)."""
    wire: list[Message] = []
    for message in messages:
        if isinstance(message, SystemMessage):
            role = "system"
        elif isinstance(message, HumanMessage):
            role = "user"
        elif isinstance(message, AIMessage):
            role = "assistant"
        elif isinstance(message, ChatMessage):
            role = message.role
        else:
            raise ValueError(f"{type(message).__name__} is not supported by this chat model.")
        wire.append({"role": role, "content": message.text})
    return wire


def _result(completion: Completion) -> ChatResult:
    info = {"finish_reason": completion.finish_reason, "model_name": completion.model}
    message = AIMessage(content=completion.text, response_metadata=info)
    return ChatResult(generations=[ChatGeneration(message=message, generation_info=info)])


def _chunk(event: StreamEvent) -> ChatGenerationChunk:
    info: dict[str, Any] = {}
    if event.finish_reason:
        info["finish_reason"] = event.finish_reason
    if event.model:
        info["model_name"] = event.model
    message = AIMessageChunk(content=event.delta, response_metadata=info)
    return ChatGenerationChunk(message=message, generation_info=info or None)


class ChatOpenAICompatible(BaseChatModel):
    """Any OpenAI-compatible endpoint as a LangChain chat model, over ``LLMClient``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    client: LLMClient
    temperature: float | None = None
    max_tokens: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **fields: Any) -> ChatOpenAICompatible:
        return cls(
            client=LLMClient.from_settings(settings),
            temperature=settings.llm_temperature,
            **fields,
        )

    @property
    def _llm_type(self) -> str:
        return "openai-compatible-httpx"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        # LangChain puts these into traces and caches' keys: the URL goes masked
        return {"model": self.client.model, "base_url": display_url(self.client.base_url)}

    def _params(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if stop:
            params["stop"] = stop
        params.update(kwargs)
        return {k: v for k, v in params.items() if v is not None}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return _result(self.client.complete(to_wire(messages), **self._params(stop, kwargs)))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        params = self._params(stop, kwargs)
        for event in self.client.stream_events(to_wire(messages), **params):
            if not event.delta and not event.finish_reason:
                continue
            chunk = _chunk(event)
            if run_manager and event.delta:
                run_manager.on_llm_new_token(event.delta, chunk=chunk)
            yield chunk
