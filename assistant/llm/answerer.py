"""The LLM answerer: prompt, model, then quote verification, into one ``Answer``.

It raises the typed LLM errors (``assistant.errors.LLMError``) and nothing else on endpoint
failure; falling back to the extractive answerer is ``assistant.answerers.FallbackAnswerer``'s
job, not this one's.

Streaming: ``stream()`` returns the ``assistant.answerers.AnswerStream`` every answerer returns.
Iterating it yields the model's raw text deltas as they arrive (for a live display); when the
iteration ends, ``.answer`` holds the verified ``Answer``. The verified text can differ from the
streamed one (unverifiable quotes are removed, markers renumbered, quotes shown in the source's
spelling), so a display should replace the streamed text with ``answer.text`` at the end.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from assistant.answerers import AnswerStream
from assistant.llm.client import LLMClient
from assistant.llm.prompt import REFUSAL, answer_messages
from assistant.settings import Settings
from assistant.types import Answer, Document, Passage
from assistant.verify import Verification, verify_answer

DEFAULT_MAX_TOKENS = 512  # a cited answer of one to three sentences fits easily
FIRST_TOKEN = "llm_first_token"  # timings key: milliseconds until the model's first delta


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


class LLMAnswerer:
    """Answers from retrieved passages through an OpenAI-compatible model, quotes verified."""

    def __init__(
        self,
        client: LLMClient,
        settings: Settings | None = None,
        *,
        max_tokens: int | None = DEFAULT_MAX_TOKENS,
    ) -> None:
        self.client = client
        self.settings = settings
        self.max_tokens = max_tokens

    def _params(self) -> dict[str, float | int]:
        params: dict[str, float | int] = {}
        if self.settings is not None:
            params["temperature"] = self.settings.llm_temperature
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        return params

    def answer(
        self, question: str, passages: Sequence[Passage], documents: Mapping[str, Document]
    ) -> Answer:
        """One verified answer. With no passages the model is not asked: nothing to quote."""
        if not passages:
            return self._declined(question)
        messages = answer_messages(question, passages, _titles(documents))
        started = time.perf_counter()
        completion = self.client.complete(messages, **self._params())
        return self._verified(
            question, passages, documents, completion.text, time.perf_counter() - started
        )

    def stream(
        self, question: str, passages: Sequence[Passage], documents: Mapping[str, Document]
    ) -> AnswerStream:
        """Raw deltas while the model writes; ``.answer`` when done (see the module docstring)."""

        def finish(text: str, llm_seconds: float) -> Answer:
            return self._verified(question, passages, documents, text, llm_seconds)

        if not passages:
            declined = self._declined(question)
            return AnswerStream(
                iter([declined.text]), lambda _text, _s: declined, first_token_key=FIRST_TOKEN
            )
        messages = answer_messages(question, passages, _titles(documents))
        return AnswerStream(
            self.client.stream(messages, **self._params()), finish, first_token_key=FIRST_TOKEN
        )

    def _verified(
        self,
        question: str,
        passages: Sequence[Passage],
        documents: Mapping[str, Document],
        text: str,
        llm_seconds: float,
    ) -> Answer:
        started = time.perf_counter()
        result: Verification = verify_answer(
            text,
            passages,
            {doc_id: doc.text for doc_id, doc in documents.items()},
            _titles(documents),
            refusal=REFUSAL,
        )
        verify_ms = _ms(time.perf_counter() - started)
        shown = result.text if result.text else REFUSAL
        return Answer(
            text=shown,
            citations=result.citations,
            grounded=result.grounded,
            mode="llm",
            passages=list(passages),
            timings={"llm": _ms(llm_seconds), "verify": verify_ms},
            query=question,
            dropped_quotes=result.dropped,
        )

    def _declined(self, question: str) -> Answer:
        timings = {"llm": 0.0, "verify": 0.0}
        return Answer(text=REFUSAL, grounded=False, mode="llm", query=question, timings=timings)


def _titles(documents: Mapping[str, Document]) -> dict[str, str]:
    return {doc_id: doc.title for doc_id, doc in documents.items()}
