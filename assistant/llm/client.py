"""A small client for OpenAI-compatible Chat Completions endpoints, over httpx.

Why not the openai SDK: the product talks to whatever answers ``POST {base_url}/chat/completions``
(vLLM, llama.cpp server, Ollama, OpenAI), and those servers differ in the details of their
streams (``usage`` or not, ``[DONE]`` or not, role-only and empty deltas, keep-alive comments).
Owning the few hundred lines that parse them lets us tolerate every variant, bound every wait,
and turn every failure into one of the typed errors of ``assistant.errors``:

    httpx.TimeoutException                           -> LLMTimeoutError
    httpx.ConnectError, ProxyError, WriteError,
      UnsupportedProtocol, InvalidURL                -> LLMUnreachableError
    429 after the retries                            -> LLMRateLimitedError (with retry_after)
    401 / 403                                        -> LLMAuthError (check ASSISTANT_LLM_API_KEY)
    other 4xx                                        -> LLMRefusedError
    5xx after the retries, malformed JSON, a cut
      stream, any other httpx error                  -> LLMBadResponseError

Retries (bounded, exponential backoff with a cap, a ``Retry-After`` header on 429 or 5xx
honoured up to a cap) happen only before the first byte of an answer: on 429, 5xx and failed
connects. A stream is never
retried once text has been handed out, so the caller never sees text twice.

The API key travels only in the ``Authorization`` header. Every message this module builds is
passed through ``_redact``, so the key cannot leak through a server that echoes it back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx

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

if TYPE_CHECKING:
    from assistant.settings import Settings

log = logging.getLogger(__name__)

Message = Mapping[str, str]
"""One chat message as the API wants it: ``{"role": "user", "content": "..."}``."""

HTTPX_ERRORS: tuple[type[Exception], ...] = (
    httpx.HTTPError,
    httpx.InvalidURL,
    httpx.CookieConflict,
    httpx.StreamError,
)
"""Every exception httpx raises on purpose; each is mapped by ``map_httpx_error``."""

MAX_BODY_BYTES = 8 * 1024 * 1024  # no chat answer is this big; a server that says so is broken
MAX_LINE_BYTES = 1024 * 1024  # one SSE line; guards memory against a server that never sends \n
MAX_ERROR_DETAIL = 200  # characters of a server's error message quoted back to the user


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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait before trying again (429, 5xx, failed connects)."""

    max_retries: int = 2
    backoff_base: float = 0.5  # seconds before the first retry; doubles each time
    backoff_cap: float = 8.0  # no single backoff is longer than this
    retry_after_cap: float = 30.0  # a server asking for longer than this is not waited for fully

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        return min(self.backoff_cap, self.backoff_base * (2**attempt))


# --------------------------------------------------------------------------- wire format


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _parse_usage(raw: Any) -> Usage | None:
    if not isinstance(raw, Mapping):
        return None

    def _int(name: str) -> int | None:
        value = raw.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return Usage(_int("prompt_tokens"), _int("completion_tokens"), _int("total_tokens"))


