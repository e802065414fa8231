"""The decline model's signals and its probability, on hand-built cases."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from assistant.reader.decline import (
    DECLINE_FILE,
    FEATURES,
    DeclineModel,
    Signals,
    signals,
    uncovered_share,
)


def flat_idf(_term: str) -> float:
    return 1.0


def test_uncovered_share_weighs_rare_terms_more() -> None:
    idf = {"nato": 3.0, "headquart": 1.0}.get
    assert uncovered_share(["nato", "headquart"], {"nato"}, lambda t: idf(t) or 1.0) == 0.25
    assert uncovered_share(["nato", "headquart"], set(), lambda t: idf(t) or 1.0) == 1.0
    assert uncovered_share([], {"x"}, flat_idf) == 0.0


def test_signals_of_a_question_the_sentence_does_not_cover() -> None:
    s = signals(
        "Who is the president of France?",
        [0.9, 0.2],
        0.5,
        "NATO headquarters are in Brussels.",
        "",
        {"nato", "headquart", "brussel"},
        flat_idf,
    )
    assert s.uncovered == 1.0 and s.absent_from_document == 1.0
    assert s.margin == pytest.approx(0.7)
    assert s.reader_logit == pytest.approx(math.log(0.9 / 0.1))
    covered = signals(
        "Where are NATO headquarters?",
        [0.9],
        0.5,
        "NATO headquarters are in Brussels.",
        "",
        {"nato", "headquart", "brussel"},
        flat_idf,
    )
    assert covered.uncovered == 0.0 and covered.margin == pytest.approx(0.9)


def test_without_a_fitted_file_the_probability_is_the_readers() -> None:
    s = Signals(
        reader_logit=math.log(0.8 / 0.2),
        margin=0.1,
        span=0.3,
        uncovered=1.0,
        absent_from_document=1.0,
    )
    assert DeclineModel().probability(s) == pytest.approx(0.8)


def test_a_fitted_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "decline.json"
    path.write_text(
        json.dumps({"weights": {f: 0.0 for f in FEATURES} | {"uncovered": -2.0}, "bias": 1.0})
    )
    model = DeclineModel.load(path)
    s = Signals(0.0, 0.0, 0.0, uncovered=1.0, absent_from_document=0.0)
    assert model.probability(s) == pytest.approx(1 / (1 + math.exp(1.0)))
    assert DeclineModel.load(tmp_path / "missing.json") == DeclineModel()


def test_the_shipped_model_penalises_uncovered_questions() -> None:
    model = DeclineModel.load(DECLINE_FILE)
    base = Signals(reader_logit=1.0, margin=0.3, span=0.3, uncovered=0.0, absent_from_document=0.0)
    worse = Signals(reader_logit=1.0, margin=0.3, span=0.3, uncovered=0.8, absent_from_document=0.8)
    assert model.probability(worse) < model.probability(base)
