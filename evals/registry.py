"""Every metric of an eval run, described once: key, label, meaning, direction, unit.

Before this module the same facts lived in four places (the CLI's gates, the report's labels and
formats, compare's verdicts and delta formats) and two of them disagreed about
``cited_chars_mean``. Now metrics, report writers, ``evals.compare``, ``evals.gates`` and the
CLI's table all read the entry here, so a new metric is one new entry and a direction cannot
differ between the gate that blocks a merge and the comparison that explains it.

Units decide formatting:

- ``fraction``: a share in [0, 1]; people read it as a percentage, changes in percentage points.
- ``score``: a number in [0, 1] that is no share of items (MRR); shown with three decimals.
- ``ms`` and ``chars``: plain quantities; shown with their unit.

``raw`` formatting is what ``--fail-under`` takes (0.873, 1234.5), for the CLI table and the gate
messages; ``format`` is for people reading a report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

__all__ = [
    "METRICS",
    "Direction",
    "Metric",
    "format_delta",
    "format_metric",
    "get",
    "label",
    "ordered_keys",
    "population",
    "row_metric_keys",
]

Unit = Literal["fraction", "score", "ms", "chars"]
Population = Literal["items", "answerable", "unanswerable", "answered", "citations"]


class Direction(IntEnum):
    """Which way is better; the sign a change is multiplied by to judge it."""

    HIGHER = 1
    LOWER = -1


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric: what it is called, what it means and how it is read."""

    key: str
    label: str
    help: str
    direction: Direction
    unit: Unit
    population: Population  # what its denominator counts: a rate over 3 and over 300 differ
    from_rows: bool = True  # computed by ``evals.metrics.summarize``; False: added by a judge
    noise: float = 0.0  # a relative change within this share of the earlier value is noise
    per_tag_verdict: bool = True  # False: per-tag values too few to call better or worse

    @property
    def lower_is_better(self) -> bool:
        return self.direction is Direction.LOWER

    def format(self, value: float | None) -> str:
        """For people: rates as percentages, MRR as a fraction, times in ms; "n/a" for none."""
        if _missing(value):
            return "n/a"
        assert value is not None
        if self.unit == "ms":
            return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"
        if self.unit == "chars":
            return f"{value:,.0f}"
        if self.unit == "score":
            return f"{value:.3f}"
        return f"{value * 100:.1f}%"

    def format_raw(self, value: float | None) -> str:
        """In the units ``--fail-under`` takes, so a gate can be written from what is shown."""
        if _missing(value):
            return "n/a"
        assert value is not None
        return f"{value:.1f}" if self.unit in ("ms", "chars") else f"{value:.3f}"

    def format_delta(self, delta: float | None) -> str:
        """A change in the metric's own unit: percentage points for rates, ms for latencies."""
        if _missing(delta):
            return "n/a"
        assert delta is not None
        sign = "+" if delta > 0 else "−" if delta < 0 else "±"
        size = abs(delta)
        if self.unit == "ms":
            return f"{sign}{size:,.1f} ms"
        if self.unit == "chars":
            return f"{sign}{size:,.1f}"
        if self.unit == "score":
            return f"{sign}{size:.3f}"
        return f"{sign}{size * 100:.1f} pp"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


_H, _L = Direction.HIGHER, Direction.LOWER


def _latency(key: str, label: str, help: str) -> Metric:
    """Wall time moves between two runs of the same code, by up to a tenth here; and a
    percentile of the handful of timings in one tag moves with the machine's load alone."""
    return Metric(key, label, help, _L, "ms", "items", noise=0.10, per_tag_verdict=False)


