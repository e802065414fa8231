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
    assert model.probability(s) == pytest.approx(1 / (1 + math.exp(1.0)))
    assert DeclineModel.load(tmp_path / "missing.json") == DeclineModel()


def test_the_shipped_model_reads_every_feature_it_weighs() -> None:
    data = json.loads(DECLINE_FILE.read_text())
    assert list(data["weights"]) == list(FEATURES)
    assert DeclineModel.load(DECLINE_FILE) != DeclineModel()
