"""A small client for OpenAI-compatible Chat Completions endpoints, over httpx.

Why not the openai SDK: the product talks to whatever answers ``POST {base_url}/chat/completions``
(vLLM, llama.cpp server, Ollama, OpenAI), and those servers differ in the details of their
streams (``usage`` or not, ``[DONE]`` or not, role-only and empty deltas, keep-alive comments).
Owning the parsing lets us tolerate every variant, bound every wait, and turn every failure into
one of the typed errors of ``assistant.errors``. The pieces live beside this module, each with
one job: ``wire`` (the JSON in and out), ``stream`` (server-sent events, by httpx-sse),
``retry`` (when to try again, by tenacity) and ``errors`` (httpx failures to typed errors, with
the tree). This module holds the one client that joins them.

Every call has one total deadline (``total_timeout``), counted from the call's start through
retries, waits and the last byte of the answer, on top of httpx's connect and read timeouts.

The API key travels only in the ``Authorization`` header. Every message this module builds from
server text is passed through ``_redact``, so the key cannot leak through a server that echoes
it back.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from assistant.errors import (
    ConfigError,
    LLMBadResponseError,
    LLMError,
    LLMTimeoutError,
    LLMUnreachableError,
)
from assistant.llm.errors import HTTPX_ERRORS, StatusError, map_httpx_error
from assistant.llm.retry import RetryPolicy
from assistant.llm.stream import iter_events
from assistant.llm.wire import Completion, Health, Message, StreamEvent, parse_completion
from assistant.settings import display_url, url_secrets

if TYPE_CHECKING:
    from assistant.settings import Settings

# Completion, Health, Message, RetryPolicy and StreamEvent are re-exported: callers written
# before the split import them from here.
__all__ = ["Completion", "Health", "LLMClient", "Message", "RetryPolicy", "StreamEvent"]

MAX_BODY_BYTES = 8 * 1024 * 1024  # no chat answer is this big; a server that says so is broken
MAX_ERROR_BODY_BYTES = 64 * 1024  # the start of an error body is enough to explain it

HEALTH_PROBE: list[Message] = [{"role": "user", "content": "Reply with OK."}]


class LLMClient:
    """Blocking client. Thread-safe (one ``httpx.Client`` shared); close it or use ``with``.

    ``transport`` lets tests put ``httpx.MockTransport`` underneath; ``sleep`` lets them see
    the waits between retries without waiting.
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 30.0,
        max_retries: int = 2,
        total_timeout: float = 300.0,
        retry: RetryPolicy | None = None,
        default_params: Mapping[str, Any] | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url or urlsplit(base_url).scheme not in {"http", "https"}:
            raise ConfigError(
                "The LLM base URL must be an http(s) URL such as http://127.0.0.1:8080/v1 "
                "(ASSISTANT_LLM_BASE_URL)."
            )
        if max_retries < 0 or connect_timeout <= 0 or read_timeout <= 0 or total_timeout <= 0:
            raise ConfigError("LLM timeouts must be positive and max_retries not negative.")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key or None
        self._secrets = [s for s in [self._api_key, *url_secrets(base_url)] if s]
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.retry = dataclasses.replace(retry or RetryPolicy(), max_retries=max_retries)
        self.default_params = dict(default_params or {})
        self._where = display_url(self.base_url)
        self._sleep = sleep
        self._http = httpx.Client(
            transport=transport, timeout=self._timeout(), headers=self._headers()
        )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> LLMClient:
        """A client for the configured endpoint; ConfigError if none is configured."""
        if not settings.llm_base_url:
            raise ConfigError(
                "No LLM endpoint is configured: set ASSISTANT_LLM_BASE_URL "
                "(for example http://127.0.0.1:8080/v1)."
            )
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        options: dict[str, Any] = {
            "base_url": settings.llm_base_url,
            "model": settings.llm_model,
            "api_key": key,
            "connect_timeout": settings.llm_connect_timeout,
            "read_timeout": settings.llm_read_timeout,
            "max_retries": settings.llm_max_retries,
            "total_timeout": settings.llm_total_timeout,
            "default_params": {"temperature": settings.llm_temperature},
        }
        return cls(**{**options, **overrides})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"{type(self).__name__}(base_url={self._where!r}, model={self.model!r}, key={key})"

    # public -----------------------------------------------------------------

    def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        """One whole answer. ``params`` (temperature, max_tokens, stop...) go into the body."""
        return self._complete(messages, params, self.retry)

    def stream(self, messages: Sequence[Message], **params: Any) -> Iterator[str]:
        """The answer's text as it arrives (non-empty deltas only). Lazy: sends on first next()."""
        for event in self.stream_events(messages, **params):
            if event.delta:
                yield event.delta

    def stream_events(self, messages: Sequence[Message], **params: Any) -> Iterator[StreamEvent]:
        """Every parsed event, with finish reason and usage; raises if the stream is cut."""
        body = self._body(messages, stream=True, params=params)
        deadline = time.monotonic() + self.total_timeout
        try:
            response = self._send(body, deadline, self.retry)
            try:
                if _content_is_json(response):  # a server that ignored stream=true
                    done = parse_completion(
                        self._read(response, deadline), self.model, self._redact
                    )
                    yield StreamEvent(done.text, done.finish_reason, done.usage, done.model)
                    return
                yield from iter_events(
                    response,
                    where=self._where,
                    check_deadline=functools.partial(self._check_deadline, deadline),
                    redact=self._redact,
                )
            finally:
                response.close()
        except HTTPX_ERRORS as exc:
            raise self._map(exc) from exc

    def health(self) -> Health:
        """Does the endpoint answer a chat? ``GET /models`` says what it lists, then a real
        1-token chat completion decides: a server whose listing works but whose chat fails is
        not healthy. Never raises for endpoint failures: the outcome and its one-sentence
        reason are in the result."""
        try:
            listing = self._models_health(self._http.get(self._url("models")))
        except HTTPX_ERRORS as exc:
            error = self._map(exc)
            if isinstance(error, LLMUnreachableError | LLMTimeoutError):
                return Health(False, str(error))
            listing = None  # the listing failed oddly: the chat may still work
        if listing is not None and not listing.ok:
            return listing  # refused our key: a chat would be refused too
        no_retries = dataclasses.replace(self.retry, max_retries=0)
        try:  # a health check reports; it does not wait for a recovery
            self._complete(HEALTH_PROBE, {"max_tokens": 1}, no_retries)
        except LLMError as error:
            return Health(False, str(error))
        listed = f" ({listing.detail.removesuffix('.')})" if listing is not None else ""
        return Health(True, f"{self._where} answered a 1-token chat completion{listed}.")

    # internals --------------------------------------------------------------

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout,
            write=self.read_timeout,
            pool=self.connect_timeout,
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json, text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _body(
        self, messages: Sequence[Message], *, stream: bool, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        if not messages:
            raise ValueError("At least one message is needed.")
        body: dict[str, Any] = {"model": self.model, "messages": [dict(m) for m in messages]}
        body.update(self.default_params)
        body.update({k: v for k, v in params.items() if v is not None})
        body["stream"] = stream
        return body

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "****")
        return text

    def _map(self, exc: Exception) -> LLMError:
        return map_httpx_error(exc, where=self._where, redact=self._redact)

    def _check_deadline(self, deadline: float) -> None:
        if time.monotonic() > deadline:
            raise LLMTimeoutError(
                f"The LLM endpoint at {self._where} took longer than {self.total_timeout:g} s."
            )

    def _complete(
        self, messages: Sequence[Message], params: Mapping[str, Any], retry: RetryPolicy
    ) -> Completion:
        body = self._body(messages, stream=False, params=params)
        deadline = time.monotonic() + self.total_timeout
        try:
            response = self._send(body, deadline, retry)
            try:
                raw = self._read(response, deadline)
            finally:
                response.close()
        except HTTPX_ERRORS as exc:
            raise self._map(exc) from exc
        return parse_completion(raw, self.model, self._redact)

    def _send(self, body: dict[str, Any], deadline: float, retry: RetryPolicy) -> httpx.Response:
        """POST under the retry policy; an open 2xx streaming response (the caller closes it).

        Raises the last failure as httpx raised it (a non-2xx answer as a ``StatusError``), for
        the caller's one ``except`` to map.
        """
        retrying = retry.retrying(deadline=deadline, sleep=self._sleep, clock=time.monotonic)
        return retrying(self._post, body, deadline)

    def _post(self, body: dict[str, Any], deadline: float) -> httpx.Response:
        """One attempt."""
        request = self._http.build_request("POST", self._url("chat/completions"), json=body)
        response = self._http.send(request, stream=True)
        if response.is_success:
            return response
        try:
            raw = self._read(response, deadline, limit=MAX_ERROR_BODY_BYTES)
        finally:
            response.close()
        raise StatusError(response, raw)

    def _read(
        self, response: httpx.Response, deadline: float, limit: int = MAX_BODY_BYTES
    ) -> bytes:
        parts: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            self._check_deadline(deadline)
            size += len(chunk)
            if size > limit:
                if limit < MAX_BODY_BYTES:
                    break  # an error body: the start is enough to explain it
                raise LLMBadResponseError("The LLM endpoint sent an answer larger than 8 MiB.")
            parts.append(chunk)
        return b"".join(parts)

    def _models_health(self, response: httpx.Response) -> Health | None:
        """Health from ``GET /models``; None when the endpoint has no such listing."""
        if response.status_code in (401, 403):
            return Health(False, str(self._map(StatusError(response, response.content))))
        if not response.is_success:
            return None
        try:
            payload = response.json()
            ids = [m.get("id") for m in payload.get("data", []) if isinstance(m, Mapping)]
        except (ValueError, AttributeError, TypeError):
            return None
        if self.model in ids:
            return Health(True, f"it lists {len(ids)} model(s), {self.model!r} among them")
        # shown only after the chat for this model succeeded: llama.cpp, for one, lists its
        # file's name and answers under any name, which is no fault
        names = ", ".join(repr(i) for i in ids[:3]) + (", …" if len(ids) > 3 else "")
        return Health(
            True, f"it lists {len(ids)} model(s) ({names}) and answered for {self.model!r} anyway"
        )


def _content_is_json(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.split(";")[0].strip() == "application/json"
