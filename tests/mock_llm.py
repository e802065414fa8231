"""An LLM client over ``httpx.MockTransport``, for the client's unit tests: scripted responses
and recorded requests, an injected sleep that records its waits, and the JSON and SSE bodies an
OpenAI-compatible server sends. Nothing here opens a socket."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from assistant.llm.client import LLMClient

BASE = "http://llm.test/v1"
KEY = "sk-test-SECRET-0123456789"
MESSAGES = [{"role": "user", "content": "Where is NATO headquartered?"}]

Handler = Callable[[httpx.Request], httpx.Response]


def completion_json(text: str = "Brussels.", **extra: Any) -> dict[str, Any]:
    return {
        "model": "served-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
        **extra,
    }


def chunk(content: str | None = None, finish: str | None = None, role: bool = False) -> bytes:
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = "assistant"
    if content is not None or not role:
        delta["content"] = content
    payload = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


def sse_response(*parts: bytes, split: int | None = None) -> httpx.Response:
    """An SSE response; ``split`` re-chunks the body into pieces of that many bytes."""
    body = b"".join(parts)
    if split:
        pieces = [body[i : i + split] for i in range(0, len(body), split)]
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=iter(pieces)
        )
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


class Recorder:
    """A MockTransport handler that serves scripted responses and records requests."""

    def __init__(self, *responses: httpx.Response | Exception | Handler) -> None:
        self.script = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(item, Exception):
            raise item
        if callable(item) and not isinstance(item, httpx.Response):
            return item(request)
        return item


class Sleeps(list[float]):
    """An injected sleep that records how long it was asked to wait, and does not wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make(recorder: Recorder, sleeps: Sleeps | None = None, **kw: Any) -> LLMClient:
    options: dict[str, Any] = {"base_url": BASE, "model": "m", "api_key": KEY, "max_retries": 2}
    options.update(kw)
    return LLMClient(
        transport=httpx.MockTransport(recorder),
        sleep=Sleeps() if sleeps is None else sleeps,
        **options,
    )
