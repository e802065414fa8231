"""The LLM client against ``httpx.MockTransport``: wire format, server-sent events, retries.

Nothing here opens a socket; the loopback server tests are in tests/integration. Error mapping
and key hygiene are in test_llm_errors.py.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from assistant.errors import (
    LLMBadResponseError,
    LLMRateLimitedError,
    LLMTimeoutError,
    LLMUnreachableError,
)
from assistant.llm.errors import parse_retry_after
from assistant.llm.retry import RetryPolicy
from tests.mock_llm import (
    BASE,
    KEY,
    MESSAGES,
    Recorder,
    Sleeps,
    chunk,
    completion_json,
    make,
    sse_response,
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
