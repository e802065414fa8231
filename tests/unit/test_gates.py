"""``--fail-under`` gates: parsing, which side fails, and metrics that were not measured."""

from __future__ import annotations

import math

import pytest

from evals.gates import Gate, GateError, check, parse_gate, parse_gates


def test_parse() -> None:
    assert parse_gates(["mrr=0.8", " evidence_hit = 0.84"]) == [
        Gate("mrr", 0.8),
        Gate("evidence_hit", 0.84),
    ]


@pytest.mark.parametrize("text", ["mrr", "mrr=", "mrr=abc", "=0.5", "mrr=nan"])
def test_bad_syntax_says_how_to_write_it(text: str) -> None:
    with pytest.raises(GateError, match="METRIC=VALUE"):
        parse_gate(text)


def test_an_unknown_metric_is_refused_before_a_run() -> None:
    with pytest.raises(GateError, match=r"unknown metric 'recall'.*known: pass_rate"):
        parse_gate("recall=0.5")


def test_higher_is_better_fails_below() -> None:
    failures = check(
        {"mrr": 0.5, "evidence_hit": 0.9}, parse_gates(["mrr=0.6", "evidence_hit=0.8"])
    )
    assert [str(f) for f in failures] == ["mrr = 0.500 (below 0.6)"]


def test_lower_is_better_fails_above() -> None:
    gates = parse_gates(["false_refusal_rate=0.1", "latency_p95_ms=500", "cited_chars_mean=200"])
    metrics = {"false_refusal_rate": 0.05, "latency_p95_ms": 812.25, "cited_chars_mean": 250.0}
    assert [str(f) for f in check(metrics, gates)] == [
        "latency_p95_ms = 812.2 (above 500)",
        "cited_chars_mean = 250.0 (above 200)",
    ]


def test_a_metric_without_a_value_fails() -> None:
    (failure,) = check({"refusal_recall": math.nan}, [Gate("refusal_recall", 0.5)])
    assert str(failure) == "refusal_recall = n/a (below 0.5)"
    (failure,) = check({"refusal_recall": None}, [Gate("refusal_recall", 0.5)])
    assert failure.value is None


def test_a_metric_the_run_did_not_measure_fails() -> None:
    (failure,) = check({"mrr": 1.0}, [Gate("judge_faithfulness_mean", 0.9)])
    assert not failure.measured
    assert str(failure) == "judge_faithfulness_mean was not measured in this run"


def test_all_pass() -> None:
    assert check({"mrr": 0.9}, [Gate("mrr", 0.9)]) == []


def test_a_tag_gate_reads_that_tags_items_only() -> None:
    gate = parse_gate("paraphrase:evidence_hit=0.5")
    assert (gate.tag, gate.key, gate.threshold) == ("paraphrase", "evidence_hit", 0.5)
    overall = {"evidence_hit": 0.9}
    # the whole run passes; the reworded questions alone do not
    [failure] = check(overall, [gate], {"paraphrase": {"evidence_hit": 0.3}})
    assert str(failure) == "paraphrase:evidence_hit = 0.300 (below 0.5)"
    assert check(overall, [gate], {"paraphrase": {"evidence_hit": 0.6}}) == []
    # a tag the run has no items of was not measured: a failure, never a silent pass
    [missing] = check(overall, [gate], {"fact": {"evidence_hit": 1.0}})
    assert str(missing) == "paraphrase:evidence_hit was not measured in this run"


def test_a_tag_gate_without_a_tag_is_refused() -> None:
    with pytest.raises(GateError, match="TAG:METRIC=VALUE"):
        parse_gate(":evidence_hit=0.5")
