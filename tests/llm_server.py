"""A scripted OpenAI-compatible server on 127.0.0.1, for tests of the LLM path.

No real model is reachable from the tests, so this server plays one, byte for byte the way real
servers do (chunked SSE, ``[DONE]`` or not, ``usage`` or not, role-only deltas, keep-alive
comments) and the way they fail (status codes with ``Retry-After``, stalls, cut streams,
malformed JSON). Each test scripts what comes next:

    server.enqueue(answer('He said "no one else" [1].'))    # JSON or SSE, as the request asks
    server.enqueue(status(429, retry_after=2), answer("ok"))
    server.set_handler(lambda body: answer(body["messages"][-1]["content"]))  # when queue empty

Replies are served first in, first out; when the queue is empty the handler answers (so
concurrent requests can each get an answer built from their own prompt). Every request is
recorded (method, path, headers, JSON) for assertions. Stalls wait on an event that ``release()``
and ``stop()`` set, and never longer than their own bound, so no test can hang on the server.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_STALL_SECONDS = 10.0


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    json: Any
    at: float  # time.monotonic() when the request arrived


class Reply:
    """One scripted response. Subclasses write it to the socket in their own way."""

    def serve(self, handler: _Handler, request: RecordedRequest) -> None:
        raise NotImplementedError


def _completion(text: str, finish_reason: str | None, model: str, usage: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
            }
        ],
    }
    if usage:
        body["usage"] = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    return body


def _chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def split_deltas(text: str) -> list[str]:
    """Word-sized pieces that join back to ``text`` exactly."""
    return re.findall(r"\S+\s*|\s+", text)


@dataclass
class JSONReply(Reply):
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def serve(self, handler: _Handler, request: RecordedRequest) -> None:
        raw = self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()
        handler.send_bytes(self.status, raw, "application/json", self.headers)


@dataclass
class SSEReply(Reply):
    deltas: Sequence[str]
    usage: bool = False
    done: bool = True
    empty_deltas: bool = False  # interleave {"content": ""} and {"content": null} deltas
    role_first: bool = True
    keepalive: bool = False  # ": keep-alive" comment lines between events
    finish_reason: str | None = "stop"
    delay: float = 0.0  # seconds between events
    chunked: bool = True  # False: no framing, the body ends when the socket closes
    cut_after: int | None = None  # close the socket abruptly after this many deltas
    stall_after: int | None = None  # stop sending after this many deltas, until released
    stall_seconds: float = MAX_STALL_SECONDS
    malformed_at: int | None = None  # send broken JSON instead of delta number N

    def events(self) -> Iterator[tuple[bool, bytes]]:
        """(is a content delta, raw bytes) for every event, in order."""
        if self.role_first:
            yield False, _event(_chunk({"role": "assistant", "content": ""}))
        for i, delta in enumerate(self.deltas):
            if self.keepalive:
                yield False, b": keep-alive\n\n"
            if self.empty_deltas:
                yield False, _event(_chunk({"content": ""}))
                yield False, _event(_chunk({"content": None}))
            if i == self.malformed_at:
                yield True, b'data: {"choices": [{"delta": {"content": "bro\n\n'
            else:
                yield True, _event(_chunk({"content": delta}))
        yield False, _event(_chunk({}, self.finish_reason))
        if self.usage:
            usage = {"prompt_tokens": 10, "completion_tokens": len(self.deltas)}
            yield False, _event({"id": "chatcmpl-scripted", "choices": [], "usage": usage})
        if self.done:
            yield False, b"data: [DONE]\n\n"

    def serve(self, handler: _Handler, request: RecordedRequest) -> None:
        handler.start_stream(self.chunked)
        sent = 0
        for is_delta, raw in self.events():
            if is_delta and self.cut_after is not None and sent >= self.cut_after:
                handler.cut()
                return
            if is_delta and self.stall_after is not None and sent >= self.stall_after:
                handler.stall(self.stall_seconds)
                return
            handler.write_stream(raw)
            sent += int(is_delta)
            if self.delay:
                time.sleep(self.delay)
        handler.end_stream()


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"


@dataclass
class AnswerReply(Reply):
    """An answer in whichever form the request asked for (``"stream": true`` or not)."""

    text: str
    finish_reason: str = "stop"
    usage: bool = True

    def serve(self, handler: _Handler, request: RecordedRequest) -> None:
        body = request.json if isinstance(request.json, dict) else {}
        if body.get("stream"):
            SSEReply(split_deltas(self.text), usage=self.usage).serve(handler, request)
        else:
            completion = _completion(self.text, self.finish_reason, "scripted", self.usage)
            JSONReply(completion).serve(handler, request)


@dataclass
class StatusReply(Reply):
    status: int
    retry_after: str | float | None = None
    body: Any = None

    def serve(self, handler: _Handler, request: RecordedRequest) -> None:
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        body = self.body
        if body is None:
            body = {"error": {"message": f"scripted status {self.status}", "code": self.status}}
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        handler.send_bytes(self.status, raw, "application/json", headers)


@dataclass
class StallReply(Reply):
    """Hold the connection without sending a byte (not even headers)."""

    seconds: float = MAX_STALL_SECONDS

    def serve(self, handler: _Handler, request: RecordedRequest) -> None:
        handler.stall(self.seconds)


# --------------------------------------------------------------------------- factories


def answer(text: str, *, usage: bool = True, finish_reason: str = "stop") -> Reply:
    return AnswerReply(text, finish_reason=finish_reason, usage=usage)


def sse(deltas: Sequence[str], **options: Any) -> Reply:
    return SSEReply(list(deltas), **options)


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return JSONReply(body, status, headers or {})


def status(code: int, *, retry_after: str | float | None = None, body: Any = None) -> Reply:
    return StatusReply(code, retry_after, body)


def stall(seconds: float = MAX_STALL_SECONDS) -> Reply:
    return StallReply(min(seconds, MAX_STALL_SECONDS))


def stall_stream(deltas: Sequence[str], after: int, seconds: float = MAX_STALL_SECONDS) -> Reply:
    return SSEReply(list(deltas), stall_after=after, stall_seconds=min(seconds, MAX_STALL_SECONDS))


def cut(deltas: Sequence[str], after: int, *, chunked: bool = True) -> Reply:
    """Stream ``after`` deltas, then drop the connection mid-answer."""
    return SSEReply(list(deltas), cut_after=after, chunked=chunked)


def malformed(*, stream: bool = False) -> Reply:
    if stream:
        return SSEReply(["fine ", "then "], malformed_at=1)
    return JSONReply(b'{"choices": [{"message": {"content": "half')


# --------------------------------------------------------------------------- the server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30  # an idle keep-alive connection is dropped after this

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    # plumbing used by the replies ---------------------------------------------

    def send_bytes(
        self, code: int, raw: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)
        self.wfile.flush()

    def start_stream(self, chunked: bool) -> None:
        self._chunked = chunked
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.flush()

    def write_stream(self, raw: bytes) -> None:
        if self._chunked:
            self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        else:
            self.wfile.write(raw)
        self.wfile.flush()

    def end_stream(self) -> None:
        if self._chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        else:
            self.cut()

    def cut(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    def stall(self, seconds: float) -> None:
        self.server.owner.stalled.set()
        self.server.owner.release_event.wait(timeout=min(seconds, MAX_STALL_SECONDS))
        self.cut()

    # request handling -----------------------------------------------------------

    def do_GET(self) -> None:
        request = self._record(None)
        owner = self.server.owner
        if request.path.rstrip("/").endswith("/models"):
            if owner.models_reply is not None:
                owner.models_reply.serve(self, request)
                return
            data = [{"id": m, "object": "model", "owned_by": "tests"} for m in owner.models]
            JSONReply({"object": "list", "data": data}).serve(self, request)
            return
        StatusReply(404).serve(self, request)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = self._record(body)
        if not request.path.rstrip("/").endswith("/chat/completions"):
            StatusReply(404).serve(self, request)
            return
        self.server.owner.next_reply(body).serve(self, request)

    def _record(self, body: Any) -> RecordedRequest:
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            json=body,
            at=time.monotonic(),
        )
        self.server.owner.record(request)
        return request


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 resets connections when 20 clients arrive at once
    owner: LLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up on purpose (timeouts under test) is no error worth printing."""
        return


