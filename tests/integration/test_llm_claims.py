"""LLM answers by sentence number, every claim judged: against the scripted server on 127.0.0.1
with the real index and the real reader, on the shipped article.

The scripted model reads the numbered sentences the product sent and cites them by number, the
way a real model does; each test says what a made-up, misplaced or malformed claim gets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assistant.llm import REFUSAL
from assistant.llm.answerer import REPOINT_MIN
from assistant.service import Assistant
from assistant.settings import load_settings
from assistant.types import Answer
from tests.llm_server import LLMServer, answer, sse

NATO_Q = "Who will decide NATO's relationship with Ukraine?"
NATO_SENTENCE = "relationship with Ukraine will be decided by 30 NATO allies"
JUDGED_THRESHOLD = 0.45


def open_scripted(folder: Path, server: LLMServer, **options: Any) -> Assistant:
    """An assistant on the shipped article asking the scripted server."""
    settings = load_settings(
        data_dir=folder,
        llm_base_url=server.base_url,
        llm_model="scripted",
        llm_max_retries=0,
        llm_read_timeout=5.0,
        **options,
    )
    return Assistant.open(settings)


@pytest.fixture
def assistant(tmp_path: Path, llm_server: LLMServer) -> Assistant:
    return open_scripted(tmp_path / "d", llm_server)


@pytest.fixture
def judged(tmp_path: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch) -> Assistant:
    """An assistant for tests of the claim judge, which need the model asked and shown the
    sentences a claim leans on: the decline threshold is set rather than calibrated (the
    calibration moves with every reader; these questions score 0.47 to 0.73 with today's), and
    the model is shown up to five sentences however sure the ranking is."""
    import assistant.llm.answerer as answerer_module

    monkeypatch.setattr(answerer_module, "PROMPT_MASS", 1.0)
    return open_scripted(tmp_path / "j", llm_server, decline_threshold=JUDGED_THRESHOLD)


def numbered(body: dict[str, Any]) -> dict[int, str]:
    """The sentences the product numbered in its prompt."""
    user = body["messages"][-1]["content"]
    return {int(n): text for n, text in re.findall(r"^\[(\d+)\] (.*)$", user, re.M)}


def number_of(body: dict[str, Any], needle: str) -> int:
    return next(n for n, text in numbered(body).items() if needle in text)


def reply_with(make: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], str]:
    """A handler answering JSON built from the request (so it can cite the right numbers)."""
    return lambda body: json.dumps(make(body))


def claiming(*claims: tuple[str, Callable[[dict[str, Any]], list[int]]]) -> Callable[..., str]:
    """A handler answering "answerable" with these claims, each citing what its function picks
    from the numbered sentences of the request."""
    return reply_with(
        lambda b: {
            "answerable": True,
            "claims": [{"text": text, "sentences": pick(b)} for text, pick in claims],
        }
    )


def at(needle: str) -> Callable[[dict[str, Any]], list[int]]:
    return lambda body: [number_of(body, needle)]


def shown_quotes_are_verbatim(got: Answer, assistant: Assistant) -> None:
    for c in got.citations:
        assert assistant.documents[c.doc_id].text[c.start : c.end] == c.quote


def test_a_cited_claim_is_shown_with_its_sentence_verbatim(
    assistant: Assistant, llm_server: LLMServer
) -> None:
    llm_server.set_handler(
        claiming(("The 30 NATO allies and Ukraine will decide it.", at(NATO_SENTENCE)))
    )
    got = assistant.ask(NATO_Q)
    assert got.mode == "llm" and got.grounded and got.claims_removed == 0
    assert got.text == "The 30 NATO allies and Ukraine will decide it. [1]"
    [c] = got.citations
    assert NATO_SENTENCE in c.quote and c.n == 1
    shown_quotes_are_verbatim(got, assistant)
    sent = llm_server.requests[-1].json
    schema = sent["response_format"]["json_schema"]["schema"]
    assert sent["response_format"]["type"] == "json_schema"
    assert schema["properties"]["claims"]["items"]["required"] == ["text", "sentences"]
    ids = schema["properties"]["claims"]["items"]["properties"]["sentences"]["items"]
    assert ids["maximum"] == len(numbered(sent)) >= 1


def test_the_issues_case_a_made_up_claim_citing_unrelated_sentences(
    assistant: Assistant, llm_server: LLMServer
) -> None:
    """As a real 1.5B model answered: "Vladimir Putin is the president of Ukraine", citing
    sentences that do not say so."""
    unrelated = lambda b: [n for n, t in numbered(b).items() if "Putin" not in t][:2]  # noqa: E731
    llm_server.set_handler(claiming(("Vladimir Putin is the president of Ukraine.", unrelated)))
    got = assistant.ask("Who is the president of Ukraine?")
    assert not got.grounded and got.text == REFUSAL and got.citations == []
    assert got.claims_removed == 1 and got.passages


def test_a_relation_swapped_claim_beside_a_real_sentence_is_not_shown(
    assistant: Assistant, llm_server: LLMServer
) -> None:
    """The issue's case: "Putin is the president of Ukraine", citing a real sentence that holds
    every word of it ("Russian President Vladimir Putin … Ukraine"), far apart."""
    llm_server.set_handler(claiming(("Vladimir Putin is the president of Ukraine.", at("Putin"))))
    got = assistant.ask("Who is the president of Ukraine?")
    assert not got.grounded and got.text == REFUSAL and got.citations == []
    assert got.claims_removed == 1
    assert got.passages, "a declined answer keeps the closest passages to show"


def test_a_right_claim_beside_the_wrong_number_is_shown_with_its_own_sentence(
    assistant: Assistant, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small model writes the right claim and cites the wrong number (the 1.5B did so on 5
    of the answerable article-test questions it lost): the claim is shown, citing the sentence
    that states it, which the reader judges to answer the question. The model is shown every
    sentence it may be (where the ranking is sure of one, it is shown that one alone, and no
    number is wrong)."""
    import assistant.llm.answerer as answerer_module

    monkeypatch.setattr(answerer_module, "PROMPT_MASS", 1.0)
    wrong = lambda b: [min(n for n, t in numbered(b).items() if NATO_SENTENCE not in t)]  # noqa: E731
    llm_server.set_handler(claiming(("The 30 NATO allies and Ukraine will decide it.", wrong)))
    got = assistant.ask(NATO_Q)
    assert got.grounded and got.claims_removed == 0
    assert got.text == "The 30 NATO allies and Ukraine will decide it. [1]"
    [c] = got.citations
    assert NATO_SENTENCE in c.quote
    shown_quotes_are_verbatim(got, assistant)


def test_a_miscited_claim_may_cite_the_sentence_the_offline_answer_quotes(
    judged: Assistant, llm_server: LLMServer
) -> None:
    """As the 1.5B answered an article-dev question: the right claim beside two wrong numbers,
    and the sentence that states it is the one the offline answer quotes, though the reader
    alone gives it less than ``REPOINT_MIN``: the ranking and the calibrated decline model
    chose it, so the claim is shown citing it."""
    question = "In which city is the alliance headquartered?"
    hq = "headquarters in Brussels"
    passages = judged.retrieve(question).passages
    evidence = judged.llm.grounder.evidence(question, passages, judged.documents)
    assert evidence.answerable and evidence.best is not None and hq in evidence.best.text
    assert evidence.best.score < REPOINT_MIN  # the reader's own bar would not re-point to it
    wrong = lambda b: [n for n, t in numbered(b).items() if hq not in t][:2]  # noqa: E731
    llm_server.set_handler(claiming(("The alliance headquarters is in Brussels.", wrong)))
    got = judged.ask(question)
    assert got.grounded and got.text == "The alliance headquarters is in Brussels. [1]"
    [c] = got.citations
    assert hq in c.quote
    shown_quotes_are_verbatim(got, judged)


def test_a_claim_held_only_by_two_sentences_pooled_cites_the_one_that_states_it(
    assistant: Assistant, llm_server: LLMServer
) -> None:
    """As the 1.5B answered: a true claim citing two unrelated sentences whose words, pooled,
    pass the judge. The claim is shown citing the sentence that states it whole."""
    claim = (
        "Russia's call for the West to withdraw its invitation to Ukraine to join the "
        "alliance was turned down today."
    )
    both = lambda b: [number_of(b, NATO_SENTENCE), number_of(b, "Putin")]  # noqa: E731
    llm_server.set_handler(claiming((claim, both)))
    got = assistant.ask("What did the alliance's chief turn down today?")
    assert got.grounded and got.text == f"{claim} [1]"
    [c] = got.citations
    assert "today rejected Russia’s call for the West to withdraw" in c.quote
    shown_quotes_are_verbatim(got, assistant)


@pytest.mark.parametrize(
    ("question", "claim", "leans_on"),
    [
        # a made-up place beside the sentence naming the press conference (reader: 0.38)
        (
            "In which city was the joint press conference held?",
            "The joint press conference was held in Brussels.",
            "joint press conference",
        ),
        # true, but no answer to the question (reader: 0.21)
        (
            "How many soldiers does Ukraine's army have?",
            "Ukraine's army collapsed in the face of the Russian offensive in 2014.",
            "collapsed in the face",
        ),
    ],
)
def test_a_miscited_claim_is_not_re_pointed_to_a_sentence_that_does_not_answer(
    judged: Assistant, llm_server: LLMServer, question: str, claim: str, leans_on: str
) -> None:
    """As the 1.5B answered two unanswerable questions: each claim cites a sentence that does
    not hold it, and the sentence whose words it borrows was shown to the model; the product
    re-points only to a sentence the reader judges to answer, so both decline."""
    elsewhere = lambda b: [min(n for n, t in numbered(b).items() if leans_on not in t)]  # noqa: E731
    llm_server.set_handler(claiming((claim, elsewhere)))
    got = judged.ask(question)
    assert number_of(llm_server.requests[-1].json, leans_on)  # it was there to re-point to
    assert not got.grounded and got.text == REFUSAL and got.citations == []
    assert got.claims_removed == 1


def test_a_claim_dropping_its_sentences_not_is_removed(
    assistant: Assistant, llm_server: LLMServer
) -> None:
    """As the 1.5B answered an article-dev question: "Ukraine and Georgia would join NATO",
    citing the sentence saying they "are not about to join NATO"."""
    sentence = "are not about to join NATO"
    llm_server.set_handler(claiming(("Ukraine and Georgia would join NATO.", at(sentence))))
    got = assistant.ask("Which two countries would the disputed Nord Stream link join?")
    assert number_of(llm_server.requests[-1].json, sentence)  # the model was asked, and cited it
    assert not got.grounded and got.text == REFUSAL and got.claims_removed == 1
    [removed] = got.removed_claims
    assert removed.text == "Ukraine and Georgia would join NATO."
    assert removed.reason == "says the opposite of its sentence"


def test_a_claim_putting_the_questions_name_in_its_sentences_place_is_removed(
    judged: Assistant, llm_server: LLMServer
) -> None:
    """As the 1.5B answered the news dev part's unanswerable "How much money has Germany
    committed to Ukraine's army?": the Washington sentence copied, with "Germany" in it."""
    sentence = "Washington has committed more than $2.5 billion"
    claim = "Germany has committed more than $2.5 billion to bolster an army."
    llm_server.set_handler(claiming((claim, at(sentence))))
    got = judged.ask("How much money has Germany committed to Ukraine's army?")
    assert number_of(llm_server.requests[-1].json, sentence)  # the model was asked, and cited it
    assert not got.grounded and got.text == REFUSAL and got.citations == []
    [removed] = got.removed_claims
    # the swap rule removes it (``tests/unit/test_claims.py``), unless the reader already finds
    # that the Washington sentence does not answer a question about Germany (today's: 0.04)
    assert removed.reason in (
        "swaps a name of its sentence for the question's",
        "cites sentences that do not answer",
    )
    assert any(sentence in s for s in removed.sentences)


def test_only_supported_claims_survive_and_are_counted(
    assistant: Assistant, llm_server: LLMServer
) -> None:
    llm_server.set_handler(
        claiming(
            ("NATO allies and Ukraine decide the relationship.", at(NATO_SENTENCE)),
            ("NATO has 250,000 soldiers ready in Ukraine.", at(NATO_SENTENCE)),  # a new figure
            ("The Pope and the United Nations will mediate in Geneva.", at(NATO_SENTENCE)),
            ("Nobody else decides it.", lambda _b: [999]),  # no such sentence
        )
    )
    got = assistant.ask(NATO_Q)
    assert got.grounded and got.claims_removed == 3
    assert got.text == "NATO allies and Ukraine decide the relationship. [1]"
    # each removed claim is kept with the judge's reason, for the page and the CLI to show
    assert [(c.text.split()[0], c.reason) for c in got.removed_claims] == [
        ("NATO", "has numbers its sentences lack"),
        ("The", "says what its sentences do not"),
        ("Nobody", "cites no sentence it was shown"),
    ]
    # each keeps the sentences it cited that the model was shown, verbatim from the article
    text = assistant.documents[got.citations[0].doc_id].text
    nato, made_up, nowhere = (c.sentences for c in got.removed_claims)
    assert nato == made_up == [got.citations[0].quote] and nato[0] in text
    assert nowhere == []  # sentence 999 was never shown
    for made_up in ("250,000", "Pope", "Geneva", "Nobody"):
        assert made_up not in got.text
    shown_quotes_are_verbatim(got, assistant)


def test_the_model_saying_unanswerable_declines(
    assistant: Assistant, llm_server: LLMServer
) -> None:
    llm_server.enqueue(answer(json.dumps({"answerable": False, "claims": []})))
    got = assistant.ask("What is the population of Ukraine?")
    assert not got.grounded and got.text == REFUSAL and got.claims_removed == 0
    assert got.removed_claims == []


def test_when_the_reader_finds_no_answer_the_model_is_not_asked(
    assistant: Assistant, llm_server: LLMServer
) -> None:
    """An off-article question: whatever a model would claim, the answer declines, so the
    product does not spend seconds asking one."""
    llm_server.set_handler(
        reply_with(lambda b: {"answerable": True, "claims": [{"text": "x", "sentences": [1]}]})
    )
    got = assistant.ask("Who won the football World Cup in 2030?")
    assert not got.grounded and got.text == REFUSAL and got.mode == "llm"
    assert llm_server.requests == [] and got.timings["llm"] == 0.0
    assert got.passages, "the closest passages are still shown"
    stream = assistant.ask_stream("Who won the football World Cup in 2030?")
    assert list(stream) == [REFUSAL] and not stream.answer.grounded
    assert llm_server.requests == []


def test_a_fenced_reply_with_other_key_names_is_read(
    assistant: Assistant, llm_server: LLMServer
) -> None:
    """Servers that ignore response_format wrap JSON in prose and rename keys."""

    def handler(body: dict[str, Any]) -> str:
        n = number_of(body, NATO_SENTENCE)
        claim = {"claim": "NATO allies and Ukraine decide the relationship.", "ids": [str(n)]}
        return "Sure! Here it is:\n```json\n" + json.dumps({"claims": [claim]}) + "\n```"

    llm_server.set_handler(handler)
    got = assistant.ask(NATO_Q)
    assert got.grounded and got.text.endswith("[1]") and NATO_SENTENCE in got.citations[0].quote


def test_a_free_text_reply_is_judged_claim_by_claim(
    assistant: Assistant, llm_server: LLMServer
) -> None:
    """One real quote (even one word) does not carry made-up sentences around it."""
    llm_server.enqueue(
        answer(
            '"NATO" [1] will invade Moscow tomorrow, the generals announced. Russia "has moved '
            'about 100,000 soldiers" [2] to the border.'
        )
    )
    got = assistant.ask("How many soldiers has Russia moved to the Ukrainian border?")
    assert got.grounded and got.claims_removed == 1
    assert "Moscow" not in got.text and "invade" not in got.text
    assert got.text == 'Russia "has moved about 100,000 soldiers" [1] to the border.'
    shown_quotes_are_verbatim(got, assistant)
    # the removed claim keeps the sentence its quote stands in, whole and verbatim
    [removed] = got.removed_claims
    assert removed.text.startswith('"NATO" will invade Moscow')
    [sentence] = removed.sentences
    assert "NATO" in sentence and sentence in assistant.documents[got.citations[0].doc_id].text


def test_a_one_word_quote_with_a_made_up_claim_is_not_grounded(
    assistant: Assistant, llm_server: LLMServer
) -> None:
    llm_server.enqueue(answer('"NATO" [1] will invade Moscow tomorrow with 40 divisions.'))
    got = assistant.ask(NATO_Q)
    assert not got.grounded and got.text == REFUSAL and got.citations == []


def test_streaming_shows_claim_text_then_the_judged_answer(
    assistant: Assistant, llm_server: LLMServer
) -> None:
    def handler(body: dict[str, Any]) -> Any:
        assert body["stream"] is True
        text = json.dumps(
            {
                "answerable": True,
                "claims": [
                    {
                        "text": "The 30 allies and Ukraine decide.",
                        "sentences": [number_of(body, NATO_SENTENCE)],
                    },
                    {"text": "Brazil decides too.", "sentences": [1]},
                ],
            }
        )
        return sse([text[i : i + 5] for i in range(0, len(text), 5)])  # as llama.cpp streams

    llm_server.set_handler(handler)
    stream = assistant.ask_stream(NATO_Q)
    deltas = list(stream)
    shown = "".join(deltas)
    assert len(deltas) > 3 and "{" not in shown and '"' not in shown  # never the JSON itself
    assert shown == "The 30 allies and Ukraine decide. Brazil decides too."  # the draft
    got = stream.answer  # what replaces the draft: the made-up claim is gone
    assert got.grounded and got.claims_removed == 1
    assert got.text == "The 30 allies and Ukraine decide. [1]"
    assert "llm_first_token" in got.timings
