"""Retrieval and answering on the shipped article, with a real embedded Chroma."""

from __future__ import annotations

import pytest

from assistant.errors import QuestionError
from assistant.service import Assistant
from assistant.settings import load_settings
from assistant.types import Turn
from index.sources import load_default
from tests.data.answer_cases import ANSWERABLE, KNOWN_MISSES, UNANSWERABLE

ARTICLE = load_default()[0].text


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return Assistant.open(load_settings(data_dir=tmp_path_factory.mktemp("answers")))


def test_case_lists_are_big_enough() -> None:
    assert len(ANSWERABLE) >= 20 and len(UNANSWERABLE) >= 8
    for _, fragment in ANSWERABLE + KNOWN_MISSES:
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


@pytest.mark.parametrize(
    "question",
    [
        "NATO",
        "Why?",
        "Stoltenberg " * 166,  # 1,992 characters: just under the limit
        "¿Dónde está la sede de la OTAN?",
        "北约总部在哪里？",
        "?!... ,,; —",
    ],
    ids=["one-word", "why", "2000-chars", "spanish", "chinese", "punctuation"],
)
def test_odd_questions_get_an_answer_or_a_plain_decline(
    assistant: Assistant, question: str
) -> None:
    answer = assistant.ask(question)
    if answer.grounded:
        (c,) = answer.citations
        assert ARTICLE[c.start : c.end] == c.quote
    else:
        assert answer.citations == [] and "does not say" in answer.text


def test_short_answer_stands_inside_the_quote_at_its_offsets(assistant: Assistant) -> None:
    answer = assistant.ask("Where is the alliance headquartered?")
    short = answer.short_answer
    assert short is not None and short.citation == 1
    assert ARTICLE[short.start : short.end] == short.text
    c = answer.citations[0]
    assert c.start <= short.start < short.end <= c.end
    assert "Brussels" in short.text


def test_a_declined_answer_has_no_short_answer(assistant: Assistant) -> None:
    answer = assistant.ask("Who won the football World Cup?")
    assert not answer.grounded and answer.short_answer is None
