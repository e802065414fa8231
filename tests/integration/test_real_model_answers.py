"""The product against a real model: Qwen2.5-Coder-0.5B on llama.cpp's own server, on loopback.

Nothing here is scripted: the model reads the numbered sentences and answers in JSON through
``response_format``, and the product judges every claim. Temperature 0 keeps the model's
choices the same from run to run, so what each test asserts holds for this model; what would
make them fail is the product (a quote off its offsets, an off-article answer shown as
grounded, a stream that shows JSON or never streams).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.service import Assistant
from assistant.settings import load_settings
from tests.local_llm import LOCAL_LLM_MODEL


@pytest.fixture(scope="module")
def real(local_llm: str, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("real-llm") / "d",
        llm_base_url=local_llm,
        llm_model=LOCAL_LLM_MODEL,
        mode="llm",
        llm_max_retries=0,
        llm_read_timeout=120.0,  # a loaded CI machine reads the prompt slowly
        llm_total_timeout=300.0,
    )
    return Assistant.open(settings)


def _doc_text(assistant: Assistant, doc_id: str) -> str:
    return assistant.documents[doc_id].text


def test_an_answer_from_the_real_model_quotes_the_article_at_its_offsets(
    real: Assistant,
) -> None:
    got = real.ask("How many soldiers has Russia moved to the Ukrainian border?")
    assert got.mode == "llm" and got.fallback_reason is None, got.fallback_reason
    assert got.grounded and got.claims_shown >= 1, got
    assert any("100,000 soldiers" in c.quote for c in got.citations)
    for c in got.citations:
        assert _doc_text(real, c.doc_id)[c.start : c.end] == c.quote
    assert got.timings["llm"] > 0


def test_an_off_article_question_is_not_grounded(real: Assistant) -> None:
    got = real.ask("Who won the football World Cup in 2030?")
    assert got.mode == "llm" and got.fallback_reason is None, got.fallback_reason
    assert not got.grounded and got.citations == []
    assert got.text == "The article does not say."


def test_the_real_model_streams_claim_text_never_json(real: Assistant) -> None:
    stream = real.ask_stream("How many soldiers has Russia moved to the Ukrainian border?")
    deltas = list(stream)
    got = stream.answer
    assert got.mode == "llm" and got.fallback_reason is None, got.fallback_reason
    shown = "".join(deltas)
    assert len(deltas) > 1 and "llm_first_token" in got.timings  # words as they were written
    assert "{" not in shown and '"claims"' not in shown  # the draft is the claims' text
    assert got.grounded and "100,000" in shown
    for c in got.citations:
        assert _doc_text(real, c.doc_id)[c.start : c.end] == c.quote


def test_config_check_against_the_real_server(local_llm: str, tmp_path: Path) -> None:
    from assistant.llm import LLMClient

    with LLMClient(base_url=local_llm, model=LOCAL_LLM_MODEL, read_timeout=120.0) as client:
        health = client.health()
    assert health.ok and "1-token chat completion" in health.detail
