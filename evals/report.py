"""Report writers: one eval run as ``report.json``, ``report.md`` and ``report.html``.

``build_report`` turns the rows of ``results.jsonl`` into one JSON-ready dict (DESIGN.md's
metrics, per tag, the refusal threshold curve, the latencies); ``write_reports`` renders it three
ways. The JSON is for machines (``assistant eval compare``, CI gates), the Markdown for a pull
request or a terminal, the HTML for a person deciding what to fix next.

The HTML is one self-contained file: inline CSS and SVG charts drawn here, no script, no CDN,
no web font, so it opens offline, from an e-mail attachment or a CI artifact alike. Every piece
of text that comes from data (questions, answers, tags, settings) is escaped: an eval set of
adversarial questions holds ``<script>`` on purpose.

Metrics that do not apply (an empty denominator) are NaN in ``evals.metrics`` and ``None``
here, shown as "n/a", never as 0.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evals.metrics import METRIC_KEYS, as_scores, nan_to_none, summarize, threshold_curve

__all__ = [
    "CURVE_THRESHOLDS",
    "METRIC_HELP",
    "METRIC_LABELS",
    "build_report",
    "describe_failure",
    "failure_kind",
    "failure_summary",
    "format_metric",
    "metric_direction",
    "ordered_metric_keys",
    "render_html",
    "render_markdown",
    "write_reports",
]

#: Decline thresholds the refusal curve is replayed at: 0.00, 0.02, ..., 0.80.
CURVE_THRESHOLDS: tuple[float, ...] = tuple(round(i * 0.02, 2) for i in range(41))

METRIC_LABELS: dict[str, str] = {
    "pass_rate": "pass rate",
    "retrieval_hit_at_k": "retrieval hit@k",
    "mrr": "MRR",
    "evidence_hit": "evidence hit",
    "answer_match": "answer match",
    "citation_validity": "citation validity",
    "refusal_recall": "refusal recall",
    "false_refusal_rate": "false refusal rate",
    "cited_chars_mean": "cited chars (mean)",
    "latency_p50_ms": "latency p50",
    "latency_p95_ms": "latency p95",
    "judge_faithfulness_mean": "faithfulness (LLM judge)",
}

METRIC_HELP: dict[str, str] = {
    "pass_rate": "items passed: answerable ones answered with a citation on the evidence, "
    "unanswerable ones declined",
    "retrieval_hit_at_k": "answerable items whose gold evidence overlaps a retrieved passage",
    "mrr": "mean reciprocal rank of the first passage holding gold evidence",
    "evidence_hit": "answerable items answered (not declined) with a citation that overlaps "
    "gold evidence",
    "answer_match": "answerable items whose answer text contains an acceptable answer",
    "citation_validity": "citations whose quote equals the source text at their offsets",
    "refusal_recall": "unanswerable items the assistant declined",
    "false_refusal_rate": "answerable items the assistant declined",
    "cited_chars_mean": "characters quoted per answer (tight citations are better)",
    "latency_p50_ms": "median wall time per question",
    "latency_p95_ms": "95th percentile wall time per question",
    "judge_faithfulness_mean": "share of an answer's claims its quotes support, per the "
    "configured LLM (--judge); over the answers it judged",
}

# Which population each metric is taken over, for the "of" column: a rate over 3 items and one
# over 300 should not look alike.
_POPULATION: dict[str, str] = {
    "pass_rate": "items",
    "retrieval_hit_at_k": "answerable",
    "mrr": "answerable",
    "evidence_hit": "answerable",
    "answer_match": "answerable",
    "citation_validity": "citations",
    "refusal_recall": "unanswerable",
    "false_refusal_rate": "answerable",
    "cited_chars_mean": "answered",
    "latency_p50_ms": "items",
    "latency_p95_ms": "items",
    "judge_faithfulness_mean": "answered",
}

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

_LOWER_IS_BETTER = frozenset({"false_refusal_rate", "latency_p50_ms", "latency_p95_ms"})
_NEUTRAL = frozenset({"cited_chars_mean"})  # shorter is tighter, but quoting nothing is no answer
_SECRET_HINTS = ("api_key", "apikey", "secret", "password", "token")


def metric_direction(key: str) -> int:
    """+1 when a higher value is better, -1 when lower is better, 0 when neither is.

    ``cited_chars_mean`` is 0: fewer characters means tighter quotes until it means none.
    """
    if key in _NEUTRAL:
        return 0
    return -1 if key in _LOWER_IS_BETTER else 1


def format_metric(key: str, value: float | None) -> str:
    """A metric for people: rates as percentages, MRR as a fraction, times in ms."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if key.endswith("_ms"):
        return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if key == "cited_chars_mean":
        return f"{value:,.0f}"
    if key == "mrr":
        return f"{value:.3f}"
    return f"{value * 100:.1f}%"


