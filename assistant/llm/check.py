"""Can an endpoint do what the product asks of it? What ``assistant config --check`` reports.

A plain chat answering is not enough. Every answer is streamed, and the default citation mode
(``ASSISTANT_LLM_CITATIONS=sentences``) asks for JSON through ``response_format`` (a JSON
schema). A server that refuses either fails every question, and the product then gives the
offline answer for each one (``assistant.answerers.FallbackAnswerer``). So each is tried with
a request of one token, without retries, and the check names what is missing and what the
product will do about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assistant.errors import LLMError
from assistant.llm.claims import response_format
from assistant.llm.client import HEALTH_PROBE, LLMClient

FALLS_BACK = "the product will give the offline answer for every question (ask exits 3)"


@dataclass(frozen=True)
class EndpointCheck:
    """``ok`` when the product can answer through the endpoint; ``detail`` says what was
    tried and, when something fails, what is missing and what happens instead."""

    ok: bool
    detail: str


def check_endpoint(
    client: LLMClient, citations: Literal["sentences", "quotes"] = "sentences"
) -> EndpointCheck:
    """A plain chat (``LLMClient.health``), then a streamed one, then, when the model cites
    sentences, one with the answers' ``response_format``. Never raises for endpoint failures."""
    health = client.health()
    if not health.ok:
        return EndpointCheck(False, health.detail)
    problems: list[str] = []
    try:
        for _event in client.stream_events(HEALTH_PROBE, max_tokens=1):
            pass
    except LLMError as error:
        problems.append(
            "The endpoint answers a plain chat but refused a streamed answer, and every answer "
            f"is streamed: {FALLS_BACK}. ({_sentence(error)})"
        )
    if citations == "sentences":
        try:
            client.complete(HEALTH_PROBE, max_tokens=1, response_format=response_format(1))
        except LLMError as error:
            problems.append(
                "The endpoint refused response_format (a JSON schema), which the default citation "
                f"mode needs: {FALLS_BACK}; set ASSISTANT_LLM_CITATIONS=quotes to have the model "
                f"cite in free text instead. ({_sentence(error)})"
            )
    if problems:
        return EndpointCheck(False, " ".join(problems))
    if citations == "sentences":
        also = "Streaming and response_format (JSON schema) work too."
    else:
        also = (
            "Streaming works too (response_format is not needed: ASSISTANT_LLM_CITATIONS=quotes)."
        )
    return EndpointCheck(True, f"{health.detail} {also}")


def _sentence(error: LLMError) -> str:
    text = str(error).strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."