def _loads(data: str | bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LLMBadResponseError(f"The LLM endpoint sent malformed JSON ({what}).") from exc


def _server_error_message(payload: Any) -> str | None:
    """The human part of an OpenAI-style ``{"error": {"message": ...}}`` body, if any."""
    if not isinstance(payload, Mapping):
        return None
    error = payload.get("error")
    if isinstance(error, Mapping):
        message = error.get("message")
        return str(message) if message else None
    if isinstance(error, str):
        return error
    return None


def parse_completion(
    raw: bytes, default_model: str, redact: Callable[[str], str] = str
) -> Completion:
    """A non-streamed Chat Completions body to a ``Completion``; LLMBadResponseError if odd.

    ``redact`` cleans any server text quoted in an error (a server may echo the key).
    """
    payload = _loads(raw, "completion")
    if not isinstance(payload, Mapping):
        raise LLMBadResponseError("The LLM endpoint sent JSON that is not a completion object.")
    message = _server_error_message(payload)
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


def parse_stream_event(data: str, redact: Callable[[str], str] = str) -> StreamEvent | None:
    """The ``data`` of one server-sent event to a ``StreamEvent``; None for ``[DONE]``.

    Tolerates usage-only chunks (empty ``choices``), role-only deltas, ``content: null``.
    """
    if data.strip() == "[DONE]":
        return None
    payload = _loads(data, "stream event")
    if not isinstance(payload, Mapping):
        raise LLMBadResponseError("The LLM endpoint sent a stream event that is not an object.")
    message = _server_error_message(payload)
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


class SSEDecoder:
    """Bytes in, event ``data`` strings out, per the server-sent events spec.

    Lines end at ``\\r\\n``, ``\\n`` or ``\\r`` only. (httpx's ``iter_lines`` also splits at
    U+2028, U+0085 and friends, which servers emitting raw UTF-8 JSON put inside strings.)
    Comment lines (``: keep-alive``) and fields other than ``data`` are skipped.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        self._buffer += chunk
        events: list[str] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                break
            end, next_start = cut
            line = self._buffer[:end]
            self._buffer = self._buffer[next_start:]
            event = self._line(line.decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
        if len(self._buffer) > MAX_LINE_BYTES:
            raise LLMBadResponseError("The LLM endpoint sent a stream line longer than 1 MiB.")
        return events

    def flush(self) -> list[str]:
        """Events left when the body ends without the final blank line (some servers do)."""
        events = []
        if self._buffer:
            line = self._buffer[:-1] if self._buffer.endswith(b"\r") else self._buffer
            event = self._line(line.decode("utf-8", errors="replace"))
            self._buffer = b""
            if event is not None:
                events.append(event)
        if self._data:
            events.append("\n".join(self._data))
            self._data = []
        return events

    def _line(self, line: str) -> str | None:
        if line == "":
            if not self._data:
                return None
            data, self._data = "\n".join(self._data), []
            return data
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        return None


def _line_end(buffer: bytes) -> tuple[int, int] | None:
    """(end of the first line, start of the next) or None if no full line yet.

    A trailing lone ``\\r`` waits for more bytes, in case a ``\\n`` follows in the next chunk.
    """
    n, r = buffer.find(b"\n"), buffer.find(b"\r")
    if n == -1 and (r == -1 or r == len(buffer) - 1):
        return None
    if r != -1 and (n == -1 or r < n):
        return (r, r + 2) if buffer[r + 1 : r + 2] == b"\n" else (r, r + 1)
    return n, n + 1


class EventParser:
    """Body bytes of a streamed answer in, ``StreamEvent``s out; knows when the answer ended.

    The answer ended cleanly at ``[DONE]`` or, for servers that never send it, at the end of the
    body after a choice carried a ``finish_reason``. A body that ends before either is a cut
    stream.
    """

    def __init__(self, where: str, redact: Callable[[str], str] = str) -> None:
        self._sse = SSEDecoder()
        self._where = where
        self._redact = redact
        self.done = False  # [DONE] seen: stop reading
        self.finished = False  # a finish_reason seen

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        return self._events(self._sse.feed(chunk))

    def close(self) -> list[StreamEvent]:
        """Events left at the end of the body; LLMBadResponseError if the answer was cut."""
        events = self._events(self._sse.flush())
        if not (self.done or self.finished):
            raise LLMBadResponseError(
                f"The LLM stream from {self._where} ended before the answer was finished."
            )
        return events

    def _events(self, datas: list[str]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for data in datas:
            if self.done:
                break
            event = parse_stream_event(data, self._redact)
            if event is None:
                self.done = True
                break
            self.finished = self.finished or event.finish_reason is not None
            events.append(event)
        return events


# --------------------------------------------------------------------------- errors


def _display_url(url: str) -> str:
    """The URL without any user:password part, safe to show."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def map_httpx_error(exc: Exception, *, where: str) -> LLMError:
    """One typed error for any exception httpx raises (the caller adds ``from exc``)."""
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connecting",
            httpx.ReadTimeout: "waiting for the answer",
            httpx.WriteTimeout: "sending the question",
            httpx.PoolTimeout: "waiting for a free connection",
        }.get(type(exc), "waiting")
        return LLMTimeoutError(f"The LLM endpoint at {where} timed out while {phase}.")
    unreachable = (
        httpx.ConnectError,
        httpx.ProxyError,
        httpx.UnsupportedProtocol,
        httpx.InvalidURL,
        httpx.WriteError,
    )
    if isinstance(exc, unreachable):
        return LLMUnreachableError(
            f"Could not reach the LLM endpoint at {where} ({reason}). "
            "Check ASSISTANT_LLM_BASE_URL and that the server is running."
        )
    if isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError | httpx.CloseError):
        return LLMBadResponseError(
            f"The connection to the LLM endpoint at {where} broke off mid-answer ({reason})."
        )
    return LLMBadResponseError(
        f"The LLM endpoint at {where} could not be used ({type(exc).__name__}: {reason})."
    )