class LLMServer:
    """The scripted server; start/stop it, or use it as a context manager."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._handler: Callable[[Any], Reply | str] | None = None
        self.models: list[str] = ["scripted"]
        self.models_reply: Reply | None = None  # e.g. status(404) to hide /models
        self.release_event = threading.Event()
        self.stalled = threading.Event()  # set when a stall begins, so tests can wait for it
        self.unscripted: list[Any] = []  # request bodies that found no reply (a test bug)
        self.handler_errors: list[Exception] = []  # what the set_handler callable raised
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ------------------------------------------------------------------

    def start(self) -> LLMServer:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release_event.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the server is not running"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # scripting ------------------------------------------------------------------

    def enqueue(self, *replies: Reply | str) -> None:
        with self._lock:
            self._queue.extend(answer(r) if isinstance(r, str) else r for r in replies)

    def set_handler(self, handler: Callable[[Any], Reply | str] | None) -> None:
        """Answer from the request JSON when the queue is empty."""
        self._handler = handler

    def release(self) -> None:
        """End every stall now."""
        self.release_event.set()

    def next_reply(self, body: Any) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            handler = self._handler
        if handler is not None:
            try:
                reply = handler(body)
            except Exception as exc:  # a failing test handler answers 500 and is recorded
                with self._lock:
                    self.handler_errors.append(exc)
                return StatusReply(500, body={"error": {"message": f"handler failed: {exc!r}"}})
            return answer(reply) if isinstance(reply, str) else reply
        with self._lock:
            self.unscripted.append(body)
        return StatusReply(500, body={"error": {"message": "no scripted reply left"}})

    # inspection -----------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)
