"""The LLM client against ``httpx.MockTransport``: wire format, retries, error mapping, key hygiene.

Nothing here opens a socket; the loopback server tests are in tests/integration.
"""

from __future__ import annotations

import email.utils
import inspect
import json
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from assistant.errors import (
    ConfigError,
    LLMAuthError,
    LLMBadResponseError,
    LLMError,
    LLMRateLimitedError,
    LLMRefusedError,
    LLMTimeoutError,
    LLMUnreachableError,
)
from assistant.llm.client import LLMClient
from assistant.llm.errors import HTTPX_ERRORS, map_httpx_error, parse_retry_after
from assistant.llm.retry import RetryPolicy
from assistant.settings import Settings

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


# --------------------------------------------------------------------------- happy paths


def test_complete_sends_openai_request_and_parses_answer() -> None:
    rec = Recorder(httpx.Response(200, json=completion_json("In Brussels.")))
    client = make(rec, default_params={"temperature": 0.0})

    done = client.complete(MESSAGES, max_tokens=50, stop=None)

    assert (done.text, done.finish_reason, done.model) == ("In Brussels.", "stop", "served-model")
    assert done.usage is not None and done.usage.total_tokens == 11
    request = rec.requests[0]
    assert str(request.url) == f"{BASE}/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(request.content)
    assert body == {
        "model": "m",
        "messages": MESSAGES,
        "temperature": 0.0,
        "max_tokens": 50,
        "stream": False,
    }


def test_no_key_means_no_authorization_header_and_usage_is_optional() -> None:
    payload = completion_json()
    del payload["usage"]
    rec = Recorder(httpx.Response(200, json=payload))
    done = make(rec, api_key=None).complete(MESSAGES)
    assert "authorization" not in rec.requests[0].headers
    assert done.usage is None


@pytest.mark.parametrize("split", [None, 1, 7])
@pytest.mark.parametrize(
    "variant",
    ["plain", "usage", "no_done", "empty_deltas", "keepalive", "crlf", "odd_separators", "ids"],
)
def test_stream_tolerates_server_variants(variant: str, split: int | None) -> None:
    text = ["«NATO’s ", "relationship», ", "Україна ", "\u2028line\x85sep"]
    parts: list[bytes] = [chunk(role=True)]
    for piece in text:
        if variant == "empty_deltas":
            parts += [chunk(""), chunk(None)]
        if variant == "keepalive":
            parts.append(b": keep-alive\n\n")
        parts.append(chunk(piece))
    parts.append(chunk(finish="stop"))
    if variant == "usage":
        parts.append(b'data: {"choices": [], "usage": {"prompt_tokens": 3}}\n\n')
    if variant != "no_done":
        parts.append(b"data: [DONE]\n\n")
    if variant == "crlf":
        parts = [p.replace(b"\n", b"\r\n") for p in parts]
    if variant == "odd_separators":
        parts = [p.replace(b"data: ", b"data:").replace(b"\n\n", b"\r\r") for p in parts]
    if variant == "ids":  # fields other than data, and blank lines between events
        parts = [b"id: %d\nretry: 100\nevent: chunk\n" % i + p + b"\n" for i, p in enumerate(parts)]
    rec = Recorder(sse_response(*parts, split=split))

    deltas = list(make(rec).stream(MESSAGES))

    assert deltas == text
    assert json.loads(rec.requests[0].content)["stream"] is True


def test_stream_events_report_finish_reason_and_usage() -> None:
    rec = Recorder(
        sse_response(
            chunk("Hi"),
            chunk(finish="length"),
            b'data: {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}\n\n',
        )
    )
    events = list(make(rec).stream_events(MESSAGES))
    assert [e.delta for e in events] == ["Hi", "", ""]
    assert events[1].finish_reason == "length"
    assert events[2].usage is not None and events[2].usage.completion_tokens == 1


def test_stream_from_a_server_that_ignores_stream_true() -> None:
    rec = Recorder(httpx.Response(200, json=completion_json("whole answer")))
    assert list(make(rec).stream(MESSAGES)) == ["whole answer"]


def test_stream_that_ends_before_finishing_is_a_bad_response() -> None:
    rec = Recorder(sse_response(chunk(role=True), chunk("half an ans")))
    seen: list[str] = []
    with pytest.raises(LLMBadResponseError, match="ended before the answer was finished"):
        for delta in make(rec).stream(MESSAGES):
            seen.append(delta)
    assert seen == ["half an ans"]


