"""Two eval runs side by side: what got worse, what got better, item by item.

A change to retrieval or to the answerer moves some items one way and others the other way; a
pass rate that stays flat can hide ten regressions behind ten fixes. So besides the metric
deltas (B − A, overall and per tag) this lists the items that flipped, matched by ``id``, with
their question and why they fail now. Regressions come first in the rendering: they are what
blocks a merge.

A run is a folder written by ``assistant eval --out DIR`` (or the path of its ``report.json``).
Metrics come from ``report.json``; the items from ``results.jsonl`` beside it, which may be
missing (the comparison then says so and shows the metrics only).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evals import registry
from evals.errors import EvalError
from evals.registry import format_delta, format_metric
from evals.report.failures import describe_failure, failure_kind
from evals.rows import RESULTS, ResultRow, read_results

__all__ = [
    "Comparison",
    "FlippedItem",
    "MetricDelta",
    "Run",
    "compare_runs",
    "load_run",
    "render_comparison",
]

REPORT = "report.json"
_EPSILON = 1e-9

Verdict = Literal["better", "worse", "same", "n/a"]


@dataclass(frozen=True)
class MetricDelta:
    """One metric in one scope ("overall" or a tag) in both runs; ``None`` where it was n/a."""

    scope: str
    key: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        """B − A, or None when either side is n/a."""
        if self.a is None or self.b is None:
            return None
        return self.b - self.a

    @property
    def verdict(self) -> Verdict:
        """Better or worse for the product, given which way the metric points (the registry's
        direction, the same one ``--fail-under`` gates on). A change within the metric's noise
        (wall time moves between two runs of the same code) is "same"; a metric the registry
        does not know gets no verdict."""
        delta = self.delta
        metric = registry.get(self.key)
        if delta is None or metric is None:
            return "n/a"
        if abs(delta) <= _EPSILON:
            return "same"
        if self.a and abs(delta) <= metric.noise * abs(self.a):
            return "same"
        return "better" if delta * metric.direction > 0 else "worse"


@dataclass(frozen=True)
class FlippedItem:
    """An item that passed in one run and failed in the other.

    ``reason`` says why it fails in the run where it fails, which is where to start looking.
    """

    id: str
    question: str
    tags: tuple[str, ...]
    reason: str
    kind: str


@dataclass(frozen=True)
class Run:
    """What one run folder holds: its report and its rows by item id."""

    path: Path
    report: dict[str, Any]
    rows: dict[str, ResultRow]
    has_results: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """Run B measured against run A (the baseline)."""

    a: Run
    b: Run
    overall: list[MetricDelta]
    by_tag: dict[str, list[MetricDelta]]
    regressed: list[FlippedItem]  # passed in A, fail in B
    fixed: list[FlippedItem]  # failed in A, pass in B
    only_in_a: list[tuple[str, str]]  # (id, question)
    only_in_b: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)

    @property
    def worse(self) -> list[MetricDelta]:
        """Every metric, overall then per tag, that moved the wrong way."""
        return [d for d in self._judged() if d.verdict == "worse"]

    @property
    def better(self) -> list[MetricDelta]:
        """Every metric, overall then per tag, that moved the right way."""
        return [d for d in self._judged() if d.verdict == "better"]

    @property
    def has_regressions(self) -> bool:
        """True when an item flipped to failing or a metric got worse: a CI can gate on it."""
        return bool(self.regressed or self.worse)

    def _judged(self) -> list[MetricDelta]:
        # Latency per tag is a percentile of a handful of timings: it moves with the machine's
        # load, not the code, so only the overall latencies can count as better or worse.
        per_tag = (d for deltas in self.by_tag.values() for d in deltas if _per_tag_verdict(d.key))
        return [*self.overall, *per_tag]


def _per_tag_verdict(key: str) -> bool:
    metric = registry.get(key)
    return metric is None or metric.per_tag_verdict


# --------------------------------------------------------------------------- loading


def load_run(path: Path | str) -> Run:
    """Read a run folder (or its ``report.json``); ``EvalError`` when there is no report."""
    path = Path(path)
    if not path.exists():
        raise EvalError(f"No eval run at {path}: the path does not exist.")
    if path.is_dir():
        run_dir, report_path = path, path / REPORT
    else:
        run_dir, report_path = path.parent, path
    if not report_path.is_file():
        raise EvalError(
            f"{run_dir} holds no {REPORT}: not an eval run folder "
            f"(write one with `assistant eval --out {run_dir}`)."
        )
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EvalError(f"Cannot read {report_path}: {exc}.") from exc
    if not isinstance(report, dict) or not isinstance(report.get("metrics"), dict):
        raise EvalError(f"{report_path} is not an eval report (it has no 'metrics' object).")
    rows, notes = _read_results(run_dir / RESULTS)
    return Run(run_dir, report, rows, has_results=(run_dir / RESULTS).is_file(), notes=notes)


def _read_results(path: Path) -> tuple[dict[str, ResultRow], tuple[str, ...]]:
    """Rows by id. A resumed run may hold an id twice: the later row is the one reported."""
    results = read_results(path)
    if not results.exists:
        return {}, (f"{path} is missing: items cannot be compared, only metrics.",)
    return {r.id: r for r in results.rows}, tuple(results.notes)


# --------------------------------------------------------------------------- comparing


def _value(metrics: Mapping[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _deltas(scope: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> list[MetricDelta]:
    keys = registry.ordered_keys([*a, *b])
    return [MetricDelta(scope, k, _value(a, k), _value(b, k)) for k in keys]


def _flipped(row: ResultRow, failing: ResultRow) -> FlippedItem:
    return FlippedItem(
        id=row.id,
        question=row.question or failing.question,
        tags=tuple(row.tags or failing.tags),
        reason=describe_failure(failing),
        kind=failure_kind(failing),
    )


def _dataset_notes(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    notes = []
    for key, what in (("dataset_hash", "eval sets"), ("corpus_hash", "corpora")):
        if a.get(key) and b.get(key) and a[key] != b[key]:
            notes.append(
                f"The runs measured different {what} ({key} {str(a[key])[:12]} vs "
                f"{str(b[key])[:12]}): deltas mix a change of data with a change of code."
            )
    return notes


def compare_runs(a: Path | str, b: Path | str) -> Comparison:
    """Compare run ``b`` against the baseline ``a``: metric deltas and flipped items."""
    run_a, run_b = load_run(a), load_run(b)
    ra, rb = run_a.report, run_b.report
    overall = _deltas("overall", ra.get("metrics") or {}, rb.get("metrics") or {})
    tags_a, tags_b = ra.get("by_tag") or {}, rb.get("by_tag") or {}
    by_tag = {
        tag: _deltas(tag, tags_a.get(tag) or {}, tags_b.get(tag) or {})
        for tag in sorted({*tags_a, *tags_b})
    }
    notes = [*run_a.notes, *run_b.notes]
    notes += _dataset_notes(ra.get("meta") or {}, rb.get("meta") or {})
    if not (run_a.has_results and run_b.has_results):
        # with one side's rows unknown every item would look "only in one run"
        return Comparison(run_a, run_b, overall, by_tag, [], [], [], [], notes)
    regressed, fixed = [], []
    for item_id, row_b in run_b.rows.items():
        row_a = run_a.rows.get(item_id)
        if row_a is None:
            continue
        passed_a, passed_b = row_a.passed, row_b.passed
        if passed_a and not passed_b:
            regressed.append(_flipped(row_b, row_b))
        elif passed_b and not passed_a:
            fixed.append(_flipped(row_b, row_a))
    only_a = [(i, r.question) for i, r in run_a.rows.items() if i not in run_b.rows]
    only_b = [(i, r.question) for i, r in run_b.rows.items() if i not in run_a.rows]
    return Comparison(run_a, run_b, overall, by_tag, regressed, fixed, only_a, only_b, notes)


# --------------------------------------------------------------------------- rendering


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _delta_table(deltas: list[MetricDelta], *, with_scope: bool) -> list[str]:
    head = ["scope"] if with_scope else []
    head += ["metric", "A", "B", "change", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    marks = {"worse": "WORSE", "better": "better", "same": "", "n/a": ""}
    for d in deltas:
        cells = [_cell(d.scope)] if with_scope else []
        cells += [
            registry.label(d.key),
            format_metric(d.key, d.a),
            format_metric(d.key, d.b),
            format_delta(d.key, d.delta),
            marks[d.verdict],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _item_lines(items: list[FlippedItem], prefix: str) -> list[str]:
    lines = []
    for item in items:
        tags = f" [{', '.join(item.tags)}]" if item.tags else ""
        lines.append(f"- {prefix} {item.id}{tags}: {_cell(item.question)}")
        lines.append(f"  {item.reason}")
    return lines


def _run_line(name: str, run: Run) -> str:
    meta = run.report.get("meta") or {}
    counts = run.report.get("counts") or {}
    bits = [str(meta[k]) for k in ("mode", "started_at") if meta.get(k)]
    if meta.get("git_commit"):
        dirty = " with uncommitted changes" if meta.get("git_dirty") else ""
        bits.append(f"commit {str(meta['git_commit'])[:12]}{dirty}")
    bits.append(f"{counts.get('items', '?')} items")
    return f"{name}: {run.path}  ({', '.join(bits)})"


def render_comparison(c: Comparison) -> str:
    """Markdown for a terminal or a pull request: regressions first, then fixes, then the rest."""
    lines = ["# Eval comparison (B against baseline A)", ""]
    lines += [_run_line("A", c.a), _run_line("B", c.b), ""]
    worse, better = c.worse, c.better
    verdict = (
        f"REGRESSIONS: {len(c.regressed)} items now fail, {len(worse)} metrics worse."
        if c.has_regressions
        else "No regressions."
    )
    lines.append(verdict)
    headline = next((d for d in c.overall if d.key == "pass_rate"), None)
    if headline is not None:
        lines.append(
            f"pass rate {format_metric('pass_rate', headline.a)} → "
            f"{format_metric('pass_rate', headline.b)} "
            f"({format_delta('pass_rate', headline.delta)})"
        )
    lines.append("")

    lines += ["## Regressions", ""]
    if not c.has_regressions:
        lines += ["None.", ""]
    if c.regressed:
        lines += [f"### Items that passed in A and fail in B ({len(c.regressed)})", ""]
        lines += _item_lines(c.regressed, "✗ REGRESSED")
        lines.append("")
    if worse:
        lines += [f"### Metrics worse in B ({len(worse)})", ""]
        lines += _delta_table(worse, with_scope=True)
        lines.append("")

    lines += ["## Improvements", ""]
    if not (c.fixed or better):
        lines += ["None.", ""]
    if c.fixed:
        lines += [f"### Items that failed in A and pass in B ({len(c.fixed)})", ""]
        lines += _item_lines(c.fixed, "✓ fixed")
        lines.append("")
    if better:
        lines += [f"### Metrics better in B ({len(better)})", ""]
        lines += _delta_table(better, with_scope=True)
        lines.append("")

    lines += ["## All metrics, overall", ""]
    lines += _delta_table(c.overall, with_scope=False)
    lines.append("")

    if c.only_in_a or c.only_in_b:
        lines += ["## Items in one run only", ""]
        lines += [f"- only in A: {i}: {_cell(q)}" for i, q in c.only_in_a]
        lines += [f"- only in B: {i}: {_cell(q)}" for i, q in c.only_in_b]
        lines.append("")
    if c.notes:
        lines += ["## Notes", ""]
        lines += [f"- {note}" for note in c.notes]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
