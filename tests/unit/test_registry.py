"""The metric registry: one entry per metric, and one direction that gates and compare share."""

from __future__ import annotations

import math

import pytest

from evals import registry
from evals.compare import MetricDelta
from evals.gates import Gate, check
from evals.judge import JUDGE_METRIC
from evals.metrics import METRIC_KEYS, summarize
from evals.registry import METRICS, Direction
from tests.unit.test_report import sample_rows


def test_every_metric_summarize_produces_has_an_entry() -> None:
    summary = summarize(sample_rows())
    assert set(summary.metrics) <= set(METRICS)
    for by_tag in summary.by_tag.values():
        assert set(by_tag) <= set(METRICS)
    # and every row metric of the registry is computed: no entry without a number behind it
    assert set(summary.metrics) == {k for k, m in METRICS.items() if m.from_rows}
    assert list(summary.metrics) == list(METRIC_KEYS)


def test_the_judge_metric_has_an_entry_but_is_not_computed_from_rows() -> None:
    assert JUDGE_METRIC in METRICS and not METRICS[JUDGE_METRIC].from_rows
    assert JUDGE_METRIC not in METRIC_KEYS


def test_every_entry_is_complete() -> None:
    for key, metric in METRICS.items():
        assert metric.key == key
        assert metric.label and metric.help, key
        assert metric.direction in (Direction.HIGHER, Direction.LOWER)
        assert metric.unit in ("fraction", "score", "ms", "chars")


def test_directions_follow_the_design() -> None:
    lower = {k for k, m in METRICS.items() if m.lower_is_better}
    assert lower == {
        "false_refusal_rate",
        "hedge_rate",  # a guess is better than a refusal, worse than an answer
        "latency_p50_ms",
        "latency_p95_ms",
        "cited_chars_mean",
        "claims_removed_mean",
        "unanswerable_claims_mean",
    }


@pytest.mark.parametrize("key", list(METRICS))
def test_direction_drives_gates_and_compare_the_same_way(key: str) -> None:
    metric = METRICS[key]
    base = 100.0 if metric.unit in ("ms", "chars") else 0.5
    step = base * 0.5  # well beyond any noise tolerance
    better = base + step * metric.direction
    worse = base - step * metric.direction
    assert MetricDelta("overall", key, base, better).verdict == "better"
    assert MetricDelta("overall", key, base, worse).verdict == "worse"
    gate = Gate(key, base)
    assert check({key: better}, [gate]) == []
    assert [f.value for f in check({key: worse}, [gate])] == [worse]
    assert check({key: base}, [gate]) == []  # exactly at the threshold passes


@pytest.mark.parametrize(
    ("key", "value", "shown", "raw", "delta", "delta_shown"),
    [
        ("pass_rate", 0.8125, "81.2%", "0.812", -0.2, "−20.0 pp"),
        ("mrr", 0.5, "0.500", "0.500", 0.25, "+0.250"),
        ("latency_p50_ms", 1234.4, "1,234 ms", "1234.4", 5.0, "+5.0 ms"),
        ("latency_p95_ms", 3.25, "3.2 ms", "3.2", 0.0, "±0.0 ms"),
        ("cited_chars_mean", 87.6, "88", "87.6", -3.0, "−3.0"),
        ("evidence_hit", None, "n/a", "n/a", None, "n/a"),
        ("evidence_hit", math.nan, "n/a", "n/a", math.nan, "n/a"),
    ],
)
def test_formats(
    key: str, value: float | None, shown: str, raw: str, delta: float | None, delta_shown: str
) -> None:
    assert registry.format_metric(key, value) == shown
    assert METRICS[key].format_raw(value) == raw
    assert registry.format_delta(key, delta) == delta_shown


def test_unknown_keys_are_kept_last_and_shown_plainly() -> None:
    assert registry.ordered_keys(["new_metric", "mrr", "pass_rate"]) == [
        "pass_rate",
        "mrr",
        "new_metric",
    ]
    assert registry.format_metric("new_metric", 0.25) == "0.250"
    assert registry.label("new_metric") == "new_metric"
    assert MetricDelta("overall", "new_metric", 0.1, 0.2).verdict == "n/a"


def test_population_counts_what_the_metric_is_taken_over() -> None:
    counts = {"items": 10, "answerable": 7, "unanswerable": 3, "declined": 4, "citations": 9}
    assert registry.population("refusal_recall", counts) == "3 unanswerable"
    assert registry.population("cited_chars_mean", counts) == "6 answered"
    assert registry.population("citation_validity", counts) == "9 citations"