def test_error_event_mid_stream_is_a_bad_response() -> None:
    rec = Recorder(sse_response(chunk("a"), b'data: {"error": {"message": "model crashed"}}\n\n'))
    with pytest.raises(LLMBadResponseError, match="model crashed"):
        list(make(rec).stream(MESSAGES))


@pytest.mark.parametrize(
    "body",
    [
        b'{"choices": [{"message": {"content": "half',
        b"[1, 2]",
        b'{"choices": []}',
        b'{"choices": [{"message": {"content": 5}}]}',
        b"<html>gateway</html>",
        b"[" * 100_000,  # nested deeper than any parser's recursion: a bad response too
        b'{"choices": ' + b"[" * 100_000,
    ],
)
def test_malformed_completion_is_a_bad_response(body: bytes) -> None:
    rec = Recorder(httpx.Response(200, content=body, headers={"content-type": "application/json"}))
    with pytest.raises(LLMBadResponseError):
        make(rec).complete(MESSAGES)


def test_malformed_stream_event_is_a_bad_response() -> None:
    rec = Recorder(sse_response(chunk("ok "), b"data: {not json\n\n", chunk(finish="stop")))
    with pytest.raises(LLMBadResponseError, match="malformed JSON"):
        list(make(rec).stream(MESSAGES))


def test_a_stream_event_nested_too_deep_is_a_bad_response() -> None:
    rec = Recorder(sse_response(chunk("ok "), b"data: " + b"[" * 100_000 + b"\n\n"))
    with pytest.raises(LLMBadResponseError, match="nested too deeply"):
        list(make(rec).stream(MESSAGES))


def test_endless_keepalives_hit_the_total_deadline() -> None:
    def forever() -> Iterator[bytes]:
        for _ in range(5_000_000):  # bounded: the deadline must stop it long before
            yield b": keep-alive\n\n"

    rec = Recorder(
        httpx.Response(200, headers={"content-type": "text/event-stream"}, content=forever())
    )
    started = time.monotonic()
    with pytest.raises(LLMTimeoutError, match="longer than"):
        list(make(rec, total_timeout=0.2).stream(MESSAGES))
    assert time.monotonic() - started < 5


# --------------------------------------------------------------------------- SSE framing


def test_stream_framing_follows_the_spec_byte_by_byte() -> None:
    """Comments and other fields skipped, multi-line data joined, lone CR ends a line, and a last
    event without its blank line still read."""
    first = b'data: {"choices": [{"delta":\r\ndata: {"content": "a"}}]}\r\n'
    second = b'data:{"choices": [{"delta": {"content": "b"}, "finish_reason": "stop"}]}\r'
    raw = b": comment\r\nevent: x\r\n" + first + b"id: 1\r\n\r\n" + second
    rec = Recorder(sse_response(raw, split=1))
    events = list(make(rec).stream_events(MESSAGES))
    assert [e.delta for e in events] == ["a", "b"]
    assert events[-1].finish_reason == "stop"


def test_a_last_event_without_line_break_is_read() -> None:
    rec = Recorder(sse_response(chunk("tail"), b"data: [DONE]"))
    assert list(make(rec).stream(MESSAGES)) == ["tail"]
    rec = Recorder(sse_response(chunk("tail"), chunk(finish="stop").rstrip(b"\n")))
    assert list(make(rec).stream(MESSAGES)) == ["tail"]


def test_events_after_done_are_not_read() -> None:
    rec = Recorder(sse_response(chunk("a"), b"data: [DONE]\n\n", b"data: {not json\n\n"))
    assert list(make(rec).stream(MESSAGES)) == ["a"]


def test_a_stream_without_a_content_type_is_still_read() -> None:
    body = chunk("a") + chunk(finish="stop")
    rec = Recorder(httpx.Response(200, headers={"content-type": "text/plain"}, content=body))
    assert list(make(rec).stream(MESSAGES)) == ["a"]


def test_an_endless_stream_line_is_refused() -> None:
    rec = Recorder(sse_response(b"data: " + b"x" * 2_000_000, split=100_000))
    with pytest.raises(LLMBadResponseError, match="longer than 1 MiB"):
        list(make(rec).stream(MESSAGES))


# --------------------------------------------------------------------------- retries


def test_429_honours_retry_after_then_succeeds() -> None:
    sleeps = Sleeps()
    rec = Recorder(
        httpx.Response(429, headers={"retry-after": "4"}),
        httpx.Response(200, json=completion_json("ok")),
    )
    assert make(rec, sleeps).complete(MESSAGES).text == "ok"
    assert sleeps == [4.0]
    assert len(rec.requests) == 2


