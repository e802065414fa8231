"""The decline model's signals and its probability, on hand-built cases."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from assistant.reader.decline import (
    DECLINE_FILE,
    FEATURES,
    MATCH_HIGH,
    MATCH_LOW,
    DeclineModel,
    Signals,
    content_words,
    signals,
    uncovered_share,
    unmatched_share,
)


def flat_idf(_term: str) -> float:
    return 1.0


def test_uncovered_share_weighs_rare_terms_more() -> None:
    idf = {"nato": 3.0, "headquart": 1.0}.get
    assert uncovered_share(["nato", "headquart"], {"nato"}, lambda t: idf(t) or 1.0) == 0.25
    assert uncovered_share(["nato", "headquart"], set(), lambda t: idf(t) or 1.0) == 1.0
    assert uncovered_share([], {"x"}, flat_idf) == 0.0


def vectors_of(table: dict[tuple[str, str], float]):
    """A similarity function from a table of word pairs (0 for pairs it does not list)."""

    def similarity(words, pool):
        return np.array([max((table.get((w, p), 0.0) for p in pool), default=0.0) for w in words])

    return similarity


def test_a_word_of_the_same_meaning_counts_as_held() -> None:
    similar = vectors_of({("troops", "soldiers"): 0.66, ("tanks", "soldiers"): 0.07})
    held = ["russia", "moved", "soldiers", "border"]
    # same stems: matched without vectors
    assert unmatched_share(["russia", "moved", "border"], held, flat_idf, None) == 0.0
    # a synonym is matched by its vector; a word of another meaning is not
    assert unmatched_share(["troops", "russia"], held, flat_idf, similar) == 0.0
    assert unmatched_share(["tanks", "russia"], held, flat_idf, similar) == 0.5
    # without vectors, the synonym counts as missing: the rule that declined paraphrases
    assert unmatched_share(["troops", "russia"], held, flat_idf, None) == 0.5
    # in between, by degrees: 0.45 is half-way from MATCH_LOW to MATCH_HIGH
    half = vectors_of({("gathered", "moved"): (MATCH_LOW + MATCH_HIGH) / 2})
    assert unmatched_share(["gathered"], held, flat_idf, half) == pytest.approx(0.5)
    assert unmatched_share([], held, flat_idf, similar) == 0.0


def test_rare_words_weigh_more() -> None:
    idf = {"nato": 3.0, "headquart": 1.0}
    share = unmatched_share(["nato", "headquarters"], ["nato"], lambda t: idf.get(t, 1.0), None)
    assert share == 0.25


def test_signals_of_a_question_the_sentence_does_not_cover() -> None:
    s = signals(
        "Who is the president of France?",
        [0.9, 0.2],
        0.5,
        "NATO headquarters are in Brussels.",
        "",
        content_words("NATO headquarters are in Brussels."),
        flat_idf,
    )
    assert s.unmatched == 1.0 and s.unmatched_in_document == 1.0
    assert s.margin == pytest.approx(0.7)
    assert s.reader_logit == pytest.approx(math.log(0.9 / 0.1))
    covered = signals(
        "Where are NATO headquarters?",
        [0.9],
        0.5,
        "NATO headquarters are in Brussels.",
        "",
        content_words("NATO headquarters are in Brussels."),
        flat_idf,
    )
    assert covered.unmatched == 0.0 and covered.margin == pytest.approx(0.9)


def test_signals_match_words_of_the_same_meaning_with_real_word_vectors() -> None:
    """WordLlama's own vectors (a product dependency): "troops" is held by "soldiers", and
    "tanks" is not."""
    from index.wordvectors import shared_word_vectors

    sentence = "Russia has moved about 100,000 soldiers to the border."
    kw = {"similarity": shared_word_vectors.best_similarity}
    troops = signals(
        "How many troops has Russia moved?", [0.6], 0.3, sentence, "", [], flat_idf, **kw
    )
    tanks = signals(
        "How many tanks has Russia moved?", [0.6], 0.3, sentence, "", [], flat_idf, **kw
    )
    # the same question but for one word: "troops" is held, "tanks" (a quarter of it) is not
    assert tanks.unmatched - troops.unmatched > 0.2


def test_without_a_fitted_file_the_probability_is_the_readers() -> None:
    s = Signals(
        reader_logit=math.log(0.8 / 0.2),
        margin=0.1,
        span=0.3,
        unmatched=1.0,
        unmatched_in_document=1.0,
    )
    assert DeclineModel().probability(s) == pytest.approx(0.8)


def test_a_fitted_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "decline.json"
    path.write_text(
        json.dumps({"weights": {f: 0.0 for f in FEATURES} | {"unmatched": -2.0}, "bias": 1.0})
    )
    model = DeclineModel.load(path)
    s = Signals(0.0, 0.0, 0.0, unmatched=1.0, unmatched_in_document=0.0)
    # a file of fewer features (an older fit) weighs the missing ones 0
    assert model.probability(s) == pytest.approx(1 / (1 + math.exp(1.0)))
    assert DeclineModel.load(tmp_path / "missing.json") == DeclineModel()


def test_the_shipped_model_reads_every_feature_it_weighs() -> None:
    data = json.loads(DECLINE_FILE.read_text())
    assert list(data["weights"]) == list(FEATURES)
    assert DeclineModel.load(DECLINE_FILE) != DeclineModel()


def test_a_signal_the_model_weighs_zero_is_not_computed() -> None:
    """Matching the question against every word of its document is the costly signal; the
    answerer skips it when the decline model gives it no weight, and computes it for fitting."""
    from assistant.extractive import ExtractiveAnswerer
    from assistant.reader.model import shared_reader
    from assistant.types import Document, Passage

    text = "The bridge was opened in 1932 by the city council."
    doc = Document(id="d", title="t", text=text, source="s")
    passage = Passage(chunk_id="c", doc_id="d", start=0, end=len(text), text=text, rank=1)
    question = "Which painter sold the most canvases?"
    for weights, every, computed in (
        ((1.0, 0.0, 0.0, 0.0, 0.0, 0.0), False, False),
        ((1.0, 0.0, 0.0, 0.0, -1.0, 0.0), False, True),
        ((1.0, 0.0, 0.0, 0.0, 0.0, 0.0), True, True),
    ):
        answerer = ExtractiveAnswerer(shared_reader(), threshold=0.5, decline=DeclineModel(weights))
        ranked = answerer.judge(question, [passage], {"d": doc})
        s = answerer.signals(question, ranked, {"d": doc}, every_signal=every)
        assert (s.unmatched_in_document > 0.5) is computed


def test_coverage_is_fitted_so_that_it_can_only_lower_the_probability() -> None:
    """On data where unmatched words go with answerable questions (as on dev parts whose
    unanswerable questions are all near the topic), the free fit weighs them up; the shipped
    fit holds those weights at 0 and leaves the others free."""
    from training.reader.decline import fit, fit_constrained

    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n).astype(float)
    x = np.zeros((n, len(FEATURES)))
    x[:, 0] = y * 2.0 + rng.normal(0, 1, n)  # the reader: informative
    x[:, 3] = y * 0.5 + rng.normal(0, 0.3, n)  # unmatched, higher when answerable
    x[:, 4] = (1 - y) * 0.5 + rng.normal(0, 0.3, n)  # unmatched in the document: lower
    w = np.ones(n)
    free, _ = fit(x, y, w)
    assert free[3] > 0
    weights, _ = fit_constrained(x, y, w, list(range(len(FEATURES))))
    assert weights[3] == 0.0 and weights[4] < 0 and weights[0] > 0


def test_names_and_numbers_not_in_the_document() -> None:
    from assistant.reader.decline import question_names, unheld_share

    assert question_names("Who won the football World Cup?") == ["world", "cup"]
    assert question_names("When did Olaf Scholz meet Biden in 2022?") == [
        "olaf",
        "scholz",
        "biden",
        "2022",
    ]
    assert question_names("How many troops has it moved?") == []  # nothing to hold
    held = {"olaf", "scholz", "2022", "meet"}
    assert unheld_share(question_names("When did Olaf Scholz meet Biden in 2022?"), held) == 0.25
    assert unheld_share([], held) == 0.0
