"""Quality gates: ``--fail-under METRIC=VALUE`` as data, checked against a run's metrics.

Which side of VALUE fails comes from the metric's direction in ``evals.registry``: a metric
where higher is better fails below VALUE, one where lower is better (false refusals, latency,
cited characters) fails above it. ``evals.compare`` reads the same direction, so a gate and a
comparison never disagree about what "worse" means.

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
        if not self.measured:
            return f"{key} was not measured in this run"
        side = "above" if self.gate.metric.lower_is_better else "below"
        return f"{key} = {self.gate.metric.format_raw(self.value)} ({side} {want:g})"


def parse_gate(text: str) -> Gate:
    """``"mrr=0.8"`` as a Gate; ``GateError`` naming the fix for anything else."""
    name, sep, value = text.partition("=")
    name = name.strip()
    try:
        threshold = float(value)
    except ValueError:
        threshold = math.nan
    if not sep or not name or math.isnan(threshold):
        raise GateError(f"--fail-under wants METRIC=VALUE, not {text!r}.")
    if registry.get(name) is None:
        known = ", ".join(registry.METRICS)
        raise GateError(f"--fail-under names an unknown metric {name!r} (known: {known}).")
    return Gate(name, threshold)


def parse_gates(texts: Iterable[str]) -> list[Gate]:
    """Every ``--fail-under`` value, checked before a run starts rather than after it."""
    return [parse_gate(t) for t in texts]


def check(metrics: Mapping[str, float | None], gates: Iterable[Gate]) -> list[GateFailure]:
    """The gates these metrics fail, in the order given; empty when all pass."""
    failures = []
    for gate in gates:
        if gate.key not in metrics:
            failures.append(GateFailure(gate, None, measured=False))
            continue
        value = metrics[gate.key]
        if value is None or math.isnan(value):
            failures.append(GateFailure(gate, None))
            continue
        short = (value - gate.threshold) * gate.metric.direction < 0
        if short:
            failures.append(GateFailure(gate, value))
    return failures