@pytest.mark.parametrize("wait", ["6", "3600"])
def test_a_long_retry_after_fails_at_once(wait: str) -> None:
    """Beyond a few seconds the answer falls back to the offline one now, not after a wait."""
    sleeps = Sleeps()
    rec = Recorder(
        httpx.Response(429, headers={"retry-after": wait}),
        httpx.Response(200, json=completion_json()),
    )
    with pytest.raises(LLMRateLimitedError):
        make(rec, sleeps).complete(MESSAGES)
    assert sleeps == [] and len(rec.requests) == 1


def test_retry_after_dates_are_understood() -> None:
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8.0 <= (parse_retry_after(in_ten) or 0) <= 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_5xx_backs_off_exponentially_then_gives_up() -> None:
    sleeps = Sleeps()
    rec = Recorder(httpx.Response(500, json={"error": {"message": "overloaded"}}))
    with pytest.raises(LLMBadResponseError, match=r"HTTP 500: overloaded"):
        make(rec, sleeps, max_retries=3).complete(MESSAGES)
    assert len(rec.requests) == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_retry_after_on_a_5xx_is_honoured() -> None:
    sleeps = Sleeps()
    rec = Recorder(
        httpx.Response(503, headers={"retry-after": "2"}),
        httpx.Response(200, json=completion_json("ok")),
    )
    assert make(rec, sleeps).complete(MESSAGES).text == "ok"
    assert sleeps == [2.0]


def test_stream_retries_before_the_first_byte() -> None:
    sleeps = Sleeps()
    rec = Recorder(
        httpx.ConnectError("refused"),
        httpx.Response(502),
        sse_response(chunk("ok"), chunk(finish="stop")),
    )
    assert list(make(rec, sleeps).stream(MESSAGES)) == ["ok"]
    assert sleeps == [0.5, 1.0] and len(rec.requests) == 3


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(max_retries=10, backoff_base=0.5, backoff_cap=8.0)
    assert [policy.delay(a, None) for a in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_429_after_all_retries_is_rate_limited_with_retry_after() -> None:
    rec = Recorder(httpx.Response(429, headers={"retry-after": "2"}))
    with pytest.raises(LLMRateLimitedError) as info:
        make(rec).complete(MESSAGES)
    assert info.value.retry_after == 2.0
    assert len(rec.requests) == 3


def test_connect_errors_are_retried_then_unreachable() -> None:
    sleeps = Sleeps()
    rec = Recorder(httpx.ConnectError("refused"))
    with pytest.raises(LLMUnreachableError, match="ASSISTANT_LLM_BASE_URL") as info:
        make(rec, sleeps).complete(MESSAGES)
    assert len(rec.requests) == 3 and sleeps == [0.5, 1.0]
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_refused_connection_is_not_retried() -> None:
    """Nothing listens on the port: fail at once so the fallback answer is not delayed."""
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    sleeps = Sleeps()
    rec = Recorder(refused)
    with pytest.raises(LLMUnreachableError):
        make(rec, sleeps).complete(MESSAGES)
    assert len(rec.requests) == 1 and sleeps == []


def test_connect_error_then_success() -> None:
    rec = Recorder(httpx.ConnectError("refused"), httpx.Response(200, json=completion_json("ok")))
    assert make(rec).complete(MESSAGES).text == "ok"


def test_read_timeout_is_not_retried() -> None:
    rec = Recorder(httpx.ReadTimeout("slow"))
    with pytest.raises(LLMTimeoutError):
        make(rec).complete(MESSAGES)
    assert len(rec.requests) == 1


def test_retries_never_outlast_the_total_deadline() -> None:
    sleeps = Sleeps()
    rec = Recorder(httpx.Response(503, headers={"retry-after": "20"}))
    with pytest.raises(LLMBadResponseError):
        make(rec, sleeps, total_timeout=5).complete(MESSAGES)
    assert sleeps == [] and len(rec.requests) == 1


# --------------------------------------------------------------------------- 4xx


@pytest.mark.parametrize("code", [401, 403])
def test_auth_failures_say_to_check_the_key(code: int) -> None:
    rec = Recorder(httpx.Response(code, json={"error": {"message": "bad key"}}))
    with pytest.raises(LLMAuthError, match="Check ASSISTANT_LLM_API_KEY"):
        make(rec).complete(MESSAGES)
    assert len(rec.requests) == 1


def test_auth_failure_without_a_key_says_to_set_one() -> None:
    rec = Recorder(httpx.Response(401))
    with pytest.raises(LLMAuthError, match="No key was sent: set ASSISTANT_LLM_API_KEY"):
        make(rec, api_key=None).complete(MESSAGES)


def test_other_4xx_is_refused_with_the_server_reason_and_not_retried() -> None:
    rec = Recorder(httpx.Response(400, json={"error": {"message": "context too long"}}))
    with pytest.raises(LLMRefusedError, match="HTTP 400: context too long"):
        make(rec).complete(MESSAGES)
    assert len(rec.requests) == 1


def test_404_hints_at_the_base_url() -> None:
    rec = Recorder(httpx.Response(404, text="not found"))
    with pytest.raises(LLMRefusedError, match="usually ends in /v1"):
        make(rec).complete(MESSAGES)


# --------------------------------------------------------------------------- every httpx error


def _all_httpx_exceptions() -> list[type[Exception]]:
    found = {
        obj for obj in vars(httpx).values() if inspect.isclass(obj) and issubclass(obj, Exception)
    }
    return sorted(found, key=lambda cls: cls.__name__)


def _instance(cls: type[Exception]) -> Exception:
    request = httpx.Request("POST", f"{BASE}/chat/completions")
    if issubclass(cls, httpx.HTTPStatusError):
        return cls("boom", request=request, response=httpx.Response(500, request=request))
    if issubclass(cls, httpx.RequestError):
        return cls("boom", request=request)
    for args in (("boom",), ()):
        try:
            return cls(*args)
        except TypeError:
            continue
    raise AssertionError(f"cannot build {cls.__name__}")


def test_the_exception_list_covers_httpx() -> None:
    classes = _all_httpx_exceptions()
    assert len(classes) >= 25  # the enumeration itself works
    assert all(issubclass(cls, HTTPX_ERRORS) for cls in classes)


@pytest.mark.parametrize("cls", _all_httpx_exceptions(), ids=lambda c: c.__name__)
def test_every_httpx_exception_is_mapped(cls: type[Exception]) -> None:
    exc = _instance(cls)
    client = make(Recorder(exc), max_retries=0)
    with pytest.raises(LLMError) as completing:
        client.complete(MESSAGES)
    assert completing.value.__cause__ is exc
    with pytest.raises(LLMError) as streaming:
        list(client.stream(MESSAGES))
    assert streaming.value.__cause__ is exc
    assert isinstance(map_httpx_error(exc, where=BASE), LLMError)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectTimeout("t"), LLMTimeoutError),
        (httpx.ReadTimeout("t"), LLMTimeoutError),
        (httpx.PoolTimeout("t"), LLMTimeoutError),
        (httpx.ConnectError("c"), LLMUnreachableError),
        (httpx.UnsupportedProtocol("u"), LLMUnreachableError),
        (httpx.RemoteProtocolError("r"), LLMBadResponseError),
        (httpx.ReadError("r"), LLMBadResponseError),
        (httpx.DecodingError("d"), LLMBadResponseError),
    ],
)
def test_httpx_errors_map_to_the_right_branch(exc: Exception, expected: type) -> None:
    assert type(map_httpx_error(exc, where=BASE)) is expected


