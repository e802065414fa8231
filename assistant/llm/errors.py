"""How every failure of an LLM call becomes one of the typed errors of ``assistant.errors``.

One function, ``map_httpx_error``, so the client needs a single ``except HTTPX_ERRORS`` and a
test can walk all of httpx's exception classes and check that none is left unmapped. A non-2xx
answer travels as a ``StatusError`` (an ``httpx.HTTPStatusError`` that keeps the start of the
body) until it is mapped, so statuses and transport failures take one path through the retries
and the mapping. The client raises the mapped error ``from`` the httpx exception.

    LLMError
    ├── LLMUnreachableError  httpx.ConnectError, ProxyError, WriteError, UnsupportedProtocol,
    │                        InvalidURL
    ├── LLMTimeoutError      httpx.TimeoutException (connect, read, write, pool);
    │                        the call's total deadline (raised by the client)
    ├── LLMRateLimitedError  HTTP 429 after the retries, ``retry_after`` from its header
    ├── LLMAuthError         HTTP 401 / 403: check ASSISTANT_LLM_API_KEY
    ├── LLMRefusedError      other HTTP 4xx (404 hints at the base URL)
    └── LLMBadResponseError  HTTP 5xx after the retries, any other status; a connection that
                             broke mid-answer (ReadError, RemoteProtocolError, CloseError);
                             every other httpx error; malformed or too deeply nested JSON,
                             cut or oversized streams (raised by ``wire``, ``stream``,
                             ``claims`` and the client)

Only a few hundred characters of what a server said are quoted, and always through ``redact``:
a server may echo the API key back.
"""

from __future__ import annotations

import email.utils
import json
import time

import httpx

from assistant.errors import (
    LLMAuthError,
    LLMBadResponseError,
    LLMError,
    LLMRateLimitedError,
    LLMRefusedError,
    LLMTimeoutError,
    LLMUnreachableError,
)
from assistant.llm.wire import Redact, server_error_message

HTTPX_ERRORS: tuple[type[Exception], ...] = (
    httpx.HTTPError,
    httpx.InvalidURL,
    httpx.CookieConflict,
    httpx.StreamError,
)
"""Every exception httpx raises on purpose; each is mapped by ``map_httpx_error``."""

MAX_ERROR_DETAIL = 200  # characters of a server's error message quoted back to the user

_UNREACHABLE = (
    httpx.ConnectError,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.InvalidURL,
    httpx.WriteError,
)
_BROKE_OFF = (httpx.ReadError, httpx.RemoteProtocolError, httpx.CloseError)
_TIMEOUT_PHASE = {
    httpx.ConnectTimeout: "connecting",
    httpx.ReadTimeout: "waiting for the answer",
    httpx.WriteTimeout: "sending the question",
    httpx.PoolTimeout: "waiting for a free connection",
}


class StatusError(httpx.HTTPStatusError):
    """A non-2xx answer with the start of its body.

    The body is read, bounded, before the connection goes back to the pool: an error page can be
    large, and only its first bytes explain anything. ``HTTPStatusError`` alone could not carry
    them, since a streamed response that was not read whole has no ``content``.
    """

    def __init__(self, response: httpx.Response, body: bytes) -> None:
        super().__init__(
            f"HTTP {response.status_code}", request=response.request, response=response
        )
        self.body = body


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


def retry_after(exc: BaseException | None) -> float | None:
    """The wait a failed status asked for; None for anything else or no header."""
    if isinstance(exc, httpx.HTTPStatusError):
        return parse_retry_after(exc.response.headers.get("retry-after"))
    return None


def is_refused(exc: BaseException) -> bool:
    """The host answered that nothing listens on the port (ECONNREFUSED, somewhere in the
    cause chain: httpx wraps httpcore, which wraps the socket error)."""
    seen: BaseException | None = exc
    for _ in range(8):  # walk the cause chain, bounded
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def map_httpx_error(exc: Exception, *, where: str, redact: Redact = str) -> LLMError:
    """One typed error for any exception httpx raises (the caller adds ``from exc``).

    ``where`` is the endpoint as it may be shown (see ``display_url``). Every part of the
    message that did not come from this module goes through ``redact``.
    """
    where = redact(where)
    if isinstance(exc, httpx.HTTPStatusError):
        return _status_error(exc, where, redact)
    reason = redact(str(exc) or type(exc).__name__)
    if isinstance(exc, httpx.TimeoutException):
        phase = _TIMEOUT_PHASE.get(type(exc), "waiting")
        return LLMTimeoutError(f"The LLM endpoint at {where} timed out while {phase}.")
    if isinstance(exc, _UNREACHABLE):
        return LLMUnreachableError(
            f"Could not reach the LLM endpoint at {where} ({reason}). "
            "Check ASSISTANT_LLM_BASE_URL and that the server is running."
        )
    if isinstance(exc, _BROKE_OFF):
        return LLMBadResponseError(
            f"The connection to the LLM endpoint at {where} broke off mid-answer ({reason})."
        )
    return LLMBadResponseError(
        f"The LLM endpoint at {where} could not be used ({type(exc).__name__}: {reason})."
    )


def _status_error(exc: httpx.HTTPStatusError, where: str, redact: Redact) -> LLMError:
    status = exc.response.status_code
    body = exc.body if isinstance(exc, StatusError) else _content(exc.response)
    detail = redact(" ".join(_detail(body).split()))[:MAX_ERROR_DETAIL]
    said = f": {detail}" if detail else ""
    if status in (401, 403):
        hint = (
            "Check ASSISTANT_LLM_API_KEY."
            if "authorization" in exc.request.headers
            else "No key was sent: set ASSISTANT_LLM_API_KEY."
        )
        return LLMAuthError(
            f"The LLM endpoint at {where} rejected the API key (HTTP {status}). {hint}"
        )
    if status == 429:
        return LLMRateLimitedError(
            f"The LLM endpoint at {where} is rate limiting requests (HTTP 429{said}). "
            "Try again later.",
            retry_after=retry_after(exc),
        )
    if status >= 500:
        return LLMBadResponseError(f"The LLM endpoint at {where} failed (HTTP {status}{said}).")
    if status == 404:
        return LLMRefusedError(
            f"The LLM endpoint at {where} has no such path (HTTP 404{said}). "
            "Check ASSISTANT_LLM_BASE_URL: it usually ends in /v1."
        )
    if 400 <= status < 500:
        return LLMRefusedError(
            f"The LLM endpoint at {where} refused the request (HTTP {status}{said})."
        )
    return LLMBadResponseError(f"The LLM endpoint at {where} answered HTTP {status}{said}.")


def _content(response: httpx.Response) -> bytes:
    try:
        return response.content
    except httpx.ResponseNotRead:
        return b""


def _detail(body: bytes) -> str:
    """What the server said: its JSON error message, else the body as text."""
    try:
        return server_error_message(json.loads(body)) or ""
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", errors="replace").strip()
