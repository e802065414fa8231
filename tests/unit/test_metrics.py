"""The pure scoring math, on hand-built cases."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.types import Answer, Citation, Passage
from evals.dataset import EvalItem
from evals.metrics import (
    METRIC_KEYS,
    ItemScore,
    Span,
    citation_is_valid,
    compute_metrics,
    find_answer,
    first_hit_rank,
    gold_spans,
    normalize_text,
    overlaps,
    percentile,
    score_item,
    summarize,
    threshold_curve,
)

DOC_A = "NATO headquarters in Brussels. Russia moved about 100,000 soldiers. NATO headquarters."
DOC_B = "Talks lasted two hours in Geneva. NATO headquarters in Brussels again."
CORPUS = {"a": DOC_A, "b": DOC_B}


def span_of(doc_id: str, text: str) -> tuple[str, int, int]:
    start = CORPUS[doc_id].index(text)
    return doc_id, start, start + len(text)


def citation(n: int, doc_id: str, text: str) -> Citation:
    _, start, end = span_of(doc_id, text)
    return Citation(
        n=n, doc_id=doc_id, chunk_id=f"{doc_id}:{start}", start=start, end=end, quote=text
    )


def passage(rank: int, doc_id: str, text: str) -> Passage:
    _, start, end = span_of(doc_id, text)
    return Passage(
        chunk_id=f"{doc_id}:{start}", doc_id=doc_id, start=start, end=end, text=text, rank=rank
    )


def answer(
    text: str = "",
    *,
    grounded: bool = True,
    citations: list[Citation] | None = None,
    passages: list[Passage] | None = None,
    confidence: float = 0.5,
) -> Answer:
    return Answer(
        text=text,
        grounded=grounded,
        mode="extractive",
        citations=citations or [],
        passages=passages or [],
        confidence=confidence,
    )


def eval_item(**fields: object) -> EvalItem:
    base: dict[str, object] = {
        "id": "q1",
        "question": "How many soldiers?",
        "answerable": True,
        "answers": ["100,000"],
        "evidence": ["about 100,000 soldiers"],
        "tags": ["number"],
    }
    base.update(fields)
    return EvalItem.model_validate(base)


def row(**fields: object) -> ItemScore:
    base: dict[str, object] = {"id": "r", "answerable": True, "declined": False}
    base.update(fields)
    return ItemScore.model_validate(base)


# --------------------------------------------------------------------------- answer matching


def test_normalize_folds_case_quotes_dashes_spacing_and_thousands() -> None:
    assert normalize_text("  «NATO’s»\n\tAllies – 100,000 ") == '"nato"s" allies - 100000'
    assert normalize_text("“NATO's”") == normalize_text("‘NATO’s’") == normalize_text('"NATO\'s"')


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("NATO headquarters in Brussels.", "brussels"),
        ("moved about 100,000 soldiers", "100,000"),
        ("moved about 100,000 soldiers", "100000"),
        ("more than $2.5 billion to bolster", "$2.5 billion"),
        ("more than $2.5 billion to bolster", "2.5 billion"),
        ("«strategic and economic» consequences", '"strategic and economic"'),
        ("Russia’s military build-up", "Russia's military build-up"),
        ("Russia’s military build-up", "Russia"),
        ("30 NATO allies and Ukraine – no one else", "30 NATO allies and Ukraine - no one else"),
        ("held   two-hour\ntalks [1]", "two-hour talks"),
        ("He did not promise to do so", "DID NOT PROMISE"),
        ("Who leads NATO? Stoltenberg", "NATO"),
    ],
)
def test_answer_matches_as_whole_words(text: str, answer: str) -> None:
    assert find_answer(text, ["nothing here", answer]) == answer


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("moved about 100,000 soldiers", "100"),  # part of a number
        ("moved about 100,000 soldiers", "000"),
        ("more than $2.5 billion", "5 billion"),  # decimal part
        ("more than $2.5 billion", "2"),
        ("in 2014", "201"),
        ("the article says", "art"),  # part of a word
        ("Brusselsville", "Brussels"),
        ("the two-hour talks", "hour talk"),
        ("anything", ""),  # an empty answer never matches
        ("anything", "   "),
    ],
)
def test_answer_does_not_match_inside_words_or_numbers(text: str, answer: str) -> None:
    assert find_answer(text, [answer]) is None


def test_no_answers_never_match() -> None:
    assert find_answer("Brussels", []) is None


# --------------------------------------------------------------------------- spans


def test_gold_spans_find_every_occurrence_and_respect_doc_id() -> None:
    item = eval_item(evidence=["NATO headquarters", "nowhere at all"])
    spans = gold_spans(item, CORPUS)
    assert sorted(spans) == sorted(
        [
            Span("a", 0, 17),
            Span("a", DOC_A.rindex("NATO headquarters"), DOC_A.rindex("NATO headquarters") + 17),
            Span("b", DOC_B.index("NATO"), DOC_B.index("NATO") + 17),
        ]
    )
    assert {
        s.doc_id for s in gold_spans(eval_item(evidence=["NATO headquarters"], doc_id="b"), CORPUS)
    } == {"b"}
    assert gold_spans(eval_item(doc_id="missing"), CORPUS) == []


def test_overlap_needs_a_shared_character_in_the_same_document() -> None:
    gold = [Span("a", 10, 20)]
    assert overlaps("a", 19, 30, gold)
    assert overlaps("a", 0, 11, gold)
    assert overlaps("a", 12, 15, gold)  # inside
    assert overlaps("a", 0, 100, gold)  # around
    assert not overlaps("a", 20, 30, gold)  # touching at the end
    assert not overlaps("a", 0, 10, gold)  # touching at the start
    assert not overlaps("b", 12, 15, gold)  # other document
    assert not overlaps("a", 12, 15, [])


def test_first_hit_rank_follows_rank_not_list_order() -> None:
    gold = gold_spans(eval_item(), CORPUS)
    hit = passage(3, "a", "Russia moved about 100,000 soldiers.")
    misses = [
        passage(1, "b", "Talks lasted two hours in Geneva."),
        passage(2, "a", "NATO headquarters in Brussels."),
    ]
    assert first_hit_rank([hit, *misses], gold) == 3
    assert first_hit_rank(misses, gold) is None
    # ranks with gaps count by position
    assert first_hit_rank([misses[0], hit.model_copy(update={"rank": 9})], gold) == 2


def test_citation_validity_checks_quote_against_offsets() -> None:
    good = citation(1, "a", "NATO headquarters in Brussels.")
    assert citation_is_valid(good, CORPUS)
    assert not citation_is_valid(good.model_copy(update={"start": good.start + 1}), CORPUS)
    assert not citation_is_valid(good.model_copy(update={"doc_id": "b"}), CORPUS)
    assert not citation_is_valid(good.model_copy(update={"doc_id": "zzz"}), CORPUS)
    assert not citation_is_valid(good.model_copy(update={"start": -1}), CORPUS)
    assert not citation_is_valid(good.model_copy(update={"end": 10_000}), CORPUS)
    assert not citation_is_valid(good.model_copy(update={"end": good.start, "quote": ""}), CORPUS)


# --------------------------------------------------------------------------- one item


def test_answerable_item_answered_on_the_evidence() -> None:
    sentence = "Russia moved about 100,000 soldiers."
    score = score_item(
        eval_item(),
        answer(
            f"{sentence} [1]",
            citations=[citation(1, "a", sentence)],
            passages=[
                passage(1, "b", "Talks lasted two hours in Geneva."),
                passage(2, "a", sentence),
            ],
        ),
        corpus=CORPUS,
        latency_ms=12.5,
    )
    assert score.retrieved == 2 and score.gold_spans == 1
    assert score.retrieval_hit is True and score.reciprocal_rank == 0.5
    assert score.citation_hit and score.top_citation_hit and score.evidence_hit
    assert score.answer_match is True and score.matched_answer == "100,000"
    assert (score.citations, score.valid_citations, score.cited_chars) == (1, 1, len(sentence))
    assert score.latency_ms == 12.5
    assert score.passed


def test_top_citation_is_the_lowest_marker() -> None:
    sentence = "Russia moved about 100,000 soldiers."
    cites = [citation(2, "a", sentence), citation(1, "a", "NATO headquarters in Brussels.")]
    score = score_item(eval_item(), answer("x", citations=cites), corpus=CORPUS)
    assert score.citation_hit is True and score.top_citation_hit is False
    assert score.evidence_hit is True
    assert score.answer_match is False  # "x" holds no acceptable answer


def test_declined_answerable_item_fails_even_with_the_right_words() -> None:
    sentence = "Russia moved about 100,000 soldiers."
    score = score_item(
        eval_item(),
        answer(
            sentence,
            grounded=False,
            citations=[citation(1, "a", sentence)],
            passages=[passage(1, "a", sentence)],
        ),
        corpus=CORPUS,
    )
    assert score.declined and score.retrieval_hit and score.citation_hit
    assert score.evidence_hit is False and score.answer_match is False
    assert score.matched_answer == "100,000"
    assert not score.passed


def test_unanswerable_items_pass_by_declining() -> None:
    item = eval_item(answerable=False, answers=[], evidence=[], tags=["unanswerable"])
    declined = score_item(item, answer("The article does not say.", grounded=False), corpus=CORPUS)
    assert declined.passed and declined.declined
    assert declined.retrieval_hit is None and declined.reciprocal_rank is None
    assert declined.evidence_hit is None and declined.answer_match is None
    answered = score_item(
        item,
        answer("Brussels", citations=[citation(1, "a", "NATO headquarters in Brussels.")]),
        corpus=CORPUS,
    )
    assert not answered.passed


def test_evidence_missing_from_the_corpus_is_left_out_not_a_miss() -> None:
    score = score_item(
        eval_item(evidence=["not in any document"]), answer("100,000"), corpus=CORPUS
    )
    assert score.gold_spans == 0
    assert score.retrieval_hit is None and score.evidence_hit is None
    assert score.answer_match is True
    assert math.isnan(compute_metrics([score])["retrieval_hit_at_k"])


def test_non_finite_latency_is_not_recorded() -> None:
    score = score_item(eval_item(), answer(), corpus=CORPUS, latency_ms=math.nan)
    assert score.latency_ms is None


# --------------------------------------------------------------------------- aggregation


def test_metrics_over_hand_built_rows() -> None:
    rows = [
        row(
            retrieval_hit=True,
            reciprocal_rank=1.0,
            evidence_hit=True,
            answer_match=True,
            citations=2,
            valid_citations=2,
            cited_chars=100,
            latency_ms=10.0,
        ),
        row(
            retrieval_hit=True,
            reciprocal_rank=0.25,
            evidence_hit=False,
            answer_match=False,
            citations=1,
            valid_citations=0,
            cited_chars=50,
            latency_ms=20.0,
        ),
        row(
            declined=True,
            retrieval_hit=False,
            reciprocal_rank=0.0,
            evidence_hit=False,
            answer_match=False,
            latency_ms=30.0,
        ),
        row(answerable=False, declined=True, latency_ms=40.0),
        row(
            answerable=False,
            declined=False,
            citations=1,
            valid_citations=1,
            cited_chars=30,
            latency_ms=50.0,
        ),
    ]
    m = compute_metrics(rows)
    assert list(m) == list(METRIC_KEYS)
    assert m["retrieval_hit_at_k"] == pytest.approx(2 / 3)
    assert m["mrr"] == pytest.approx((1 + 0.25 + 0) / 3)
    assert m["evidence_hit"] == pytest.approx(1 / 3)
    assert m["answer_match"] == pytest.approx(1 / 3)
    assert m["citation_validity"] == pytest.approx(3 / 4)
    assert m["refusal_recall"] == pytest.approx(1 / 2)
    assert m["false_refusal_rate"] == pytest.approx(1 / 3)
    assert m["cited_chars_mean"] == pytest.approx((100 + 50 + 30) / 3)  # answered items only
    assert m["latency_p50_ms"] == pytest.approx(30.0)
    assert m["latency_p95_ms"] == pytest.approx(48.0)
    assert m["pass_rate"] == pytest.approx(2 / 5)


def test_empty_denominators_are_nan_not_zero() -> None:
    only_answerable = compute_metrics(
        [row(evidence_hit=True, retrieval_hit=True, reciprocal_rank=1.0)]
    )
    assert math.isnan(only_answerable["refusal_recall"])
    assert math.isnan(only_answerable["citation_validity"])  # no citations at all
    assert math.isnan(only_answerable["latency_p50_ms"])
    assert math.isnan(only_answerable["answer_match"])  # no item had answers
    assert only_answerable["false_refusal_rate"] == 0.0

    only_unanswerable = compute_metrics([row(answerable=False, declined=True)])
    for key in (
        "retrieval_hit_at_k",
        "mrr",
        "evidence_hit",
        "false_refusal_rate",
        "cited_chars_mean",
    ):
        assert math.isnan(only_unanswerable[key]), key
    assert only_unanswerable["refusal_recall"] == 1.0

    assert all(math.isnan(v) for v in compute_metrics([]).values())


def test_percentile_interpolates() -> None:
    assert percentile([40, 10, 30, 20], 50) == pytest.approx(25.0)
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert percentile([7.0], 95) == 7.0
    assert math.isnan(percentile([], 50))


def test_per_tag_metrics_count_an_item_under_each_of_its_tags() -> None:
    rows = [
        row(id="1", tags=["fact", "number"], evidence_hit=True),
        row(id="2", tags=["fact"], evidence_hit=False),
        row(id="3", tags=["unanswerable", "adversarial"], answerable=False, declined=True),
        row(id="4", tags=["unanswerable"], answerable=False, declined=False),
    ]
    summary = summarize(rows)
    assert set(summary.by_tag) == {"fact", "number", "unanswerable", "adversarial"}
    assert summary.by_tag["fact"]["evidence_hit"] == 0.5
    assert summary.by_tag["number"]["evidence_hit"] == 1.0
    assert summary.by_tag["unanswerable"]["refusal_recall"] == 0.5
    assert summary.by_tag["adversarial"]["refusal_recall"] == 1.0
    assert math.isnan(summary.by_tag["adversarial"]["evidence_hit"])
    assert summary.tag_counts["fact"]["items"] == 2
    assert summary.counts == {
        "items": 4,
        "answerable": 2,
        "unanswerable": 2,
        "declined": 1,
        "hedged": 0,
        "citations": 0,
        "passed": 2,
    }
    assert summary.metrics["evidence_hit"] == 0.5


def test_report_recomputes_from_serialised_rows() -> None:
    sentence = "Russia moved about 100,000 soldiers."
    scores = [
        score_item(
            eval_item(),
            answer(
                sentence,
                citations=[citation(1, "a", sentence)],
                passages=[passage(1, "a", sentence)],
            ),
            corpus=CORPUS,
            latency_ms=5.0,
        ),
        score_item(
            eval_item(id="q2", answerable=False, answers=[], evidence=[], tags=["unanswerable"]),
            answer("no", grounded=False),
            corpus=CORPUS,
            latency_ms=7.0,
        ),
    ]
    lines = [json.dumps({**s.model_dump(mode="json"), "question": "extra"}) for s in scores]
    assert json.loads(lines[0])["passed"] is True
    again = [json.loads(line) for line in lines]
    assert summarize(again).to_json() == summarize(scores).to_json()
    as_json = summarize(again).to_json()
    json.dumps(as_json, allow_nan=False)  # NaN became None
    assert as_json["metrics"]["citation_validity"] == 1.0
    assert as_json["by_tag"]["number"]["refusal_recall"] is None


# --------------------------------------------------------------------------- threshold curve


def test_threshold_curve_by_hand() -> None:
    rows = [
        row(confidence=0.9, citation_hit=True, top_citation_hit=True),
        row(confidence=0.4, citation_hit=True, top_citation_hit=False),
        row(confidence=0.2, citation_hit=False, top_citation_hit=False),
        row(answerable=False, confidence=0.3),
        row(answerable=False, confidence=0.1),
    ]
    low, mid, high = threshold_curve(rows, [0.0, 0.35, 1.0])
    assert (low.refusal_recall, low.false_refusal_rate) == (0.0, 0.0)
    assert low.evidence_hit == pytest.approx(2 / 3) and low.top_evidence_hit == pytest.approx(1 / 3)
    assert mid.threshold == 0.35
    assert mid.refusal_recall == 1.0 and mid.false_refusal_rate == pytest.approx(1 / 3)
    assert mid.evidence_hit == pytest.approx(2 / 3)
    assert (high.refusal_recall, high.false_refusal_rate, high.evidence_hit) == (1.0, 1.0, 0.0)


def test_threshold_curve_with_one_side_missing_is_nan() -> None:
    (point,) = threshold_curve([row(confidence=0.5, citation_hit=True)], [0.3])
    assert math.isnan(point.refusal_recall)
    assert point.evidence_hit == 1.0


_rows = st.lists(
    st.builds(
        lambda answerable, confidence, hit, top: row(
            answerable=answerable,
            confidence=confidence,
            citation_hit=(hit or top) if answerable else None,
            top_citation_hit=top if answerable else None,
        ),
        st.booleans(),
        st.floats(0, 1),
        st.booleans(),
        st.booleans(),
    ),
    min_size=1,
    max_size=30,
)


@given(rows=_rows, thresholds=st.lists(st.floats(0, 1), min_size=2, max_size=10))
def test_threshold_curve_is_monotone(rows: list[ItemScore], thresholds: list[float]) -> None:
    curve = threshold_curve(rows, sorted(thresholds))
    for before, after in itertools.pairwise(curve):
        for key in ("refusal_recall", "false_refusal_rate"):
            a, b = getattr(before, key), getattr(after, key)
            assert (math.isnan(a) and math.isnan(b)) or a <= b
        for key in ("evidence_hit", "top_evidence_hit"):
            a, b = getattr(before, key), getattr(after, key)
            assert (math.isnan(a) and math.isnan(b)) or a >= b
    for point in curve:
        if not math.isnan(point.evidence_hit):
            assert point.top_evidence_hit <= point.evidence_hit
