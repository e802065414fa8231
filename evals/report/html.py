"""``report.html``: one self-contained page rendered from ``evals/templates/report.html.j2``.

Inline CSS and inline SVG charts (``evals.report.charts``), no script, no CDN, no web font, so
it opens offline, from an e-mail attachment or a CI artifact alike. The template is rendered
with autoescaping on: every piece of text that comes from data (questions, answers, tags,
settings) is escaped, since an eval set of adversarial questions holds ``<script>`` on purpose.
The only markup let through unescaped is the charts' SVG, which matplotlib escapes itself.

This module prepares plain values (labels, formatted numbers) for the template; the template
only lays them out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from evals import registry
from evals.report import charts
from evals.report.common import counts_line, flat_meta, meta_value
from evals.report.failures import describe_failure, failed_rows, failure_summary, shorten
from evals.report.markdown import TAG_COLUMNS
from evals.rows import CitedQuote, ResultRow, as_rows

__all__ = ["render_html"]

_CARD_KEYS = (
    "pass_rate",
    "evidence_hit",
    "answer_match",
    "refusal_recall",
    "false_refusal_rate",
    "latency_p50_ms",
)
_HEADER_META = (
    "mode",
    "model",
    "k",
    "items",
    "started_at",
    "git_commit",
    "git_dirty",
    "dataset_hash",
    "corpus_hash",
)


@cache
def _environment() -> Environment:
    # autoescape=True rather than select_autoescape(): the template's name ends in .j2, which
    # select_autoescape's default extensions would not match, and this page is HTML throughout
    return Environment(
        loader=PackageLoader("evals", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _value(key: str, value: float | None) -> dict[str, Any]:
    return {"text": registry.format_metric(key, value), "na": value is None}


def _citation_line(c: CitedQuote, answer: str) -> str:
    """Where a citation points; its quote too unless the answer already shows it verbatim
    (the extractive answer is its quotes), so a wrong citation can be found in the article.
    """
    where = f"{c.doc_id}:{'?' if c.start is None else c.start}–{'?' if c.end is None else c.end}"
    quote = " ".join(c.quote.split())
    shown = f" “{shorten(quote, 160)}”" if quote and quote not in " ".join(answer.split()) else ""
    return f"[{'?' if c.n is None else c.n}] {where}{shown}"


def _failed(failed: Sequence[ResultRow]) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "question": r.question,
            "declined": r.declined,
            "answer": shorten(r.answer, 280),
            "quotes": [_citation_line(c, r.answer) for c in r.cited[:3]],
            "tags": r.tags,
            "why": describe_failure(r),
        }
        for r in failed
    ]


def _header_meta(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    shown = []
    for key in _HEADER_META:
        value = meta.get(key)
        if value is None:
            continue
        text = meta_value(value)
        shown.append((key, text[:12] if key.endswith(("hash", "commit")) else text))
    return shown


def render_html(report: Mapping[str, Any], rows: Sequence[ResultRow | Mapping[str, Any]]) -> str:
    """One self-contained page: headline numbers, three charts, the tables, the failures."""
    typed = as_rows(rows)
    meta = report.get("meta") or {}
    metrics = report.get("metrics") or {}
    counts = report.get("counts") or {}
    by_tag, tag_counts = report.get("by_tag") or {}, report.get("tag_counts") or {}
    failed = failed_rows(typed)
    title = f"Eval report: {meta.get('mode') or 'run'}"
    if meta.get("started_at"):
        title += f", {meta['started_at']}"
    context = {
        "title": title,
        "counts_line": counts_line(counts),
        "header_meta": _header_meta(meta),
        "cards": [
            {
                "label": registry.label(k),
                "value": registry.format_metric(k, metrics.get(k)),
                "of": registry.population(k, counts),
            }
            for k in _CARD_KEYS
        ],
        "charts": {
            "tags": Markup(charts.tag_bars_svg(report)),
            "latency": Markup(charts.latency_histogram_svg(report)),
            "curve": Markup(charts.threshold_curve_svg(report)),
        },
        "metrics": [
            {
                "key": k,
                "label": registry.label(k),
                "value": _value(k, metrics[k]),
                "of": registry.population(k, counts),
                "help": m.help if (m := registry.get(k)) else "",
            }
            for k in registry.ordered_keys(metrics)
        ],
        "tag_columns": [registry.label(k) for k in TAG_COLUMNS],
        "tags": [
            {
                "tag": tag,
                "items": (tag_counts.get(tag) or {}).get("items", 0),
                "cells": [_value(k, values.get(k)) for k in TAG_COLUMNS],
            }
            for tag, values in by_tag.items()
        ],
        "failed": _failed(failed),
        "failed_count": counts.get("items", 0) - counts.get("passed", 0),
        "failure_summary": failure_summary(failed),
        "problems": [str(p) for p in report.get("problems") or []],
        "meta_rows": [(k, meta_value(v)) for k, v in flat_meta(meta)],
    }
    return _environment().get_template("report.html.j2").render(context)
