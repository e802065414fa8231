"""Reading a streamed answer: server-sent events by httpx-sse, the chunks inside by ``wire``.

httpx-sse does the event-stream framing. Lines end at ``\\r\\n``, ``\\n`` or ``\\r`` only, which
needs httpx-sse 0.4.2 or later: before it, lines were also split at U+2028, U+0085 and friends,
which servers emitting raw UTF-8 JSON put inside strings. This module adds what an answer needs
on top of the framing, each because a real server does it:

- the call's total deadline is checked on every chunk of bytes, so a server sending keep-alive
  comments forever cannot hold the caller past it (the read timeout only catches silence);
- a line longer than ``MAX_LINE_BYTES`` is refused, so a server that never sends a line break
  cannot fill memory;
- a last event without its closing blank line is still read (the spec drops it; some servers
  end the body that way);
- any content type but JSON is read as events, as servers label their streams loosely
  (httpx-sse itself insists on ``text/event-stream``);
- the answer ended cleanly at ``[DONE]``, or at the end of the body after a chunk carried a
  ``finish_reason``, for servers that never send ``[DONE]``; any other end is a cut stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import httpx
from httpx_sse import EventSource

from assistant.errors import LLMBadResponseError
from assistant.llm.wire import Redact, StreamEvent, parse_stream_event

MAX_LINE_BYTES = 1024 * 1024  # one SSE line; guards memory against a server that never sends \n


def iter_events(
    response: httpx.Response,
    *,
    where: str,
    check_deadline: Callable[[], None],
    redact: Redact = str,
) -> Iterator[StreamEvent]:
    """The parsed chunks of a streamed answer, until ``[DONE]`` or the end of the body.

    Raises LLMBadResponseError for garbage data or a cut stream, whatever ``check_deadline``
    raises once the deadline is past, and httpx's own errors as they come.
    """
    framed = httpx.Response(
        response.status_code,
        headers={"content-type": "text/event-stream"},  # always UTF-8, as the spec says
        content=_guarded(response.iter_bytes(), check_deadline),
    )
    finished = False
    for sse in EventSource(framed).iter_sse():
        if not sse.data:  # an event of only ``id:`` or ``retry:`` fields carries no chunk
            continue
        event = parse_stream_event(sse.data, redact)
        if event is None:  # [DONE]: stop reading, whatever follows
            return
        finished = finished or event.finish_reason is not None
        yield event
    if not finished:
        raise LLMBadResponseError(
            f"The LLM stream from {where} ended before the answer was finished."
        )


def _guarded(chunks: Iterable[bytes], check_deadline: Callable[[], None]) -> Iterator[bytes]:
    """The body's bytes, checked against the deadline and the line limit as they arrive."""
    line = 0  # bytes since the last line break
    for chunk in chunks:
        check_deadline()
        cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        line = len(chunk) - cut - 1 if cut >= 0 else line + len(chunk)
        if line > MAX_LINE_BYTES:
            raise LLMBadResponseError("The LLM endpoint sent a stream line longer than 1 MiB.")
        yield chunk
    yield b"\n\n"  # ends a last event that lacks its blank line; no event if it had one
