"""The LLM client's errors against ``httpx.MockTransport``: 4xx answers, every httpx failure
mapped to the product's error tree, and the key never leaking into a message or a log.

Nothing here opens a socket.
"""

from __future__ import annotations

import inspect
import json
import logging
import traceback
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from assistant.errors import (
    ConfigError,
    LLMAuthError,
    LLMBadResponseError,
    LLMError,
    LLMRefusedError,
    LLMTimeoutError,
    LLMUnreachableError,
)
from assistant.llm.client import LLMClient
from assistant.llm.errors import HTTPX_ERRORS, map_httpx_error
from assistant.settings import Settings
from tests.mock_llm import (
    BASE,
    KEY,
    MESSAGES,
    Handler,
    Recorder,
    chunk,
    completion_json,
    make,
    sse_response,
)

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
