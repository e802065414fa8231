"""Quality gates: ``--fail-under METRIC=VALUE`` as data, checked against a run's metrics.

Which side of VALUE fails comes from the metric's direction in ``evals.registry``: a metric
where higher is better fails below VALUE, one where lower is better (false refusals, latency,
cited characters) fails above it. ``evals.compare`` reads the same direction, so a gate and a
comparison never disagree about what "worse" means.

``--fail-under TAG:METRIC=VALUE`` gates the items of one tag alone
(``paraphrase:evidence_hit=0.5``): a part of a set that is worse than the whole, such as the
questions asked in other words, cannot hide behind the rest.

A gate on a metric the run did not measure (``judge_faithfulness_mean`` without ``--judge``) or
that has no value (no denominator) fails: a CI gate that passes because nothing was measured
would hide exactly what it was put there to catch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from evals import registry
from evals.errors import EvalError

__all__ = ["Gate", "GateError", "GateFailure", "check", "parse_gate", "parse_gates"]


class GateError(EvalError):
    """A gate that cannot be read, or that names no metric."""


@dataclass(frozen=True, slots=True)
class Gate:
    """``key`` must not fall short of ``threshold`` (in the metric's own direction)."""

    key: str
    threshold: float
    tag: str | None = None  # gate the items of this tag only

    @property
    def metric(self) -> registry.Metric:
        metric = registry.get(self.key)
        if metric is None:  # parse_gate refuses these; a Gate built in code may not
            raise GateError(f"--fail-under names an unknown metric {self.key!r}.")
        return metric


@dataclass(frozen=True, slots=True)
class GateFailure:
    """One gate the run did not pass, with the value it had (None: not measured or n/a)."""

    gate: Gate
    value: float | None
    measured: bool = True

    def __str__(self) -> str:
        key, want = self.gate.key, self.gate.threshold
        if self.gate.tag:
            key = f"{self.gate.tag}:{key}"
        if not self.measured:
            return f"{key} was not measured in this run"
        side = "above" if self.gate.metric.lower_is_better else "below"
        return f"{key} = {self.gate.metric.format_raw(self.value)} ({side} {want:g})"


def parse_gate(text: str) -> Gate:
    """``"mrr=0.8"`` or ``"paraphrase:mrr=0.8"`` as a Gate; ``GateError`` naming the fix for
    anything else."""
    name, sep, value = text.partition("=")
    tag, colon, metric = name.strip().rpartition(":")
    name = metric.strip()
    if colon and not tag.strip():
        raise GateError(f"--fail-under wants TAG:METRIC=VALUE, not {text!r}.")
    try:
        threshold = float(value)
    except ValueError:
        threshold = math.nan
    if not sep or not name or math.isnan(threshold):
        raise GateError(f"--fail-under wants METRIC=VALUE, not {text!r}.")
    if registry.get(name) is None:
        known = ", ".join(registry.METRICS)
        raise GateError(f"--fail-under names an unknown metric {name!r} (known: {known}).")
    return Gate(name, threshold, tag.strip() or None)


def parse_gates(texts: Iterable[str]) -> list[Gate]:
    """Every ``--fail-under`` value, checked before a run starts rather than after it."""
    return [parse_gate(t) for t in texts]


def check(
    metrics: Mapping[str, float | None],
    gates: Iterable[Gate],
    by_tag: Mapping[str, Mapping[str, float | None]] | None = None,
) -> list[GateFailure]:
    """The gates these metrics fail, in the order given; empty when all pass. A tag's gate
    reads ``by_tag[tag]``; a tag with no items in the run was not measured."""
    failures = []
    for gate in gates:
        if gate.tag is not None:
            tagged = (by_tag or {}).get(gate.tag)
            if tagged is None:
                failures.append(GateFailure(gate, None, measured=False))
                continue
            metrics_of = tagged
        else:
            metrics_of = metrics
        if gate.key not in metrics_of:
            failures.append(GateFailure(gate, None, measured=False))
            continue
        value = metrics_of[gate.key]
        if value is None or math.isnan(value):
            failures.append(GateFailure(gate, None))
            continue
        short = (value - gate.threshold) * gate.metric.direction < 0
        if short:
            failures.append(GateFailure(gate, value))
    return failures
