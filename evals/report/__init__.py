"""Report writers: one eval run as ``report.json``, ``report.md`` and ``report.html``.

``build_report`` turns the rows of ``results.jsonl`` into one JSON-ready dict (DESIGN.md's
metrics, per tag, the refusal threshold curve, the latencies, the judge's summary when there was
one); ``write_reports`` renders it three ways. The JSON is for machines (``assistant eval
compare``, CI gates), the Markdown (``evals.report.markdown``) for a pull request or a terminal,
the HTML (``evals.report.html``, charts from ``evals.report.charts``) for a person deciding
what to fix next.

Metrics that do not apply (an empty denominator) are NaN in ``evals.metrics`` and ``None``
here, shown as "n/a", never as 0.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.metrics import nan_to_none, summarize, threshold_curve
from evals.report.failures import describe_failure, failure_kind, failure_summary
from evals.report.html import render_html
from evals.report.markdown import render_markdown
from evals.rows import ResultRow, as_rows

if TYPE_CHECKING:
    from evals.judge import JudgeSummary

__all__ = [
    "CURVE_THRESHOLDS",
    "build_report",
    "describe_failure",
    "failure_kind",
    "failure_summary",
    "render_html",
    "render_markdown",
    "write_reports",
]

#: Decline thresholds the refusal curve is replayed at: 0.00, 0.02, ..., 0.80.
CURVE_THRESHOLDS: tuple[float, ...] = tuple(round(i * 0.02, 2) for i in range(41))

_SECRET_HINTS = ("api_key", "apikey", "secret", "password", "token")

RowsInput = Iterable[ResultRow | Mapping[str, Any]]


def build_report(
    rows: RowsInput,
    meta: Mapping[str, Any],
    problems: Iterable[object],
    *,
    judge: JudgeSummary | None = None,
) -> dict[str, Any]:
    """The whole report as plain JSON values (NaN is ``None``), computed from rows alone.

    Everything is recomputed from the rows so a resumed run reports exactly what an
    uninterrupted one would. ``meta`` is copied with values under secret-looking keys masked:
    the runner masks the settings already, and a report must never carry a key even if a
    future meta field forgets to. ``judge``: the LLM judge's summary, whose mean joins the
    metrics when it judged anything.
    """
    scores = as_rows(rows)
    summary = summarize(scores).to_json()
    curve = [asdict(point) for point in threshold_curve(scores, CURVE_THRESHOLDS)]
    report: dict[str, Any] = {
        "metrics": summary["metrics"],
        "counts": summary["counts"],
        "by_tag": summary["by_tag"],
        "tag_counts": summary["tag_counts"],
        "meta": nan_to_none(_mask_secrets(meta)),
        "problems": [str(p) for p in problems],
        "curve": nan_to_none(curve),
        "latencies_ms": [s.latency_ms for s in scores if s.latency_ms is not None],
    }
    if judge is not None:
        report["metrics"].update(nan_to_none(judge.metrics()))
        if judge.judged:
            report["judge"] = judge.to_json()
    return report


def _mask_secrets(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            str(k): "****" if _is_secret(str(k), v) else _mask_secrets(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_mask_secrets(v) for v in value]
    return value


def _is_secret(key: str, value: Any) -> bool:
    return bool(value) and any(hint in key.lower() for hint in _SECRET_HINTS)


def write_reports(out_dir: Path, report: Mapping[str, Any], rows: RowsInput) -> list[Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` into ``out_dir``; their paths.

    Each file is written beside itself and renamed into place, so a reader (a CI step, a
    browser tab being refreshed) never sees half a report.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    typed = as_rows(rows)
    # default=str: a Path or datetime in meta should not cost the whole report
    text_json = json.dumps(report, allow_nan=False, indent=2, ensure_ascii=False, default=str)
    written = []
    for name, text in (
        ("report.json", text_json + "\n"),
        ("report.md", render_markdown(report, typed)),
        ("report.html", render_html(report, typed)),
    ):
        path = out_dir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8", newline="\n")
        os.replace(tmp, path)
        written.append(path)
    return written
