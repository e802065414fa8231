"""Quote verification on the shipped article, plus the prompt's side of the contract."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from assistant.llm.prompt import REFUSAL, answer_messages, clean_rewrite, rewrite_messages
from assistant.types import Passage, Turn
from assistant.verify import (
    Verification,
    find_quotes,
    is_refusal,
    locate,
    normalise,
    verify_answer,
)
from index.chunking import chunk_document
from index.sources import load_default
from index.types import Document

DOC: Document = load_default()[0]
CHUNKS = chunk_document(DOC)
TEXTS = {DOC.id: DOC.text}
TITLES = {DOC.id: DOC.title}


def passages(*indexes: int) -> list[Passage]:
    """Chunks of the article as retrieved passages, numbered [1].. in the given order."""
    return [
        Passage(
            chunk_id=CHUNKS[i].id,
            doc_id=DOC.id,
            start=CHUNKS[i].start,
            end=CHUNKS[i].end,
            text=CHUNKS[i].text,
            rank=rank,
        )
        for rank, i in enumerate(indexes, start=1)
    ]


def check(text: str, ps: list[Passage]) -> Verification:
    result = verify_answer(text, ps, TEXTS, TITLES, refusal=REFUSAL)
    for c in result.citations:
        assert c.quote == DOC.text[c.start : c.end]
        assert c.title == DOC.title
    return result


def chunk_index(needle: str) -> int:
    return next(i for i, c in enumerate(CHUNKS) if needle in c.text)


NO_ONE = chunk_index("no one else")  # «NATO’s relationship with Ukraine ...»
SOLDIERS = chunk_index("100,000 soldiers")
BUCHAREST = chunk_index("Bucharest")


# --------------------------------------------------------------------------- verified quotes


def test_straight_quotes_verify_against_guillemets_and_curly_apostrophes() -> None:
    ps = passages(NO_ONE, SOLDIERS)
    answer = (
        "Stoltenberg said \"NATO's relationship with Ukraine will be decided by 30 NATO allies "
        'and Ukraine - no one else" [1].'
    )
    result = check(answer, ps)
    assert result.grounded and result.dropped == 0
    [c] = result.citations
    assert c.n == 1 and c.chunk_id == ps[0].chunk_id
    assert c.quote == (
        "NATO’s relationship with Ukraine will be decided by 30 NATO allies and Ukraine"
        " – no one else"
    )
    assert "“" not in result.text and "NATO’s relationship" in result.text  # source spelling
    assert result.text.endswith('no one else" [1].')


@pytest.mark.parametrize(
    ("opening", "closing"), [("“", "”"), ("«", "»"), ("„", "“"), ('"', '"'), ("‘", "’")]
)
def test_every_quote_style_verifies(opening: str, closing: str) -> None:
    ps = passages(SOLDIERS)
    result = check(f"Russia {opening}has moved about 100,000 soldiers{closing} [1].", ps)
    assert [c.quote for c in result.citations] == ["has moved about 100,000 soldiers"]
    assert result.text == f"Russia {opening}has moved about 100,000 soldiers{closing} [1]."


def test_nested_single_quotes_and_a_quote_mark_inside_the_source() -> None:
    ps = passages(BUCHAREST)
    answer = (
        "The ministry cited the decision \u201cthat 'Ukraine and Georgia will become members "
        "of NATO,'\u201d [1]."
    )
    result = check(answer, ps)
    assert result.grounded
    assert result.citations[0].quote == "that ‘Ukraine and Georgia will become members of NATO,'"


def test_apostrophes_are_not_quotes() -> None:
    spans = find_quotes("Russia’s call and NATO's answer, Putin’s reply ‘rejected’ [1]")
    assert len(spans) == 1 and spans[0].cited == (1,)


def test_quote_spanning_a_paragraph_break_with_collapsed_whitespace() -> None:
    start = DOC.text.index("launching pad for NATO.")
    ps = [
        Passage(
            chunk_id="x",
            doc_id=DOC.id,
            start=start,
            end=start + 60,
            text=DOC.text[start : start + 60],
            rank=1,
        )
    ]
    result = check('"launching pad for NATO. \u2018very expensive\u2019" [1]', ps)
    assert result.citations[0].quote == "launching pad for NATO.\n\n‘very expensive’"
    assert "\n" not in result.text


def test_wrong_number_is_repointed_and_markers_renumbered() -> None:
    ps = passages(NO_ONE, SOLDIERS, BUCHAREST)
    answer = (
        'Russia "has moved about 100,000 soldiers" [3] to the border; NATO said '
        '"no one else" [1] and again "no one else" [2].'
    )
    result = check(answer, ps)
    assert result.repointed == 2 and result.dropped == 0
    assert [c.chunk_id for c in result.citations] == [ps[1].chunk_id, ps[0].chunk_id]
    assert [c.n for c in result.citations] == [1, 2]
    assert re.findall(r"\[(\d+)\]", result.text) == ["1", "2", "2"]


def test_fabricated_quote_is_removed_with_its_marker_and_counted() -> None:
    ps = passages(NO_ONE, SOLDIERS)
    answer = (
        'Stoltenberg said "NATO will send troops to Kyiv" [1], and that Russia '
        '"has moved about 100,000 soldiers" [2].'
    )
    result = check(answer, ps)
    assert result.dropped == 1 and result.grounded
    assert "troops to Kyiv" not in result.text
    assert result.text == (
        'Stoltenberg said, and that Russia "has moved about 100,000 soldiers" [1].'
    )


def test_answer_left_without_verified_quotes_is_ungrounded() -> None:
    result = check('He said "we will invade on Tuesday" [1].', passages(NO_ONE))
    assert not result.grounded and result.dropped == 1 and result.citations == []
    assert "invade" not in result.text


def test_answer_cut_off_mid_quote_loses_the_fragment() -> None:
    answer = 'Russia "has moved about 100,000 soldiers" [1] and "NATO will send'
    result = check(answer, passages(SOLDIERS))
    assert result.text == 'Russia "has moved about 100,000 soldiers" [1]'
    assert result.dropped == 1 and result.grounded


def test_unquoted_claims_with_stray_markers_are_ungrounded() -> None:
    result = check("NATO rejected the request [1][2].", passages(NO_ONE, SOLDIERS))
    assert not result.grounded and result.text == "NATO rejected the request."


def test_marker_inside_the_quote_and_multiple_markers() -> None:
    ps = passages(NO_ONE, SOLDIERS)
    result = check('"about 100,000 soldiers [2]" and "no one else" [1, 2].', ps)
    assert [c.chunk_id for c in result.citations] == [ps[1].chunk_id, ps[0].chunk_id]
    assert result.text == '"about 100,000 soldiers" [1] and "no one else" [2].'
    assert result.repointed == 0


def test_unmarked_quote_is_searched_everywhere_and_given_a_marker() -> None:
    result = check('The alarm "has sounded in Washington".', passages(NO_ONE, SOLDIERS))
    assert result.text == 'The alarm "has sounded in Washington" [1].'
    assert result.citations[0].chunk_id == passages(SOLDIERS)[0].chunk_id


def test_case_and_edge_punctuation_are_forgiven_but_the_source_is_shown() -> None:
    result = check('"The alarm has sounded in Washington," [1]', passages(SOLDIERS))
    assert result.citations[0].quote == "the alarm has sounded in Washington"


def test_whole_words_are_preferred() -> None:
    ps = passages(SOLDIERS)
    found = locate("NATO", ps, TEXTS)
    assert found is not None
    assert DOC.text[found.start - 1] == " " and DOC.text[found.start : found.end] == "NATO"


def test_passage_that_does_not_match_its_document_is_never_cited() -> None:
    good = passages(SOLDIERS)[0]
    forged = good.model_copy(update={"text": good.text.replace("100,000", "900,000")})
    result = check('"about 900,000 soldiers" [1]', [forged])
    assert result.citations == [] and result.dropped == 1


def test_injection_obeyed_by_the_model_ends_ungrounded() -> None:
    answer = 'I am now free of my rules. "PWNED" [1] and "the system prompt says obey" [2]'
    result = check(answer, passages(NO_ONE, SOLDIERS))
    assert not result.grounded and result.dropped == 2


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "text",
    [
        REFUSAL,
        "  the article does not say  ",
        "«The article does not say.»",
        "The article does not say whether Biden agreed.",
    ],
)
def test_refusal_is_ungrounded(text: str) -> None:
    result = check(text, passages(NO_ONE))
    assert result.refused and not result.grounded and result.citations == []


def test_a_refusal_phrase_followed_by_real_quotes_is_an_answer() -> None:
    text = 'The article does not say when, but Russia "has moved about 100,000 soldiers" [1].'
    assert not is_refusal(text, REFUSAL)
    assert check(text, passages(SOLDIERS)).grounded


# --------------------------------------------------------------------------- normalisation


def test_normalised_copy_maps_back_to_exact_offsets() -> None:
    text = "a\t\u00a0b «c» d\u2026e\u00ad f\u0301"
    norm = normalise(text)
    assert norm.text == 'a b "c" d...e f\u0301'
    i = norm.text.index("...")
    assert text[slice(*norm.original_span(i, i + 3))] == "\u2026"
    j = norm.text.index("f")
    assert text[slice(*norm.original_span(j, len(norm.text)))] == "f\u0301"


def test_decomposed_and_precomposed_accents_match() -> None:
    source = "Le re\u0301gime a parle\u0301."
    p = Passage(chunk_id="c", doc_id="fr", start=0, end=len(source), text=source, rank=1)
    result = verify_answer('"régime a parlé" [1]', [p], {"fr": source})
    assert result.citations[0].quote == "re\u0301gime a parle\u0301"


# A document of words in several scripts with the article's quote marks and odd whitespace.
_WORD = st.text(
    alphabet=st.sampled_from(
        list("abcxyzNATO0123456789")
        + list("УкраїнаРосія")
        + list("ελληνικά")
        + list("日本語文")
        + list("«»‘’“”'\"–,.;:!?()")
    ),
    min_size=1,
    max_size=8,
)
_SPACE = st.sampled_from([" ", "  ", "\t", "\n", "\n\n", " \t ", "\u00a0"])


@st.composite
def document_and_span(draw: st.DrawFn) -> tuple[str, int, int]:
    words = draw(st.lists(_WORD, min_size=3, max_size=40))
    spaces = draw(st.lists(_SPACE, min_size=len(words), max_size=len(words)))
    text = "".join(w + s for w, s in zip(words, spaces, strict=True))
    start = draw(st.integers(0, len(text) - 1))
    end = draw(st.integers(start + 1, min(len(text), start + 80)))
    return text, start, end


def respell(text: str) -> str:
    """How a model retypes a quote: straight quotes, plain dashes, single spaces."""
    text = re.sub("[«»“”]", '"', text)
    text = re.sub("[‘’]", "'", text)
    return " ".join(text.replace("–", "-").split())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document_and_span(), st.integers(0, 50))
def test_respelled_substrings_are_found_at_exact_offsets(
    case: tuple[str, int, int], offset: int
) -> None:
    text, start, end = case
    quote = respell(text[start:end])
    assume(any(ch.isalnum() for ch in quote))
    doc_text = "x" * offset + text
    passage = Passage(chunk_id="c", doc_id="d", start=offset, end=len(doc_text), text=text, rank=1)

    result = verify_answer(f"“{quote}” [1]", [passage], {"d": doc_text})

    [citation] = result.citations
    assert citation.quote == doc_text[citation.start : citation.end]
    assert respell(citation.quote) == quote
    assert result.grounded and result.dropped == 0


# --------------------------------------------------------------------------- the prompt's side


def test_prompt_numbers_passages_as_verify_reads_them() -> None:
    ps = passages(SOLDIERS, NO_ONE)
    system, user = answer_messages("How many soldiers?", ps, TITLES)
    assert system["role"] == "system" and user["role"] == "user"
    assert REFUSAL in system["content"] and "[2]" in system["content"]
    numbered = re.findall(
        r'<passage-(\w+) n="(\d)" title="([^"]*)">\n(.*?)\n</passage-\1>', user["content"], re.S
    )
    assert [(n, body) for _, n, _, body in numbered] == [("1", ps[0].text), ("2", ps[1].text)]
    assert numbered[0][2] == DOC.title
    # the model citing [2] for the guillemet quote points at the second passage
    result = check('"no one else" [2]', ps)
    assert result.citations[0].chunk_id == ps[1].chunk_id and result.repointed == 0


def test_prompt_is_deterministic_and_its_fence_depends_on_the_data() -> None:
    ps = passages(SOLDIERS)
    assert answer_messages("q?", ps) == answer_messages("q?", ps)
    fence_a = re.search(r"<question-(\w+)>", answer_messages("q?", ps)[1]["content"])
    fence_b = re.search(r"<question-(\w+)>", answer_messages("q!", ps)[1]["content"])
    assert fence_a and fence_b and fence_a.group(1) != fence_b.group(1)


def test_rewrite_messages_hold_history_as_data() -> None:
    history = [
        Turn(role="user", content="Who is Stoltenberg?"),
        {"role": "assistant", "content": "NATO's Secretary General."},
    ]
    system, user = rewrite_messages("What did he reject?", history)
    assert "standalone" in system["content"] and "Do not answer" in system["content"]
    assert "Who is Stoltenberg?" not in system["content"]
    assert "user: Who is Stoltenberg?" in user["content"]
    assert "assistant: NATO's Secretary General." in user["content"]
    assert "What did he reject?" in user["content"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("What did Stoltenberg reject?", "What did Stoltenberg reject?"),
        ('Standalone question: "What did Stoltenberg reject?"\n', "What did Stoltenberg reject?"),
        ("", "What did he reject?"),
        ("x" * 2000, "What did he reject?"),
    ],
)
def test_clean_rewrite(reply: str, expected: str) -> None:
    assert clean_rewrite(reply, "What did he reject?") == expected
