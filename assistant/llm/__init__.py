"""The OpenAI-compatible LLM path: client, prompt, answerer, and a LangChain face.

The client is split by concern: ``wire`` (types and parsing), ``stream`` (server-sent events),
``retry`` (the retry policy), ``errors`` (httpx failures to typed errors), ``client`` (the one
``LLMClient``). Callers import from here.

Quote verification lives in ``assistant.verify``: it is not specific to LLMs.
``ChatOpenAICompatible`` is imported on first use, so the CLI does not pay for LangChain's
import (about 0.4 s) when it only needs the client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.llm.answerer import LLMAnswerer
from assistant.llm.client import LLMClient
from assistant.llm.prompt import REFUSAL, answer_messages, clean_rewrite, rewrite_messages
from assistant.llm.retry import RetryPolicy
from assistant.llm.wire import Completion, Health, Message, StreamEvent, Usage

if TYPE_CHECKING:
    from assistant.llm.chat_model import ChatOpenAICompatible

__all__ = [
    "REFUSAL",
    "ChatOpenAICompatible",
    "Completion",
    "Health",
    "LLMAnswerer",
    "LLMClient",
    "Message",
    "RetryPolicy",
    "StreamEvent",
    "Usage",
    "answer_messages",
    "clean_rewrite",
    "rewrite_messages",
]


def __getattr__(name: str) -> Any:
    if name == "ChatOpenAICompatible":
        from assistant.llm.chat_model import ChatOpenAICompatible

        return ChatOpenAICompatible
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