# --------------------------------------------------------------------------- building


def build_report(rows: list[dict], meta: dict, problems: list[str]) -> dict:
    """The whole report as plain JSON values (NaN is ``None``), computed from rows alone.

    Everything is recomputed from the rows so a resumed run reports exactly what an
    uninterrupted one would. ``meta`` is copied with values under secret-looking keys masked:
    the runner masks the settings already, and a report must never carry a key even if a
    future meta field forgets to.
    """
    scores = as_scores(rows)
    summary = summarize(scores).to_json()
    curve = [asdict(point) for point in threshold_curve(scores, CURVE_THRESHOLDS)]
    return {
        "metrics": summary["metrics"],
        "counts": summary["counts"],
        "by_tag": summary["by_tag"],
        "tag_counts": summary["tag_counts"],
        "meta": nan_to_none(_mask_secrets(meta)),
        "problems": [str(p) for p in problems],
        "curve": nan_to_none(curve),
        "latencies_ms": [s.latency_ms for s in scores if s.latency_ms is not None],
    }


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


# --------------------------------------------------------------------------- writing


def write_reports(out_dir: Path, report: dict, rows: list[dict]) -> list[Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` into ``out_dir``; their paths.

    Each file is written beside itself and renamed into place, so a reader (a CI step, a
    browser tab being refreshed) never sees half a report.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # default=str: a Path or datetime in meta should not cost the whole report
    text_json = json.dumps(report, allow_nan=False, indent=2, ensure_ascii=False, default=str)
    written = []
    for name, text in (
        ("report.json", text_json + "\n"),
        ("report.md", render_markdown(report, rows)),
        ("report.html", render_html(report, rows)),
    ):
        path = out_dir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8", newline="\n")
        os.replace(tmp, path)
        written.append(path)
    return written


# --------------------------------------------------------------------------- failures


def _passed(row: Mapping[str, Any]) -> bool:
    value = row.get("passed")
    if isinstance(value, bool):
        return value
    return as_scores([row])[0].passed


def failed_rows(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows that did not pass, in run order."""
    return [row for row in rows if not _passed(row)]


FAILURE_KINDS: dict[str, str] = {
    "error": "the item could not be run",
    "false answer": "false answer: answered a question the article does not answer",
    "declined": "declined an answerable question",
    "unscorable": "unscorable: the gold evidence is not in the corpus",
    "no citation": "answered without a citation",
    "wrong citation": "wrong citation: none overlaps the gold evidence",
}


def failure_kind(row: Mapping[str, Any]) -> str:
    """The one reason a failed row failed, a key of ``FAILURE_KINDS``; it follows
    ``ItemScore.passed``, so the kinds of a run add up to its failed count.
    """
    if row.get("error"):
        return "error"
    if not row.get("answerable"):
        return "false answer"
    if row.get("declined"):
        return "declined"
    if row.get("evidence_hit") is None:
        return "unscorable"
    if not row.get("citations"):
        return "no citation"
    return "wrong citation"


def describe_failure(row: Mapping[str, Any]) -> str:
    """Why an item failed, in words: the failure first, then what else is off in the answer.

    The extras (answer text without an accepted answer, citations that do not match the source)
    are what to look at next when fixing it.
    """
    kind = failure_kind(row)
    if kind == "error":
        return f"error: {row['error']}"
    reasons = [FAILURE_KINDS[kind]]
    if row.get("answerable") and not row.get("declined") and row.get("answer_match") is False:
        reasons.append("no acceptable answer in the text")
    citations, valid = row.get("citations"), row.get("valid_citations")
    if isinstance(citations, int) and isinstance(valid, int) and valid < citations:
        reasons.append(f"{citations - valid} of {citations} citations do not match the source")
    return "; ".join(reasons)


def failure_summary(failed: Iterable[Mapping[str, Any]]) -> str:
    """Counts by kind, most common first ("12 wrong citation, 3 declined"): where to look."""
    counts = Counter(failure_kind(row) for row in failed)
    return ", ".join(f"{n} {kind}" for kind, n in counts.most_common())


def _cited(row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The row's citation records, whichever key the runner used for the list."""
    for key in ("cited", "citations"):
        value = row.get(key)
        if isinstance(value, list):
            return [c for c in value if isinstance(c, Mapping)]
    return []


def _shorten(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --------------------------------------------------------------------------- markdown


def _md(text: Any) -> str:
    """A table cell: one line; pipes, backticks and tags escaped so it renders as written.

    Only what would break the table or be taken for HTML: the file is read raw as often as
    rendered, and ``git\\_commit`` reads worse than the rare stray emphasis.
    """
    text = " ".join(str(text).split())
    for ch in ("\\", "`", "|", "<"):
        text = text.replace(ch, "\\" + ch)
    return text


def _flat_meta(meta: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Top-level meta first, nested mappings after as ``parent.key``: settings stay readable."""
    flat: list[tuple[str, Any]] = []
    nested: list[tuple[str, Any]] = []
    for key, value in meta.items():
        if isinstance(value, Mapping):
            nested.extend((f"{key}.{k}", v) for k, v in value.items())
        else:
            flat.append((str(key), value))
    return flat + nested


def _meta_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _counts_line(counts: Mapping[str, int]) -> str:
    return (
        f"{counts.get('items', 0)} items ({counts.get('answerable', 0)} answerable, "
        f"{counts.get('unanswerable', 0)} unanswerable); {counts.get('passed', 0)} passed, "
        f"{counts.get('declined', 0)} declined"
    )


def _population(key: str, counts: Mapping[str, int]) -> str:
    kind = _POPULATION.get(key, "items")
    if kind == "answered":
        n = counts.get("items", 0) - counts.get("declined", 0)
    else:
        n = counts.get(kind, 0)
    return f"{n} {kind}"


def ordered_metric_keys(metrics: Mapping[str, Any]) -> list[str]:
    """``pass_rate`` first (the headline), DESIGN order next, unknown keys kept at the end."""
    ordered = ["pass_rate", *(k for k in METRIC_KEYS if k != "pass_rate")]
    return [k for k in ordered if k in metrics] + [k for k in metrics if k not in ordered]


def render_markdown(report: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    """A Markdown summary: run, metrics, per tag, failed items, dataset problems."""
    meta = report.get("meta") or {}
    metrics = report.get("metrics") or {}
    counts = report.get("counts") or {}
    lines = ["# Eval report", "", _counts_line(counts) + ".", "", "## Run", ""]
    lines += ["| field | value |", "| --- | --- |"]
    lines += [f"| {_md(k)} | {_md(_meta_value(v))} |" for k, v in _flat_meta(meta)]
    if not meta:
        lines.append("| — | no run metadata |")

    lines += [
        "",
        "## Metrics",
        "",
        "| metric | value | of | meaning |",
        "| --- | ---: | ---: | --- |",
    ]
    for key in ordered_metric_keys(metrics):
        lines.append(
            f"| {METRIC_LABELS.get(key, key)} (`{key}`) | {format_metric(key, metrics[key])} "
            f"| {_population(key, counts)} | {_md(METRIC_HELP.get(key, ''))} |"
        )

    lines += ["", "## By tag", ""]
    by_tag, tag_counts = report.get("by_tag") or {}, report.get("tag_counts") or {}
    if by_tag:
        header = ["tag", "items", *(METRIC_LABELS[k] for k in TAG_COLUMNS)]
        lines += ["| " + " | ".join(header) + " |", "| --- " + "| ---: " * (len(header) - 1) + "|"]
        for tag, values in by_tag.items():
            cells = [_md(tag), str((tag_counts.get(tag) or {}).get("items", 0))]
            cells += [format_metric(k, values.get(k)) for k in TAG_COLUMNS]
            lines.append("| " + " | ".join(cells) + " |")
    else:
        lines.append("No item has a tag.")

    failed = failed_rows(rows)
    lines += ["", f"## Failed items ({len(failed)})", ""]
    if failed:
        lines += [failure_summary(failed) + ".", ""]
        lines += ["| id | question | what went wrong | answer |", "| --- | --- | --- | --- |"]
        for row in failed:
            answer = "(declined)" if row.get("declined") else _shorten(row.get("answer", ""), 160)
            lines.append(
                f"| {_md(row.get('id', ''))} | {_md(row.get('question', ''))} "
                f"| {_md(describe_failure(row))} | {_md(answer)} |"
            )
    else:
        lines.append("None: every item passed.")

    problems = report.get("problems") or []
    lines += ["", f"## Dataset problems ({len(problems)})", ""]
    lines += [f"- {_md(p)}" for p in problems] or ["None."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- svg charts

# Okabe-Ito colours: distinct for the common kinds of colour blindness, calm on white.
BLUE, ORANGE, GREEN, VERMILION, SKY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9"
INK, MUTED, GRID, AXIS = "#1f2933", "#616e7c", "#e4e7eb", "#9aa5b1"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (
        # no xmlns: inline SVG in HTML needs none, and the page then names no URL at all
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{_e(label)}" class="chart">'
        f"<title>{_e(label)}</title>" + "".join(body) + "</svg>"
    )


def _text(
    x: float,
    y: float,
    text: Any,
    *,
    anchor: str = "start",
    size: int = 12,
    fill: str = MUTED,
    weight: str = "normal",
    halo: bool = False,
) -> str:
    # a white outline under the glyphs keeps an annotation legible where it crosses a line
    outline = ' stroke="#fff" stroke-width="3" paint-order="stroke"' if halo else ""
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}" font-weight="{weight}"{outline}>{_e(text)}</text>'
    )


def _line(
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    *,
    stroke: str = GRID,
    width: float = 1,
    dash: str | None = None,
) -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
        f'stroke="{stroke}" stroke-width="{width}"{dashed}/>'
    )


def _legend(x: float, y: float, entries: Sequence[tuple[str, str, bool]]) -> list[str]:
    """Swatches left to right; ``(label, colour, dashed)``; a dashed entry gets a line swatch."""
    out = []
    for label, colour, dashed in entries:
        if dashed:
            out.append(_line(x, y - 4, x + 18, y - 4, stroke=colour, width=2.5, dash="5 3"))
            offset = 24
        else:
            out.append(
                f'<rect x="{_num(x)}" y="{_num(y - 10)}" width="12" height="12" rx="2" '
                f'fill="{colour}"/>'
            )
            offset = 17
        out.append(_text(x + offset, y, label, fill=INK))
        x += offset + 7.2 * len(label) + 18
    return out


def _empty_chart(width: int, height: int, label: str, message: str) -> str:
    body = [
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" rx="6" fill="#fafbfc" '
        f'stroke="{GRID}"/>',
        _text(width / 2, height / 2, message, anchor="middle", size=13),
    ]
    return _svg(width, height, label, body)


def _nice_step(span: float, target: int) -> float:
    """A 1, 2 or 5 times a power of ten step giving about ``target`` intervals over ``span``."""
    if span <= 0:
        return 1.0
    raw = span / max(target, 1)
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def tag_bars_svg(report: Mapping[str, Any]) -> str:
    """Pass rate and evidence hit per tag, worst pass rate first, all items on top."""
    by_tag, tag_counts = report.get("by_tag") or {}, report.get("tag_counts") or {}
    label = "Pass rate and evidence hit per tag"
    width = 1040
    if not by_tag:
        return _empty_chart(width, 120, label, "No item has a tag.")
    series = (("pass rate", "pass_rate", BLUE), ("evidence hit", "evidence_hit", SKY))

    def order(tag: str) -> tuple[int, float, str]:
        value = by_tag[tag].get("pass_rate")
        return (value is None, value if value is not None else 0.0, tag)

    groups: list[tuple[str, Mapping[str, Any], int]] = [
        ("all items", report.get("metrics") or {}, (report.get("counts") or {}).get("items", 0))
    ]
    groups += [
        (t, by_tag[t], (tag_counts.get(t) or {}).get("items", 0)) for t in sorted(by_tag, key=order)
    ]

    left, right, top, bar, gap, pad = 190, 70, 44, 13, 3, 16
    group_h = len(series) * bar + (len(series) - 1) * gap + pad
    plot_w = width - left - right
    height = top + group_h * len(groups) + 34
    bottom = top + group_h * len(groups)
    body = _legend(left, 20, [(name, colour, False) for name, _, colour in series])
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * plot_w
        body.append(_line(x, top - 6, x, bottom, stroke=AXIS if tick == 0 else GRID))
        body.append(_text(x, bottom + 18, f"{tick:.0%}", anchor="middle"))
    for i, (name, values, n) in enumerate(groups):
        y0 = top + i * group_h + pad / 2
        if i == 1:
            body.append(_line(8, y0 - pad / 2, width - 8, y0 - pad / 2, stroke=AXIS, dash="2 3"))
        short = name if len(name) <= 24 else name[:23] + "…"
        weight = "600" if i == 0 else "normal"
        body.append(
            f"<g><title>{_e(name)}</title>"
            + _text(left - 12, y0 + bar - 1, short, anchor="end", size=13, fill=INK, weight=weight)
            + _text(left - 12, y0 + 2 * bar + gap + 1, f"{n} items", anchor="end", size=11)
            + "</g>"
        )
        for j, (series_name, key, colour) in enumerate(series):
            y = y0 + j * (bar + gap)
            value = values.get(key)
            if value is None:
                body.append(_text(left + 6, y + bar - 2, "n/a", size=11))
                continue
            w = max(value * plot_w, 1.5)
            body.append(
                f'<rect x="{left}" y="{_num(y)}" width="{_num(w)}" height="{bar}" rx="2" '
                f'fill="{colour}"><title>{_e(name)}: {_e(series_name)} '
                f"{format_metric(key, value)}</title></rect>"
            )
            body.append(_text(left + w + 6, y + bar - 2, f"{value:.0%}", size=11, fill=INK))
    return _svg(width, height, label, body)


def latency_histogram_svg(report: Mapping[str, Any]) -> str:
    """How long questions took, with the p50 and p95 marked: the tail is what users feel."""
    latencies = [float(v) for v in report.get("latencies_ms") or [] if v is not None]
    label = "Latency per question"
    width, height = 510, 306
    if not latencies:
        return _empty_chart(width, height, label, "No latencies recorded.")
    left, right, top, bottom = 46, 18, 54, 256
    lo, hi = min(latencies), max(latencies)
    step = _nice_step(hi - lo, 14) if hi > lo else _nice_step(max(hi, 1.0) * 0.2, 1)
    start = math.floor(lo / step) * step
    nbins = max(1, math.ceil((hi - start) / step + 1e-9))
    if start + nbins * step <= hi:
        nbins += 1
    counts = [0] * nbins
    for v in latencies:
        counts[min(int((v - start) // step), nbins - 1)] += 1
    end = start + nbins * step
    plot_w, plot_h = width - left - right, bottom - top
    ymax = max(counts)
    ystep = max(1, math.ceil(_nice_step(ymax, 4)))
    ytop = math.ceil(ymax / ystep) * ystep

    def sx(v: float) -> float:
        return left + (v - start) / (end - start) * plot_w

    def sy(c: float) -> float:
        return bottom - c / ytop * plot_h

    body = _legend(left, 18, [("questions", BLUE, False)])
    for c in range(0, ytop + 1, ystep):
        body.append(_line(left, sy(c), width - right, sy(c), stroke=AXIS if c == 0 else GRID))
        body.append(_text(left - 6, sy(c) + 4, c, anchor="end", size=11))
    for i, c in enumerate(counts):
        x0, x1 = sx(start + i * step), sx(start + (i + 1) * step)
        if c:
            body.append(
                f'<rect x="{_num(x0 + 1)}" y="{_num(sy(c))}" width="{_num(max(x1 - x0 - 2, 1))}" '
                f'height="{_num(bottom - sy(c))}" fill="{BLUE}" rx="1.5"><title>'
                f"{_num(start + i * step)}–{_num(start + (i + 1) * step)} ms: {c} questions"
                f"</title></rect>"
            )
    every = max(1, math.ceil(nbins / 7))
    for i in range(0, nbins + 1, every):
        body.append(
            _text(
                sx(start + i * step), bottom + 16, _num(start + i * step), anchor="middle", size=11
            )
        )
    body.append(
        _text(
            left + plot_w / 2, bottom + 38, "milliseconds per question", anchor="middle", fill=INK
        )
    )
    metrics = report.get("metrics") or {}
    for key, name, anchor in (("latency_p50_ms", "p50", "end"), ("latency_p95_ms", "p95", "start")):
        value = metrics.get(key)
        if value is None:
            continue
        x = sx(value)
        body.append(_line(x, top - 16, x, bottom, stroke=VERMILION, width=1.5, dash="4 3"))
        text = f"{name} {format_metric(key, value)}"
        # keep the label inside the chart: flip it to the other side of its line near an edge
        if anchor == "start" and x + 7 * len(text) > width - 4:
            anchor = "end"
        if anchor == "end" and x - 7 * len(text) < left:
            anchor = "start"
        dx = 4 if anchor == "start" else -4
        body.append(
            _text(
                x + dx,
                top - 8,
                text,
                anchor=anchor,
                size=11,
                fill=VERMILION,
                weight="600",
                halo=True,
            )
        )
    return _svg(width, height, label, body)


def threshold_curve_svg(report: Mapping[str, Any]) -> str:
    """Refusal recall against false refusals as the decline threshold moves.

    The trade-off the threshold buys, with the run's own threshold marked, so a person can see
    whether moving it would gain more refusals than it costs answers.
    """
    curve = [p for p in report.get("curve") or [] if p.get("threshold") is not None]
    label = "Refusal threshold curve"
    width, height = 510, 306
    if not curve:
        return _empty_chart(width, height, label, "No threshold curve.")
    left, right, top, bottom = 46, 18, 54, 256
    x_lo = min(p["threshold"] for p in curve)
    x_hi = max(p["threshold"] for p in curve)
    if x_hi <= x_lo:
        x_hi = x_lo + 1
    plot_w, plot_h = width - left - right, bottom - top

    def sx(t: float) -> float:
        return left + (t - x_lo) / (x_hi - x_lo) * plot_w

    def sy(v: float) -> float:
        return bottom - v * plot_h

    series = (
        ("refusal recall", "refusal_recall", GREEN, None),
        ("false refusals", "false_refusal_rate", VERMILION, None),
        ("evidence hit", "evidence_hit", BLUE, "5 3"),
    )
    body = _legend(left, 18, [(name, colour, dash is not None) for name, _, colour, dash in series])
    for v in (0, 0.25, 0.5, 0.75, 1.0):
        body.append(_line(left, sy(v), width - right, sy(v), stroke=AXIS if v == 0 else GRID))
        body.append(_text(left - 6, sy(v) + 4, f"{v:.0%}", anchor="end", size=11))
    tick = _nice_step(x_hi - x_lo, 8)
    t = math.ceil(x_lo / tick - 1e-9) * tick
    while t <= x_hi + 1e-9:
        body.append(_line(sx(t), bottom, sx(t), bottom + 4, stroke=AXIS))
        body.append(
            _text(
                sx(t),
                bottom + 16,
                f"{t:.2f}".rstrip("0").rstrip(".") or "0",
                anchor="middle",
                size=11,
            )
        )
        t += tick
    body.append(
        _text(
            left + plot_w / 2,
            bottom + 38,
            "decline threshold (confidence below it is declined)",
            anchor="middle",
            fill=INK,
        )
    )
    current = ((report.get("meta") or {}).get("settings") or {}).get("decline_threshold")
    if isinstance(current, int | float) and x_lo <= current <= x_hi:
        x = sx(current)
        body.append(_line(x, top - 16, x, bottom, stroke=INK, width=1.2, dash="2 3"))
        text = f"current {current:g}"
        anchor, dx = ("end", -4) if x + 7 * len(text) > width - right else ("start", 4)
        body.append(
            _text(x + dx, top - 8, text, anchor=anchor, size=11, fill=INK, weight="600", halo=True)
        )
    known = current if isinstance(current, int | float) else None
    for name, key, colour, dash in series:
        runs: list[list[str]] = [[]]
        for p in curve:
            value = p.get(key)
            # Below the run's own threshold a declined answer recorded no citation, so the
            # replayed evidence hit would be an undercount: leave it out rather than mislead.
            if key == "evidence_hit" and known is not None and p["threshold"] < known - 1e-9:
                value = None
            if value is None:  # a gap, not a drop to zero
                runs.append([])
                continue
            runs[-1].append(f"{_num(sx(p['threshold']))},{_num(sy(value))}")
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        for points in runs:
            if len(points) == 1:
                x, y = points[0].split(",")
                body.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{colour}"/>')
            elif points:
                body.append(
                    f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                    f'stroke-width="2.2" stroke-linejoin="round"{dashed}><title>{_e(name)}'
                    f"</title></polyline>"
                )
    return _svg(width, height, label, body)


# --------------------------------------------------------------------------- html

_CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --panel: #ffffff; --bg: #f3f4f6;
  --good: #0f7b4d; --bad: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 12px; }
h3 { font-size: 14px; margin: 0 0 8px; color: var(--muted); font-weight: 600; }
.sub { color: var(--muted); margin: 0; }
.meta { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 10px 0 0; padding: 0;
  list-style: none; color: var(--muted); font-size: 13px; }
.meta b { color: var(--ink); font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr));
  gap: 12px; margin: 20px 0 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 16px; }
.card .k { color: var(--muted); font-size: 13px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.card .v { font-size: 26px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .n { color: var(--muted); font-size: 12px; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
  padding: 18px 20px; margin: 16px 0 0; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.two > section { margin: 0; }
@media (max-width: 860px) { .two { grid-template-columns: 1fr; } }
.two-wrap { margin: 16px 0 0; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart text { font-family: inherit; }
.caption { color: var(--muted); font-size: 12px; margin: 8px 0 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.na { color: #9aa5b1; }
td.id { white-space: nowrap; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
td.why { color: var(--bad); width: 30%; }
table.failed { margin-top: 8px; }
table.failed td:nth-child(2) { width: 52%; }
.tag { display: inline-block; background: #eef2f7; color: #3e4c59; border-radius: 10px;
  padding: 0 7px; margin: 0 3px 2px 0; font-size: 11px; white-space: nowrap; }
.answer { color: var(--muted); font-size: 12px; margin-top: 3px; }
.quote { color: var(--muted); font-size: 12px; }
.ok { color: var(--good); }
ul.problems { margin: 0; padding-left: 20px; }
details summary { cursor: pointer; color: var(--muted); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
"""

_CARD_KEYS = (
    "pass_rate",
    "evidence_hit",
    "answer_match",
    "refusal_recall",
    "false_refusal_rate",
    "latency_p50_ms",
)


def _cell(key: str, value: float | None) -> str:
    shown = format_metric(key, value)
    return f'<td class="num{" na" if value is None else ""}">{_e(shown)}</td>'


def _metrics_table(metrics: Mapping[str, Any], counts: Mapping[str, int]) -> str:
    rows = "".join(
        f"<tr><td>{_e(METRIC_LABELS.get(k, k))} <code>{_e(k)}</code></td>"
        f"{_cell(k, metrics[k])}<td class='num'>{_e(_population(k, counts))}</td>"
        f"<td>{_e(METRIC_HELP.get(k, ''))}</td></tr>"
        for k in ordered_metric_keys(metrics)
    )
    return (
        "<table><thead><tr><th>metric</th><th class='num'>value</th><th class='num'>of</th>"
        f"<th>meaning</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _tag_table(report: Mapping[str, Any]) -> str:
    by_tag, tag_counts = report.get("by_tag") or {}, report.get("tag_counts") or {}
    if not by_tag:
        return "<p class='sub'>No item has a tag.</p>"
    head = "".join(f"<th class='num'>{_e(METRIC_LABELS[k])}</th>" for k in TAG_COLUMNS)
    body = "".join(
        f"<tr><td><span class='tag'>{_e(tag)}</span></td>"
        f"<td class='num'>{(tag_counts.get(tag) or {}).get('items', 0)}</td>"
        + "".join(_cell(k, values.get(k)) for k in TAG_COLUMNS)
        + "</tr>"
        for tag, values in by_tag.items()
    )
    return (
        f"<table><thead><tr><th>tag</th><th class='num'>items</th>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _citation_line(citation: Mapping[str, Any], answer: str) -> str:
    """Where a citation points; its quote too unless the answer already shows it verbatim
    (the extractive answer is its quotes), so a wrong citation can be found in the article.
    """
    where = f"{citation.get('doc_id', '?')}:{citation.get('start', '?')}–{citation.get('end', '?')}"
    quote = " ".join(str(citation.get("quote") or "").split())
    shown = f" “{_shorten(quote, 160)}”" if quote and quote not in " ".join(answer.split()) else ""
    return f"<div class='quote'>[{_e(citation.get('n', '?'))}] {_e(where)}{_e(shown)}</div>"


def _failed_table(rows: Sequence[Mapping[str, Any]]) -> str:
    failed = failed_rows(rows)
    if not failed:
        return "<p class='ok'>Every item passed.</p>"
    out = []
    for row in failed:
        tags = "".join(f"<span class='tag'>{_e(t)}</span>" for t in row.get("tags") or [])
        if row.get("declined"):
            answer = "<div class='answer'>(declined)</div>"
        else:
            answer = f"<div class='answer'>{_e(_shorten(row.get('answer', ''), 280))}</div>"
        quotes = "".join(_citation_line(c, str(row.get("answer") or "")) for c in _cited(row)[:3])
        out.append(
            f"<tr><td class='id'>{_e(row.get('id', ''))}</td>"
            f"<td>{_e(row.get('question', ''))}{answer}{quotes}</td>"
            f"<td>{tags}</td><td class='why'>{_e(describe_failure(row))}</td></tr>"
        )
    return (
        f"<p class='sub'>{_e(failure_summary(failed))}.</p>"
        "<table class='failed'><thead><tr><th>id</th><th>question, answer and first citations"
        "</th><th>tags</th><th>what went wrong</th></tr></thead>"
        f"<tbody>{''.join(out)}</tbody></table>"
    )


def _meta_list(meta: Mapping[str, Any]) -> str:
    keys = (
        "mode",
        "model",
        "k",
        "items",
        "started_at",
        "git_commit",
        "dataset_hash",
        "corpus_hash",
    )
    parts = []
    for key in keys:
        value = meta.get(key)
        if value is None:
            continue
        shown = _meta_value(value)
        if key.endswith(("hash", "commit")):
            shown = shown[:12]
        parts.append(f"<li>{_e(key)} <b>{_e(shown)}</b></li>")
    return f"<ul class='meta'>{''.join(parts)}</ul>" if parts else ""


def _meta_details(meta: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><td><code>{_e(k)}</code></td><td>{_e(_meta_value(v))}</td></tr>"
        for k, v in _flat_meta(meta)
    )
    if not rows:
        return "<p class='sub'>No run metadata.</p>"
    return (
        "<details><summary>All run metadata and settings</summary>"
        f"<table><tbody>{rows}</tbody></table></details>"
    )


def render_html(report: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    """One self-contained page: headline numbers, three charts, the tables, the failures."""
    meta = report.get("meta") or {}
    metrics = report.get("metrics") or {}
    counts = report.get("counts") or {}
    cards = "".join(
        f"<div class='card'><div class='k'>{_e(METRIC_LABELS[k])}</div>"
        f"<div class='v'>{_e(format_metric(k, metrics.get(k)))}</div>"
        f"<div class='n'>of {_e(_population(k, counts))}</div></div>"
        for k in _CARD_KEYS
    )
    problems = report.get("problems") or []
    problem_html = (
        "<ul class='problems'>" + "".join(f"<li>{_e(p)}</li>" for p in problems) + "</ul>"
        if problems
        else "<p class='ok'>None.</p>"
    )
    n_failed = counts.get("items", 0) - counts.get("passed", 0)
    title = f"Eval report: {meta.get('mode') or 'run'}"
    if meta.get("started_at"):
        title += f", {meta['started_at']}"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<header>
<h1>Eval report</h1>
<p class="sub">{_e(_counts_line(counts))}</p>
{_meta_list(meta)}
</header>
<div class="cards">{cards}</div>
<section>
<h2>By tag</h2>
{tag_bars_svg(report)}
<p class="caption">Pass rate counts every item of the tag; evidence hit only its answerable
items (n/a for a tag of unanswerable questions). Worst pass rate first.</p>
</section>
<div class="two two-wrap">
<section>
<h2>Latency</h2>
{latency_histogram_svg(report)}
<p class="caption">Wall time per question, retrieval and answering together. Dashed: the median
(p50) and the 95th percentile, the wait the slowest questions impose.</p>
</section>
<section>
<h2>Refusal threshold</h2>
{threshold_curve_svg(report)}
<p class="caption">What declining below each threshold would have done, replayed from each
item's recorded confidence. Evidence hit is drawn only from the run's own threshold up: below
it, declined answers recorded no citation to replay.</p>
</section>
</div>
<section>
<h2>Metrics</h2>
{_metrics_table(metrics, counts)}
</section>
<section>
<h2>Per tag</h2>
{_tag_table(report)}
</section>
<section>
<h2>Failed items ({n_failed})</h2>
{_failed_table(rows)}
</section>
<section>
<h2>Dataset problems ({len(problems)})</h2>
{problem_html}
</section>
<section>
<h2>Run</h2>
{_meta_details(meta)}
</section>
</main>
</body>
</html>
"""
