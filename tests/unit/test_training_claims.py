"""The training data of the two new lessons: questions reworded in other words (positives the
reader must still answer) and the verifier's (claim, sentence) pairs. Real WordLlama vectors;
no torch needed."""

from __future__ import annotations

import random
import re

import pytest

from training.reader.edits import _ANTONYMS
from training.reader.paraphrase import Synonyms, reword
from training.reader.verifier import claim_pairs, clauses

TEXTS = [
    "The city purchased the old bridge and the army moved its soldiers to the border. "
    "Officials bought land near the large lake, and troops were located by the river. "
    "The council decided to increase the budget for the big new school, situated by the lake."
] * 30  # each word seen often enough to be a replacement


@pytest.fixture(scope="module")
def synonyms() -> Synonyms:
    return Synonyms(TEXTS, _ANTONYMS)


def test_words_of_the_same_meaning_exclude_forms_and_antonyms(synonyms: Synonyms) -> None:
    assert "situated" in synonyms.of("located")
    assert "troops" in synonyms.of("soldiers")
    # a replacement keeps the word's ending ("-ed" for "-ed"), so the question stays grammatical;
    # irregular forms are the price ("bought" is not offered for "purchased")
    assert "bought" not in synonyms.of("purchased")
    assert "decrease" not in synonyms.of("increase")  # an antonym, and not in the corpus
    # a word and its own forms share a stem or first letters: never a "rewording"
    assert all(not w.startswith("sold") for w in synonyms.of("soldiers"))


def test_a_reworded_question_keeps_names_and_the_answers_words(synonyms: Synonyms) -> None:
    sentence = "The army moved its soldiers to the border near Kiev."
    question = "Where did the Army move its soldiers near Kiev?"
    got = {reword(question, sentence, "the border", synonyms, random.Random(s)) for s in range(8)}
    got.discard(None)
    assert got, "a sentence word with a synonym should be replaced"
    for q in got:
        assert "Kiev" in q and "Army" in q  # names stay
        assert q != question and "soldiers" not in q  # the shared word went
    # a question sharing no replaceable word with its sentence is left alone
    assert reword("Who is Kiev's mayor?", sentence, "x", synonyms, random.Random(0)) is None


def test_claim_pairs_hold_supported_claims_and_edits_that_change_the_meaning(
    synonyms: Synonyms,
) -> None:
    sentence = "In 1990, Berlin moved 400 soldiers to the border, and the city was not rebuilt."
    names = ["Berlin", "Paris", "Dresden", "Kohl"]
    kinds: dict[str, list[str]] = {}
    for seed in range(40):
        for p in claim_pairs(
            sentence,
            [sentence, "Other news came later that year."],
            names,
            synonyms,
            random.Random(seed),
        ):
            assert p.sentence == sentence
            assert (p.label == 1) == (p.kind == "supported")
            kinds.setdefault(p.kind, []).append(p.claim)
    assert sentence in kinds["supported"]
    assert any(c != sentence for c in kinds["supported"])  # clauses or rewordings
    assert all("Berlin" not in c for c in kinds["claim-name"])
    numbers = re.compile(r"\d+")
    assert all(
        not set(numbers.findall(c)) <= set(numbers.findall(sentence)) for c in kinds["claim-number"]
    )
    assert all(c.count(" not ") != sentence.count(" not ") for c in kinds["claim-negation"])
    assert any(
        c.startswith(("Paris", "Dresden", "Kohl", "According to")) for c in kinds["claim-speaker"]
    )
    assert all("away from" in c for c in kinds.get("claim-direction", []))
    assert {"claim-reversal", "claim-other-sentence"} <= set(kinds)


def test_clauses_split_only_where_a_clause_ends() -> None:
    s = "The bridge was opened in 1932 by the council; its architect was a local engineer."
    assert clauses(s) == [
        "The bridge was opened in 1932 by the council.",
        "Its architect was a local engineer.",
    ]
    assert clauses("A short sentence, with a comma.") == []
