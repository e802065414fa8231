"""``report.md``: the run, its metrics, per tag, the failed items and the dataset problems.

Plain GitHub Markdown tables, readable raw in a terminal as much as rendered in a pull request.
Labels, meanings and formats come from ``evals.registry``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from evals import registry
from evals.report.common import counts_line, flat_meta, meta_value
from evals.report.failures import describe_failure, failed_rows, failure_summary, shorten
from evals.rows import ResultRow, as_rows

__all__ = ["TAG_COLUMNS", "render_markdown"]

# The per-tag tables show the metrics that differ by kind of question; the rest is in the JSON.
TAG_COLUMNS: tuple[str, ...] = (
    "pass_rate",
    "evidence_hit",
    "answer_match",
    "refusal_recall",
    "false_refusal_rate",
    "retrieval_hit_at_k",
    "mrr",
    "latency_p50_ms",
)


def md_cell(text: Any) -> str:
    """A table cell: one line; pipes, backticks and tags escaped so it renders as written.

    Only what would break the table or be taken for HTML: the file is read raw as often as
    rendered, and ``git\\_commit`` reads worse than the rare stray emphasis.
    """
    text = " ".join(str(text).split())
    for ch in ("\\", "`", "|", "<"):
        text = text.replace(ch, "\\" + ch)
    return text


def _table(header: Sequence[str], align: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def render_markdown(
    report: Mapping[str, Any], rows: Sequence[ResultRow | Mapping[str, Any]]
) -> str:
    """A Markdown summary: run, metrics, per tag, failed items, dataset problems."""
    meta = report.get("meta") or {}
    metrics = report.get("metrics") or {}
    counts = report.get("counts") or {}
    lines = ["# Eval report", "", counts_line(counts) + ".", "", "## Run", ""]
    run_rows = [(md_cell(k), md_cell(meta_value(v))) for k, v in flat_meta(meta)]
    lines += _table(["field", "value"], ["---", "---"], run_rows or [("—", "no run metadata")])

    lines += ["", "## Metrics", ""]
    lines += _table(
        ["metric", "value", "of", "meaning"],
        ["---", "---:", "---:", "---"],
        (
            (
                f"{registry.label(k)} (`{k}`)",
                registry.format_metric(k, metrics[k]),
                registry.population(k, counts),
                md_cell(m.help if (m := registry.get(k)) else ""),
            )
            for k in registry.ordered_keys(metrics)
        ),
    )

    lines += ["", "## By tag", ""]
    by_tag, tag_counts = report.get("by_tag") or {}, report.get("tag_counts") or {}
    if by_tag:
        header = ["tag", "items", *(registry.label(k) for k in TAG_COLUMNS)]
        lines += _table(
            header,
            ["---", *["---:"] * (len(header) - 1)],
            (
                [
                    md_cell(tag),
                    str((tag_counts.get(tag) or {}).get("items", 0)),
                    *(registry.format_metric(k, values.get(k)) for k in TAG_COLUMNS),
                ]
                for tag, values in by_tag.items()
            ),
        )
    else:
        lines.append("No item has a tag.")

    failed = failed_rows(as_rows(rows))
    lines += ["", f"## Failed items ({len(failed)})", ""]
    if failed:
        lines += [failure_summary(failed) + ".", ""]
        lines += _table(
            ["id", "question", "what went wrong", "answer"],
            ["---"] * 4,
            (
                (
                    md_cell(r.id),
                    md_cell(r.question),
                    md_cell(describe_failure(r)),
                    md_cell("(declined)" if r.declined else shorten(r.answer, 160)),
                )
                for r in failed
            ),
        )
    else:
        lines.append("None: every item passed.")

    problems = report.get("problems") or []
    lines += ["", f"## Dataset problems ({len(problems)})", ""]
    lines += [f"- {md_cell(p)}" for p in problems] or ["None."]
    return "\n".join(lines) + "\n"
