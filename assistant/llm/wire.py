"""The Chat Completions wire format: what goes out, what comes back, and how it is parsed.

Pure data and pure functions, no I/O, so every server variant is tested on bytes alone. The
parsers are lenient where servers legitimately differ (``usage`` or not, role-only and empty
deltas, ``content: null``) and strict where a wrong guess would put garbage in front of a user:
anything that is not the expected shape is an ``LLMBadResponseError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from assistant.errors import LLMBadResponseError

Message = Mapping[str, str]
"""One chat message as the API wants it: ``{"role": "user", "content": "..."}``."""

Redact = Callable[[str], str]
"""Cleans server text quoted in an error: a server may echo the API key back."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts, when the server reports them (many streaming servers do not)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """A whole answer: its text, why it stopped, what it cost, and which model wrote it."""

    text: str
    finish_reason: str | None
    usage: Usage | None
    model: str


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One parsed server-sent event of a streamed answer. ``delta`` may be empty."""

    delta: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Health:
    """The outcome of ``health()``: truthy when the endpoint answers; ``detail`` says why not."""

    ok: bool
    detail: str

    def __bool__(self) -> bool:
        return self.ok


def _parse_usage(raw: Any) -> Usage | None:
    if not isinstance(raw, Mapping):
        return None

    def _int(name: str) -> int | None:
        value = raw.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return Usage(_int("prompt_tokens"), _int("completion_tokens"), _int("total_tokens"))


def loads(data: str | bytes, what: str) -> Any:
    """``data`` parsed as JSON: ValueError when it is not JSON, LLMBadResponseError when it is
    nested too deeply to parse.

    Why the depth needs its own error: Python's parser recurses once per level, so ``[``
    repeated 100,000 times raises RecursionError, which no ``except ValueError`` catches and
    which would end the program instead of falling back to the offline answer.
    """
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise LLMBadResponseError(
            f"The LLM endpoint sent JSON nested too deeply to read ({what})."
        ) from exc


def _loads(data: str | bytes, what: str) -> Any:
    try:
        return loads(data, what)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LLMBadResponseError(f"The LLM endpoint sent malformed JSON ({what}).") from exc


def server_error_message(payload: Any) -> str | None:
    """The human part of an OpenAI-style ``{"error": {"message": ...}}`` body, if any.

    Servers put their reason there on failed statuses and, mid-stream, in a data event: the
    status mapping and both parsers below read it the same way.
    """
    if not isinstance(payload, Mapping):
        return None
    error = payload.get("error")
    if isinstance(error, Mapping):
        message = error.get("message")
        return str(message) if message else None
    if isinstance(error, str):
        return error
    return None


def parse_completion(raw: bytes, default_model: str, redact: Redact = str) -> Completion:
    """A non-streamed Chat Completions body to a ``Completion``; LLMBadResponseError if odd.

    ``default_model`` stands in when the server does not say which model answered.
    """
    payload = _loads(raw, "completion")
    if not isinstance(payload, Mapping):
        raise LLMBadResponseError("The LLM endpoint sent JSON that is not a completion object.")
    message = server_error_message(payload)
    if message is not None:
        raise LLMBadResponseError(redact(f"The LLM endpoint reported an error: {message}"))
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise LLMBadResponseError("The LLM endpoint sent a completion without choices.")
    choice = choices[0]
    msg = choice.get("message")
    if not isinstance(msg, Mapping):
        raise LLMBadResponseError("The LLM endpoint sent a choice without a message.")
    content = msg.get("content")
    if content is not None and not isinstance(content, str):
        raise LLMBadResponseError("The LLM endpoint sent a message whose content is not text.")
    model = payload.get("model")
    return Completion(
        text=content or "",
        finish_reason=choice.get("finish_reason"),
        usage=_parse_usage(payload.get("usage")),
        model=model if isinstance(model, str) and model else default_model,
    )


def parse_stream_event(data: str, redact: Redact = str) -> StreamEvent | None:
    """The ``data`` of one server-sent event to a ``StreamEvent``; None for ``[DONE]``.

    Tolerates usage-only chunks (empty ``choices``), role-only deltas, ``content: null``.
    """
    if data.strip() == "[DONE]":
        return None
    payload = _loads(data, "stream event")
    if not isinstance(payload, Mapping):
        raise LLMBadResponseError("The LLM endpoint sent a stream event that is not an object.")
    message = server_error_message(payload)
    if message is not None:
        raise LLMBadResponseError(
            redact(f"The LLM endpoint reported an error mid-stream: {message}")
        )
    delta = ""
    finish_reason = None
    choices = payload.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
        choice = choices[0]
        raw_delta = choice.get("delta")
        if isinstance(raw_delta, Mapping):
            content = raw_delta.get("content")
            delta = content if isinstance(content, str) else ""
        finish_reason = choice.get("finish_reason") or None
    model = payload.get("model")
    return StreamEvent(
        delta=delta,
        finish_reason=finish_reason,
        usage=_parse_usage(payload.get("usage")),
        model=model if isinstance(model, str) else None,
    )