def _refused(exc: BaseException) -> bool:
    """The host answered that nothing listens on the port: retrying within seconds only delays
    the fallback answer (1.5 s with the default backoff), so give up at once."""
    seen: BaseException | None = exc
    for _ in range(8):  # walk the cause chain, bounded
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


# --------------------------------------------------------------------------- the clients


class _ClientBase:
    """What the sync and async clients share: configuration, request bodies, status errors."""

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
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.retry = dataclasses.replace(retry or RetryPolicy(), max_retries=max_retries)
        self.default_params = dict(default_params or {})
        self._where = _display_url(self.base_url)

    @classmethod
    def _settings_kwargs(cls, settings: Settings) -> dict[str, Any]:
        if not settings.llm_base_url:
            raise ConfigError(
                "No LLM endpoint is configured: set ASSISTANT_LLM_BASE_URL "
                "(for example http://127.0.0.1:8080/v1)."
            )
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return {
            "base_url": settings.llm_base_url,
            "model": settings.llm_model,
            "api_key": key,
            "connect_timeout": settings.llm_connect_timeout,
            "read_timeout": settings.llm_read_timeout,
            "max_retries": settings.llm_max_retries,
            "default_params": {"temperature": settings.llm_temperature},
        }

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"{type(self).__name__}(base_url={self._where!r}, model={self.model!r}, key={key})"

    # requests ---------------------------------------------------------------

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

    # errors -----------------------------------------------------------------

    def _redact(self, text: str) -> str:
        if self._api_key and self._api_key in text:
            text = text.replace(self._api_key, "****")
        return text

    def _map(self, exc: Exception) -> LLMError:
        error = map_httpx_error(exc, where=self._where)
        return type(error)(self._redact(str(error)))

    def _status_error(self, status: int, headers: httpx.Headers, body: bytes) -> LLMError:
        """The typed error for a non-2xx answer (after any retries)."""
        detail = ""
        try:
            detail = _server_error_message(json.loads(body)) or ""
        except (ValueError, UnicodeDecodeError):
            detail = body.decode("utf-8", errors="replace").strip()
        detail = self._redact(" ".join(detail.split()))[:MAX_ERROR_DETAIL]
        said = f": {detail}" if detail else ""
        if status in (401, 403):
            hint = (
                "Check ASSISTANT_LLM_API_KEY."
                if self._api_key
                else "No key was sent: set ASSISTANT_LLM_API_KEY."
            )
            return LLMAuthError(
                f"The LLM endpoint at {self._where} rejected the API key (HTTP {status}). {hint}"
            )
        if status == 429:
            retry_after = parse_retry_after(headers.get("retry-after"))
            return LLMRateLimitedError(
                self._redact(
                    f"The LLM endpoint at {self._where} is rate limiting requests "
                    f"(HTTP 429{said}). Try again later."
                ),
                retry_after=retry_after,
            )
        if status >= 500:
            return LLMBadResponseError(
                self._redact(f"The LLM endpoint at {self._where} failed (HTTP {status}{said}).")
            )
        if status == 404:
            return LLMRefusedError(
                self._redact(
                    f"The LLM endpoint at {self._where} has no such path (HTTP 404{said}). "
                    "Check ASSISTANT_LLM_BASE_URL: it usually ends in /v1."
                )
            )
        if 400 <= status < 500:
            return LLMRefusedError(
                self._redact(
                    f"The LLM endpoint at {self._where} refused the request (HTTP {status}{said})."
                )
            )
        return LLMBadResponseError(
            self._redact(f"The LLM endpoint at {self._where} answered HTTP {status}{said}.")
        )

    def _check_deadline(self, deadline: float) -> None:
        if time.monotonic() > deadline:
            raise LLMTimeoutError(
                f"The LLM endpoint at {self._where} took longer than {self.total_timeout:g} s."
            )

    def _retry_delay(
        self,
        attempt: int,
        max_retries: int,
        error: LLMError,
        retry_after: float | None,
        deadline: float,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now."""
        if attempt >= max_retries:
            return None
        delay = self.retry.delay(attempt, retry_after)
        if time.monotonic() + delay > deadline:
            return None
        log.warning(
            "LLM request failed (%s); retry %d of %d in %.1f s",
            type(error).__name__,
            attempt + 1,
            max_retries,
            delay,
        )
        return delay

    def _models_health(self, response: httpx.Response) -> Health | None:
        """Health from ``GET /models``; None when the endpoint has no such listing."""
        if response.status_code in (401, 403):
            error = self._status_error(response.status_code, response.headers, response.content)
            return Health(False, str(error))
        if not response.is_success:
            return None
        try:
            payload = response.json()
            ids = [m.get("id") for m in payload.get("data", []) if isinstance(m, Mapping)]
        except (ValueError, AttributeError, TypeError):
            return None
        listed = "" if self.model in ids else f"; model {self.model!r} is not listed"
        return Health(True, f"{self._where} lists {len(ids)} model(s){listed}.")

    def _models_failure(self, exc: Exception) -> Health | None:
        """A failed ``GET /models``: final if the server is not there, else try a completion."""
        error = self._map(exc)
        if isinstance(error, LLMUnreachableError | LLMTimeoutError):
            return Health(False, str(error))
        return None


HEALTH_PROBE: list[Message] = [{"role": "user", "content": "Reply with OK."}]


def _content_is_json(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").split(";")[0].strip() == "application/json"


class LLMClient(_ClientBase):
    """Blocking client. Thread-safe (one ``httpx.Client`` shared); close it or use ``with``."""

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
        super().__init__(
            base_url=base_url,
            model=model,
            api_key=api_key,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_retries=max_retries,
            total_timeout=total_timeout,
            retry=retry,
            default_params=default_params,
        )
        self._sleep = sleep
        self._http = httpx.Client(
            transport=transport, timeout=self._timeout(), headers=self._headers()
        )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> LLMClient:
        """A client for the configured endpoint; ConfigError if none is configured."""
        return cls(**{**cls._settings_kwargs(settings), **overrides})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # public -----------------------------------------------------------------

    def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        """One whole answer. ``params`` (temperature, max_tokens, stop...) go into the body."""
        return self._complete(messages, params, self.retry.max_retries)

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
            response = self._send(body, deadline, self.retry.max_retries)
            try:
                if _content_is_json(response):  # a server that ignored stream=true
                    raw = self._read(response, deadline)
                    done = parse_completion(raw, self.model, self._redact)
                    yield StreamEvent(done.text, done.finish_reason, done.usage, done.model)
                    return
                parser = EventParser(self._where, self._redact)
                for chunk in response.iter_bytes():
                    self._check_deadline(deadline)
                    yield from parser.feed(chunk)
                    if parser.done:
                        return
                yield from parser.close()
            finally:
                response.close()
        except HTTPX_ERRORS as exc:
            raise self._map(exc) from exc

    def health(self) -> Health:
        """Does the endpoint answer? ``GET /models``, else a 1-token completion. Never raises
        for endpoint failures: the outcome and its one-sentence reason are in the result."""
        try:
            verdict = self._models_health(self._http.get(self._url("models")))
        except HTTPX_ERRORS as exc:
            verdict = self._models_failure(exc)
        if verdict is not None:
            return verdict
        try:
            self._complete(HEALTH_PROBE, {"max_tokens": 1}, max_retries=0)
        except LLMError as error:
            return Health(False, str(error))
        return Health(True, f"{self._where} answered a 1-token completion.")

    # internals --------------------------------------------------------------

    def _complete(
        self, messages: Sequence[Message], params: Mapping[str, Any], max_retries: int
    ) -> Completion:
        body = self._body(messages, stream=False, params=params)
        deadline = time.monotonic() + self.total_timeout
        try:
            response = self._send(body, deadline, max_retries)
            try:
                raw = self._read(response, deadline)
            finally:
                response.close()
        except HTTPX_ERRORS as exc:
            raise self._map(exc) from exc
        return parse_completion(raw, self.model, self._redact)

    def _send(self, body: dict[str, Any], deadline: float, max_retries: int) -> httpx.Response:
        """POST with retries; returns an open 2xx streaming response (the caller closes it)."""
        url = self._url("chat/completions")
        for attempt in range(max_retries + 1):
            request = self._http.build_request("POST", url, json=body)
            cause: Exception | None = None
            retry_after: float | None = None
            try:
                response = self._http.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt >= max_retries or _refused(exc):
                    raise
                error, cause = self._map(exc), exc
            else:
                if response.is_success:
                    return response
                try:
                    raw = self._read(response, deadline, limit=64 * 1024)
                finally:
                    response.close()
                error = self._status_error(response.status_code, response.headers, raw)
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if not _retryable_status(response.status_code) or attempt >= max_retries:
                    raise error
            delay = self._retry_delay(attempt, max_retries, error, retry_after, deadline)
            if delay is None:
                raise error from cause
            self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

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


class AsyncLLMClient(_ClientBase):
    """The asyncio twin of ``LLMClient``; same constructor plus an async ``sleep``."""

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
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            base_url=base_url,
            model=model,
            api_key=api_key,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_retries=max_retries,
            total_timeout=total_timeout,
            retry=retry,
            default_params=default_params,
        )
        self._sleep = sleep
        self._transport = transport
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def _http(self) -> httpx.AsyncClient:
        """One httpx client per event loop: pooled connections belong to the loop that opened
        them, and callers (``asyncio.run`` per call, LangChain's ``ainvoke``) may use several."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = httpx.AsyncClient(
                transport=self._transport, timeout=self._timeout(), headers=self._headers()
            )
            self._clients[loop] = client
        return client

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> AsyncLLMClient:
        """A client for the configured endpoint; ConfigError if none is configured."""
        return cls(**{**cls._settings_kwargs(settings), **overrides})

    async def aclose(self) -> None:
        """Close this event loop's connections (those of loops already gone went with them)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    async def __aenter__(self) -> AsyncLLMClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def acomplete(self, messages: Sequence[Message], **params: Any) -> Completion:
        """One whole answer; see ``LLMClient.complete``."""
        return await self._complete(messages, params, self.retry.max_retries)

    async def astream(self, messages: Sequence[Message], **params: Any) -> AsyncIterator[str]:
        """The answer's text as it arrives; see ``LLMClient.stream``."""
        async for event in self.astream_events(messages, **params):
            if event.delta:
                yield event.delta

    async def astream_events(
        self, messages: Sequence[Message], **params: Any
    ) -> AsyncIterator[StreamEvent]:
        """Every parsed event; see ``LLMClient.stream_events``."""
        body = self._body(messages, stream=True, params=params)
        deadline = time.monotonic() + self.total_timeout
        try:
            response = await self._send(body, deadline, self.retry.max_retries)
            try:
                if _content_is_json(response):
                    raw = await self._read(response, deadline)
                    done = parse_completion(raw, self.model, self._redact)
                    yield StreamEvent(done.text, done.finish_reason, done.usage, done.model)
                    return
                parser = EventParser(self._where, self._redact)
                async for chunk in response.aiter_bytes():
                    self._check_deadline(deadline)
                    for event in parser.feed(chunk):
                        yield event
                    if parser.done:
                        return
                for event in parser.close():
                    yield event
            finally:
                await response.aclose()
        except HTTPX_ERRORS as exc:
            raise self._map(exc) from exc

    async def ahealth(self) -> Health:
        """See ``LLMClient.health``."""
        try:
            verdict = self._models_health(await self._http.get(self._url("models")))
        except HTTPX_ERRORS as exc:
            verdict = self._models_failure(exc)
        if verdict is not None:
            return verdict
        try:
            await self._complete(HEALTH_PROBE, {"max_tokens": 1}, max_retries=0)
        except LLMError as error:
            return Health(False, str(error))
        return Health(True, f"{self._where} answered a 1-token completion.")

    async def _complete(
        self, messages: Sequence[Message], params: Mapping[str, Any], max_retries: int
    ) -> Completion:
        body = self._body(messages, stream=False, params=params)
        deadline = time.monotonic() + self.total_timeout
        try:
            response = await self._send(body, deadline, max_retries)
            try:
                raw = await self._read(response, deadline)
            finally:
                await response.aclose()
        except HTTPX_ERRORS as exc:
            raise self._map(exc) from exc
        return parse_completion(raw, self.model, self._redact)

    async def _send(
        self, body: dict[str, Any], deadline: float, max_retries: int
    ) -> httpx.Response:
        url = self._url("chat/completions")
        for attempt in range(max_retries + 1):
            request = self._http.build_request("POST", url, json=body)
            cause: Exception | None = None
            retry_after: float | None = None
            try:
                response = await self._http.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt >= max_retries or _refused(exc):
                    raise
                error, cause = self._map(exc), exc
            else:
                if response.is_success:
                    return response
                try:
                    raw = await self._read(response, deadline, limit=64 * 1024)
                finally:
                    await response.aclose()
                error = self._status_error(response.status_code, response.headers, raw)
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                if not _retryable_status(response.status_code) or attempt >= max_retries:
                    raise error
            delay = self._retry_delay(attempt, max_retries, error, retry_after, deadline)
            if delay is None:
                raise error from cause
            await self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _read(
        self, response: httpx.Response, deadline: float, limit: int = MAX_BODY_BYTES
    ) -> bytes:
        parts: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            self._check_deadline(deadline)
            size += len(chunk)
            if size > limit:
                if limit < MAX_BODY_BYTES:
                    break
                raise LLMBadResponseError("The LLM endpoint sent an answer larger than 8 MiB.")
            parts.append(chunk)
        return b"".join(parts)
