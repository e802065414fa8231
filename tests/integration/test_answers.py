"""Retrieval and answering on the shipped article, with a real embedded Chroma."""

from __future__ import annotations

import pytest

from assistant.errors import QuestionError
from assistant.service import Assistant
from assistant.settings import load_settings
from assistant.types import Turn
from index.sources import load_default
from tests.data.answer_cases import ANSWERABLE, UNANSWERABLE

ARTICLE = load_default()[0].text


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return Assistant.open(load_settings(data_dir=tmp_path_factory.mktemp("answers")))


def test_case_lists_are_big_enough() -> None:
    assert len(ANSWERABLE) >= 25 and len(UNANSWERABLE) >= 8
    for _, fragment in ANSWERABLE:
        assert fragment in ARTICLE, fragment


@pytest.mark.parametrize(("question", "fragment"), ANSWERABLE, ids=[q for q, _ in ANSWERABLE])
def test_cites_the_right_sentence(assistant: Assistant, question: str, fragment: str) -> None:
    answer = assistant.ask(question)
    assert answer.grounded, f"declined (confidence {answer.confidence:.3f})"
    assert any(fragment in c.quote for c in answer.citations), answer.text
    for c in answer.citations:
        assert ARTICLE[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.text
    assert answer.mode == "extractive"


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_declines_what_the_article_does_not_say(assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert answer.grounded is False
    assert answer.citations == []
    assert "does not say" in answer.text
    assert answer.passages, "the closest passages are still returned for the page to show"


def test_follow_up_resolves_the_pronoun(assistant: Assistant) -> None:
    first = assistant.ask("Who is the NATO Secretary General?")
    history = [
        Turn(role="user", content="What did Stoltenberg reject?"),
        Turn(role="assistant", content=first.text),
    ]
    answer = assistant.ask("And who did he hold a press conference with?", history)
    assert "Stoltenberg" in answer.query
    assert answer.grounded
    assert "joint press conference with German Chancellor" in answer.citations[0].quote


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question_is_refused_with_a_sentence(assistant: Assistant, question: str) -> None:
    with pytest.raises(QuestionError, match="empty"):
        assistant.ask(question)


def test_huge_question_is_refused_with_its_size(assistant: Assistant) -> None:
    with pytest.raises(QuestionError, match="100,000 characters"):
        assistant.ask("x" * 100_000)


def test_answer_carries_scores_and_timings(assistant: Assistant) -> None:
    answer = assistant.ask("Where is NATO headquartered?")
    assert answer.passages[0].rank == 1
    assert all(p.fused > 0 for p in answer.passages)
    assert any(p.dense is not None for p in answer.passages)
    assert any(p.lexical is not None for p in answer.passages)
    assert set(answer.timings) >= {"retrieve_ms", "answer_ms", "total_ms"}


def test_doc_filter_rejects_unknown_document(assistant: Assistant) -> None:
    with pytest.raises(QuestionError, match="no document"):
        assistant.ask("Where is NATO headquartered?", doc_id="nope")