def test_mid_stream_read_error_is_mapped() -> None:
    def broken() -> Iterator[bytes]:
        yield chunk("partial ")
        raise httpx.ReadError("connection reset")

    rec = Recorder(
        httpx.Response(200, headers={"content-type": "text/event-stream"}, content=broken())
    )
    seen: list[str] = []
    with pytest.raises(LLMBadResponseError, match="broke off mid-answer"):
        for delta in make(rec).stream(MESSAGES):
            seen.append(delta)
    assert seen == ["partial "]


# --------------------------------------------------------------------------- the key never leaks


def _echo_key(code: int) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        said = f"key {request.headers['authorization']} rejected"
        return httpx.Response(code, json={"error": {"message": said}})

    return handler


@pytest.mark.parametrize("code", [400, 401, 404, 429, 500, 503])
def test_key_never_appears_in_errors_or_logs(code: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = make(Recorder(_echo_key(code)))
    with pytest.raises(LLMError) as info:
        client.complete(MESSAGES)
    error = info.value
    shown = [
        str(error),
        repr(error),
        "".join(traceback.format_exception(error)),
        caplog.text,
        repr(client),
    ]
    assert caplog.records or code not in (429, 500, 503)  # retries were logged
    for text in shown:
        assert KEY not in text
    assert "****" in str(error) or code in (401, 403)


def test_key_never_appears_in_a_mid_stream_error() -> None:
    rec = Recorder(
        sse_response(chunk("a"), f'data: {{"error": {{"message": "leaked {KEY}"}}}}\n\n'.encode())
    )
    with pytest.raises(LLMBadResponseError) as info:
        list(make(rec).stream(MESSAGES))
    assert KEY not in str(info.value)


def test_key_never_appears_in_unreachable_errors_with_credentials_in_the_url() -> None:
    rec = Recorder(httpx.ConnectError(f"could not connect with {KEY}"))
    client = make(rec, base_url="http://user:pass@llm.test/v1", max_retries=0)
    with pytest.raises(LLMUnreachableError) as info:
        client.complete(MESSAGES)
    assert KEY not in str(info.value) and "pass" not in str(info.value)
    assert "pass" not in repr(client)


# --------------------------------------------------------------------------- health, settings


def test_health_lists_models_then_really_chats() -> None:
    rec = Recorder(
        httpx.Response(200, json={"data": [{"id": "m"}, {"id": "other"}]}),
        httpx.Response(200, json=completion_json("O")),
    )
    health = make(rec).health()
    assert health and "2 model(s), 'm' among them" in health.detail
    assert "1-token chat" in health.detail
    assert rec.requests[0].method == "GET" and rec.requests[0].url.path == "/v1/models"
    assert rec.requests[1].url.path == "/v1/chat/completions"
    assert json.loads(rec.requests[1].content)["max_tokens"] == 1


def test_health_of_a_model_served_under_another_name_is_no_fault() -> None:
    """llama.cpp lists its file's name and answers for any model name: the check says so
    plainly instead of sounding like a problem."""
    rec = Recorder(
        httpx.Response(200, json={"data": [{"id": f"file-{i}.gguf"} for i in range(5)]}),
        httpx.Response(200, json=completion_json("O")),
    )
    health = make(rec).health()
    assert health.ok
    assert "lists 5 model(s) ('file-0.gguf', 'file-1.gguf', 'file-2.gguf', …)" in health.detail
    assert "answered for 'm' anyway" in health.detail and "not listed" not in health.detail


def test_health_fails_when_models_work_but_chat_does_not() -> None:
    rec = Recorder(
        httpx.Response(200, json={"data": [{"id": "m"}]}),
        httpx.Response(500, json={"error": {"message": "model failed to load"}}),
    )
    health = make(rec).health()
    assert not health and "model failed to load" in health.detail


def test_health_falls_back_to_a_one_token_completion() -> None:
    rec = Recorder(httpx.Response(404), httpx.Response(200, json=completion_json("O")))
    health = make(rec).health()
    assert health.ok and "1-token" in health.detail
    assert json.loads(rec.requests[1].content)["max_tokens"] == 1


@pytest.mark.parametrize(
    ("script", "needle"),
    [
        ((httpx.Response(401),), "ASSISTANT_LLM_API_KEY"),
        ((httpx.ConnectError("refused"),), "Could not reach"),
        ((httpx.Response(404), httpx.Response(500)), "HTTP 500"),
    ],
)
def test_health_failures_explain_themselves(script: tuple[Any, ...], needle: str) -> None:
    rec = Recorder(*script)
    health = make(rec).health()
    assert not health and needle in health.detail
    assert len(rec.requests) == len(script)  # no retries in a health check


def test_from_settings_uses_every_llm_setting() -> None:
    settings = Settings(
        llm_base_url="http://127.0.0.1:9/v1/",
        llm_model="tiny",
        llm_api_key=KEY,
        llm_connect_timeout=1.5,
        llm_read_timeout=4.0,
        llm_max_retries=1,
        llm_temperature=0.3,
    )
    rec = Recorder(httpx.Response(200, json=completion_json()))
    client = LLMClient.from_settings(settings, transport=httpx.MockTransport(rec))
    client.complete(MESSAGES)
    body = json.loads(rec.requests[0].content)
    assert (body["model"], body["temperature"]) == ("tiny", 0.3)
    assert rec.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert str(rec.requests[0].url) == "http://127.0.0.1:9/v1/chat/completions"
    assert (client.connect_timeout, client.read_timeout, client.retry.max_retries) == (1.5, 4.0, 1)
    assert KEY not in repr(client)


def test_from_settings_without_an_endpoint_says_what_to_set() -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_LLM_BASE_URL"):
        LLMClient.from_settings(Settings())


def test_health_and_complete_report_a_forbidden_key() -> None:
    rec = Recorder(httpx.Response(403), httpx.Response(403))
    client = make(rec)
    health = client.health()
    assert not health and "ASSISTANT_LLM_API_KEY" in health.detail
    with pytest.raises(LLMAuthError):
        client.complete(MESSAGES)


def test_bad_configuration_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        LLMClient(base_url="127.0.0.1:8080/v1", model="m")
    with pytest.raises(ConfigError):
        LLMClient(base_url=BASE, model="m", read_timeout=0)