# Order is the order of every table: the headline first, then DESIGN.md's order.
METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric(
            "pass_rate",
            "pass rate",
            "items passed: answerable ones answered with a citation on the evidence, "
            "unanswerable ones declined",
            _H,
            "fraction",
            "items",
        ),
        Metric(
            "retrieval_hit_at_k",
            "retrieval hit@k",
            "answerable items whose gold evidence overlaps a retrieved passage",
            _H,
            "fraction",
            "answerable",
        ),
        Metric(
            "mrr",
            "MRR",
            "mean reciprocal rank of the first passage holding gold evidence",
            _H,
            "score",
            "answerable",
        ),
        Metric(
            "evidence_hit",
            "evidence hit",
            "answerable items answered (not declined) with a citation that overlaps gold evidence",
            _H,
            "fraction",
            "answerable",
        ),
        Metric(
            "answer_match",
            "answer match",
            "answerable items whose answer text contains an acceptable answer",
            _H,
            "fraction",
            "answerable",
        ),
        Metric(
            "citation_validity",
            "citation validity",
            "citations whose quote equals the source text at their offsets",
            _H,
            "fraction",
            "citations",
        ),
        Metric(
            "refusal_recall",
            "refusal recall",
            "unanswerable items the assistant declined",
            _H,
            "fraction",
            "unanswerable",
        ),
        Metric(
            "false_refusal_rate",
            "false refusal rate",
            "answerable items the assistant declined (a hedged guess is not a refusal)",
            _L,
            "fraction",
            "answerable",
        ),
        Metric(
            "hedge_rate",
            "hedge rate",
            "items answered with the closest sentence marked as a guess: neither a grounded "
            "answer nor a refusal",
            _L,
            "fraction",
            "items",
        ),
        Metric(
            "hedge_hit",
            "hedge hit",
            "hedged answerable items whose guessed sentence is on the evidence",
            _H,
            "fraction",
            "hedged answerable",
        ),
        # Lower is better: DESIGN.md asks for tight citations ("quoting everything is no
        # answer"). Quoting nothing is caught by evidence_hit and citation_validity, which fall.
        Metric(
            "cited_chars_mean",
            "cited chars (mean)",
            "characters quoted per answer (tight citations are better)",
            _L,
            "chars",
            "answered",
        ),
        Metric(
            "claims_removed_mean",
            "claims removed (mean)",
            "model claims per question that the cited sentences did not state, removed "
            "before showing (LLM mode)",
            _L,
            "score",
            "items",
        ),
        Metric(
            "unanswerable_claims_mean",
            "claims on unanswerable (mean)",
            "claims shown per question the article does not answer: each one is unsupported",
            _L,
            "score",
            "unanswerable",
        ),
        _latency("latency_p50_ms", "latency p50", "median wall time per question"),
        _latency("latency_p95_ms", "latency p95", "95th percentile wall time per question"),
        Metric(
            "judge_faithfulness_mean",
            "faithfulness (LLM judge)",
            "share of an answer's claims its quotes support, per the configured LLM (--judge); "
            "over the answers it judged",
            _H,
            "fraction",
            "answered",
            from_rows=False,
        ),
    )
}


def get(key: str) -> Metric | None:
    """The entry for ``key``; None for a key no version of the product wrote."""
    return METRICS.get(key)


def row_metric_keys() -> tuple[str, ...]:
    """The keys ``evals.metrics.summarize`` computes from rows, in table order."""
    return tuple(k for k, m in METRICS.items() if m.from_rows)


def ordered_keys(keys: Iterable[str]) -> list[str]:
    """Registry order first, keys it does not know (an old or newer report) kept at the end."""
    present = list(dict.fromkeys(keys))
    return [k for k in METRICS if k in present] + [k for k in present if k not in METRICS]


def label(key: str) -> str:
    metric = METRICS.get(key)
    return metric.label if metric else key


def format_metric(key: str, value: float | None) -> str:
    """``Metric.format`` by key; an unknown key is shown with three decimals."""
    metric = METRICS.get(key)
    if metric is None:
        return "n/a" if _missing(value) else f"{value:.3f}"
    return metric.format(value)


def format_delta(key: str, delta: float | None) -> str:
    """``Metric.format_delta`` by key; an unknown key is shown with three decimals."""
    metric = METRICS.get(key)
    if metric is None:
        return "n/a" if _missing(delta) else f"{delta:+.3f}"
    return metric.format_delta(delta)


def population(key: str, counts: Mapping[str, int]) -> str:
    """ "120 answerable": how many the metric is taken over, for the "of" column."""
    metric = METRICS.get(key)
    kind = metric.population if metric else "items"
    if kind == "answered":
        n = counts.get("items", 0) - counts.get("declined", 0) - counts.get("hedged", 0)
    elif kind == "hedged answerable":
        return f"{counts.get('hedged', 0)} hedged"
    else:
        n = counts.get(kind, 0)
    return f"{n} {kind}"
