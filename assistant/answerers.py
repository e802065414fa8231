"""What every answerer offers, the one stream type they return, and the fallback between them.

An answerer turns a query and its retrieved passages into an ``Answer``. Each one streams, even
one that has its whole answer at once (the extractive answerer yields it in one piece), so the
service and the page have one way to ask: iterate the ``AnswerStream`` for text as it is
written, then read ``.answer`` for the verified result.

``FallbackAnswerer`` is how LLM mode degrades: when the primary answerer fails with an
``LLMError``, before or during its stream, the fallback answers instead and the answer says why
in ``fallback_reason``; when the endpoint is already known to be down (``EndpointWatch``), the
fallback answers at once, without asking the endpoint. Nothing else in the service decides
about falling back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol

from assistant.endpoint import EndpointWatch
from assistant.errors import LLMError
from assistant.types import Answer, Document, Passage

log = logging.getLogger(__name__)

Finish = Callable[[str, float], Answer]  # (the streamed text, seconds it took) -> the answer


class AnswerStream:
    """Iterate for text deltas; afterwards ``.answer`` is the final, verified ``Answer``.

    An object rather than a generator's return value, because ``for`` loops and
    ``st.write_stream`` drop a generator's return value. The streamed text is a draft: the
    verified ``answer.text`` can differ (unverifiable quotes removed, markers renumbered), so a
    display should replace the draft with it at the end.
    """

    def __init__(
        self, deltas: Iterator[str], finish: Finish, *, first_token_key: str | None = None
    ) -> None:
        self._deltas = deltas
        self._finish = finish
        self._first_token_key = first_token_key  # timings key for the first delta's delay
        self._answer: Answer | None = None
        self._started = False

    @classmethod
    def of(cls, answer: Answer) -> AnswerStream:
        """A stream of an answer already made: its text in one piece."""
        return cls(iter([answer.text]), lambda _text, _seconds: answer)

    def __iter__(self) -> Iterator[str]:
        if self._started:
            raise RuntimeError("An AnswerStream can be iterated once.")
        self._started = True
        started = time.perf_counter()
        first: float | None = None
        parts: list[str] = []
        for delta in self._deltas:
            if first is None:
                first = time.perf_counter() - started
            parts.append(delta)
            yield delta
        self._answer = self._finish("".join(parts), time.perf_counter() - started)
        if first is not None and self._first_token_key:
            self._answer.timings[self._first_token_key] = round(first * 1000.0, 3)

    def drain(self) -> Answer:
        """Read the stream to its end and return the answer (for callers that do not display)."""
        for _ in self:
            pass
        return self.answer

    @property
    def answer(self) -> Answer:
        """The final answer; RuntimeError until the stream has been read to the end."""
        if self._answer is None:
            raise RuntimeError("Read the stream to the end before asking for its answer.")
        return self._answer


class Answerer(Protocol):
    """Anything that answers a query from retrieved passages of ``documents``."""

    def stream(
        self, query: str, passages: Sequence[Passage], documents: Mapping[str, Document]
    ) -> AnswerStream: ...


class FallbackAnswerer:
    """``primary``'s answer, or ``fallback``'s when the primary fails with an ``LLMError``.

    The failure can come at the first request or in the middle of a stream: text already shown
    stays, a blank line follows, then the fallback's text; ``.answer`` is the fallback's answer
    with ``fallback_reason`` set. Other errors are not the endpoint's fault and pass through.
    """

    def __init__(
        self, primary: Answerer, fallback: Answerer, watch: EndpointWatch | None = None
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.watch = watch  # what is known of the primary's endpoint; told how each call went

    def stream(
        self, query: str, passages: Sequence[Passage], documents: Mapping[str, Document]
    ) -> AnswerStream:
        state: dict[str, Answer] = {}

        def deltas() -> Iterator[str]:
            down = self.watch.down_reason() if self.watch is not None else None
            if down is not None:  # known down: no question waits for it again
                answer = self.fallback.stream(query, passages, documents).drain()
                answer.fallback_reason = (
                    f"The LLM endpoint is down ({down.removesuffix('.')}); this is the offline "
                    "extractive answer, and the endpoint is checked again in the background."
                )
                state["answer"] = answer
                yield answer.text
                return
            try:
                primary = self.primary.stream(query, passages, documents)
                yield from primary
                state["answer"] = primary.answer
                if self.watch is not None:
                    self.watch.record(None)
            except LLMError as exc:
                if self.watch is not None:
                    self.watch.record(exc)
                log.warning("LLM answer failed, falling back to extractive: %s", exc, exc_info=exc)
                answer = self.fallback.stream(query, passages, documents).drain()
                answer.fallback_reason = (
                    f"The LLM endpoint failed ({exc}); this is the offline extractive answer."
                )
                state["answer"] = answer
                yield "\n\n"
                yield answer.text

        return AnswerStream(deltas(), lambda _text, _seconds: state["answer"])
