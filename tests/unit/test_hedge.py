"""Between "answered" and "the article does not say": the closest sentence shown as a guess.

The real reader scores the candidates; the thresholds put its confidence below, inside or
above the hedge band, so each outcome is forced without faking the model.
"""

from __future__ import annotations

import pytest

from assistant.extractive import DECLINE_TEXT, ExtractiveAnswerer
from assistant.reader.model import shared_reader
from assistant.types import HEDGE_TEXT, Answer, Citation, Passage
from evals.calibration import choose_hedge
from evals.dataset import EvalItem
from evals.metrics import compute_metrics, score_item
from evals.rows import ResultRow

DOC = (
    "The bridge was opened in 1932 by the city council. "
    "Its architect was a local engineer named Ada Byrne. "
    "Traffic on the bridge doubled within ten years."
)
PASSAGE = Passage(chunk_id="c1", doc_id="d", start=0, end=len(DOC), text=DOC, rank=1)
QUESTION = "Who drew up the plans for the bridge?"


def answer(threshold: float, hedge: float | None) -> Answer:
    answerer = ExtractiveAnswerer(shared_reader(), threshold=threshold, hedge_threshold=hedge)
    return answerer.answer(QUESTION, [PASSAGE], {"d": "Bridge"})


def test_inside_the_band_the_closest_sentence_is_shown_as_a_guess() -> None:
    got = answer(threshold=1.0, hedge=0.0)  # any confidence falls in [0, 1)
    assert got.hedged and not got.grounded
    assert got.text.startswith(HEDGE_TEXT)
    [c] = got.citations
    assert DOC[c.start : c.end] == c.quote and c.quote in got.text
    assert got.short_answer is None  # a guess carries no short answer


def test_below_the_band_it_declines_and_above_it_answers() -> None:
    declined = answer(threshold=1.0, hedge=None)  # no band: below the threshold is a decline
    assert not declined.grounded and not declined.hedged and declined.text == DECLINE_TEXT
    assert not declined.citations
    answered = answer(threshold=0.0, hedge=0.0)
    assert answered.grounded and not answered.hedged and answered.citations


def item(answerable: bool) -> EvalItem:
    return EvalItem(
        id="i",
        question=QUESTION,
        answerable=answerable,
        answers=["Ada Byrne"] if answerable else [],
        evidence=["Its architect was a local engineer named Ada Byrne."] if answerable else [],
    )


def hedged_answer(start: int, end: int) -> Answer:
    quote = DOC[start:end]
    cite = Citation(n=1, doc_id="d", chunk_id="c1", start=start, end=end, quote=quote)
    return Answer(
        text=f"{HEDGE_TEXT} “{quote}” [1]",
        citations=[cite],
        grounded=False,
        hedged=True,
        mode="extractive",
        passages=[PASSAGE],
    )


def test_a_hedge_is_counted_apart_from_answers_and_refusals() -> None:
    at = DOC.index("Its architect")
    right = hedged_answer(at, DOC.index(" Traffic"))  # the architect sentence: on the evidence
    wrong = hedged_answer(0, at - 1)
    rows = [
        score_item(item(True), right, corpus={"d": DOC}),
        score_item(item(True), wrong, corpus={"d": DOC}),
        score_item(item(False), wrong, corpus={"d": DOC}),
    ]
    assert all(r.hedged and not r.declined for r in rows)
    assert rows[0].evidence_hit is False and rows[0].answer_match is False  # not an answer
    m = compute_metrics(rows)
    assert m["hedge_rate"] == 1.0
    assert m["hedge_hit"] == 0.5
    assert m["false_refusal_rate"] == 0.0 and m["refusal_recall"] == 0.0
    assert m["evidence_hit"] == 0.0


def row(answerable: bool, confidence: float, hit: bool) -> ResultRow:
    return ResultRow(
        id=f"{answerable}{confidence}{hit}",
        answerable=answerable,
        declined=False,
        confidence=confidence,
        top_citation_hit=hit if answerable else None,
        citation_hit=hit if answerable else None,
    )


def test_the_hedge_threshold_keeps_guesses_right_at_least_half_the_time() -> None:
    rows = {
        "a": [
            row(True, 0.9, True),  # answered above the decline threshold: not in any band
            row(True, 0.45, True),
            row(False, 0.42, False),
            row(True, 0.30, True),
            row(False, 0.20, False),
            row(False, 0.15, False),
            row(False, 0.10, False),
        ]
    }
    # [0.30, 0.5): 2 right of 3; [0.16, 0.5): 2 of 4; [0.15, 0.5): 2 of 5, too few. The
    # thresholds tried are a 0.01 grid, so the lowest one keeping 0.15 out is 0.16.
    assert choose_hedge(rows, 0.5) == 0.16
    # nothing below the decline threshold is right: no band at all
    assert choose_hedge({"a": [row(False, 0.3, False)]}, 0.5) == 0.5


def test_the_hedge_band_keeps_its_calibrated_width_below_a_threshold_set_by_hand(
    tmp_path, monkeypatch
) -> None:
    import json

    import assistant.settings as settings_module

    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"decline_threshold": 0.6, "hedge_threshold": 0.5}))
    monkeypatch.setattr(settings_module, "CALIBRATION_FILE", path)
    monkeypatch.delenv("ASSISTANT_HEDGE_THRESHOLD", raising=False)
    monkeypatch.delenv("ASSISTANT_DECLINE_THRESHOLD", raising=False)
    settings_module.calibrated_defaults.cache_clear()
    try:
        assert settings_module.load_settings().hedge_threshold == 0.5
        moved = settings_module.load_settings(decline_threshold=0.9)
        assert moved.hedge_threshold == pytest.approx(0.8)  # the band moves, 0.1 wide
        assert settings_module.load_settings(hedge_threshold=0.2).hedge_threshold == 0.2
        monkeypatch.setenv("ASSISTANT_HEDGE_THRESHOLD", "0.3")
        assert settings_module.load_settings(decline_threshold=0.9).hedge_threshold == 0.3
    finally:
        settings_module.calibrated_defaults.cache_clear()
