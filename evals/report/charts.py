"""The report's three charts, drawn by matplotlib as inline SVG.

Figures are built as ``matplotlib.figure.Figure`` objects, never through pyplot, so no backend
or display is ever chosen: saving as SVG needs none, and nothing global is touched.

Inline SVG keeps ``report.html`` one self-contained file that opens offline. matplotlib's SVG
is made fit to sit inside HTML: the XML prolog and the namespace URLs go (inline SVG needs
none, and the page then names no URL at all), text stays text (``svg.fonttype: none``: smaller,
searchable, and escaped by matplotlib like any SVG text), ids are prefixed per chart so three
charts on one page never share one, and the root gets a role and an accessible label.
Data never reaches mathtext (``text.parse_math: False``): a tag holding ``$`` is just text.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from html import escape
from typing import Any

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from evals import registry

__all__ = ["latency_histogram_svg", "tag_bars_svg", "threshold_curve_svg"]

# Okabe-Ito colours: distinct for the common kinds of colour blindness, calm on white.
BLUE, GREEN, VERMILION, SKY = "#0072B2", "#009E73", "#D55E00", "#56B4E9"
INK, MUTED, GRID = "#1f2933", "#616e7c", "#e4e7eb"

# No RDF block: it names vocabulary URLs, and a date would make every report differ
_NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}

# a white box under an annotation keeps it legible where it crosses a bar or a line
_HALO = {"facecolor": "white", "edgecolor": "none", "pad": 1.5, "alpha": 0.85}

TAG_BARS = "Pass rate and evidence hit per tag"
LATENCY = "Latency per question"
CURVE = "Refusal threshold curve"

_STYLE = {
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9,
    "text.color": INK,
    "axes.edgecolor": GRID,
    "axes.labelcolor": INK,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}


@contextmanager
def _chart(name: str, width: float, height: float) -> Iterator[Figure]:
    """A figure (inches) drawn under the report's style; ``svg.hashsalt`` per chart keeps
    matplotlib's generated ids stable from run to run."""
    with rc_context({**_STYLE, "svg.hashsalt": name}):
        yield Figure(figsize=(width, height), layout="constrained")


def _svg(fig: Figure, name: str, label: str) -> str:
    """The figure as an inline ``<svg>`` element, ready to sit in HTML."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata=_NO_METADATA)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)
    text = re.sub(r'\s(?:xmlns(?::\w+)?|version)="[^"]*"', "", text)
    text = re.sub(r'(<svg\b[^>]*?)\s(width|height)="[^"]*"', r"\1", text)
    text = re.sub(r'(<svg\b[^>]*?)\s(width|height)="[^"]*"', r"\1", text)
    text = text.replace('<style type="text/css">*{', '<style type="text/css">svg.chart *{', 1)
    text = re.sub(
        r'(\bid="|url\(#|href="#)([^")]+)', lambda m: f"{m.group(1)}{name}-{m.group(2)}", text
    )
    head = (
        f'<svg class="chart" role="img" aria-label="{escape(label)}" width="100%"'
        f"{text[len('<svg') : text.index('>')]}><title>{escape(label)}</title>"
    )
    return head + text[text.index(">") + 1 :].strip()


def _empty(name: str, label: str, message: str, width: float, height: float) -> str:
    with _chart(name, width, height) as fig:
        fig.text(0.5, 0.5, message, ha="center", va="center", color=MUTED, fontsize=11)
        return _svg(fig, name, label)


def _percent_axis(ax: Axes, axis: str) -> None:
    ticks = [0, 0.25, 0.5, 0.75, 1.0]
    labels = [f"{t:.0%}" for t in ticks]
    if axis == "x":
        ax.set_xlim(0, 1.08)
        ax.set_xticks(ticks, labels)
        ax.grid(axis="x", color=GRID, linewidth=0.8)
    else:
        ax.set_ylim(0, 1.04)
        ax.set_yticks(ticks, labels)
        ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def tag_bars_svg(report: Mapping[str, Any]) -> str:
    """Pass rate and evidence hit per tag, worst pass rate first, all items on top."""
    by_tag, tag_counts = report.get("by_tag") or {}, report.get("tag_counts") or {}
    if not by_tag:
        return _empty("tags", TAG_BARS, "No item has a tag.", 10.4, 1.2)

    def order(tag: str) -> tuple[bool, float, str]:
        value = by_tag[tag].get("pass_rate")
        return (value is None, value if value is not None else 0.0, tag)

    groups: list[tuple[str, Mapping[str, Any], int]] = [
        ("all items", report.get("metrics") or {}, (report.get("counts") or {}).get("items", 0))
    ]
    groups += [
        (t, by_tag[t], (tag_counts.get(t) or {}).get("items", 0)) for t in sorted(by_tag, key=order)
    ]
    series = (("pass rate", "pass_rate", BLUE), ("evidence hit", "evidence_hit", SKY))
    bar = 0.36
    with _chart("tags", 10.4, 0.9 + 0.42 * len(groups)) as fig:
        ax = fig.add_subplot()
        for j, (_, key, colour) in enumerate(series):
            for i, (_, values, _) in enumerate(groups):
                y = i + (j - 0.5) * bar
                value = values.get(key)
                if value is None:
                    ax.text(0.01, y, "n/a", va="center", color=MUTED, fontsize=8)
                    continue
                ax.barh(y, max(value, 0.003), height=bar * 0.9, color=colour)
                ax.text(value + 0.01, y, f"{value:.0%}", va="center", fontsize=8)
        names = [n if len(n) <= 24 else n[:23] + "…" for n, _, _ in groups]
        counts = [n for _, _, n in groups]
        ticks = [f"{name}  ({n} items)" for name, n in zip(names, counts, strict=True)]
        ax.set_yticks(range(len(groups)), ticks)
        ax.get_yticklabels()[0].set_fontweight("bold")
        ax.invert_yaxis()
        if len(groups) > 1:
            ax.axhline(0.5, color=MUTED, linewidth=0.8, linestyle=(0, (2, 3)))
        _percent_axis(ax, "x")
        handles = [Patch(color=colour, label=name) for name, _, colour in series]
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2)
        return _svg(fig, "tags", TAG_BARS)


def latency_histogram_svg(report: Mapping[str, Any]) -> str:
    """How long questions took, with the p50 and p95 marked: the tail is what users feel."""
    latencies = [float(v) for v in report.get("latencies_ms") or [] if v is not None]
    if not latencies:
        return _empty("latency", LATENCY, "No latencies recorded.", 5.1, 3.1)
    metrics = report.get("metrics") or {}
    lo, hi = min(latencies), max(latencies)
    bins: Any = min(14, max(1, len(set(latencies)))) if hi > lo else [lo - 0.5, lo + 0.5]
    with _chart("latency", 5.1, 3.1) as fig:
        ax = fig.add_subplot()
        ax.hist(latencies, bins=bins, color=BLUE, rwidth=0.9, label="questions")
        ax.set_xlabel("milliseconds per question")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(axis="y", color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        top = ax.get_ylim()[1]
        marks = (("latency_p50_ms", "p50", "right"), ("latency_p95_ms", "p95", "left"))
        for key, name, align in marks:
            value = metrics.get(key)
            if value is None:
                continue
            ax.axvline(value, color=VERMILION, linewidth=1.4, linestyle=(0, (4, 3)))
            text = f"{name} {registry.format_metric(key, value)}"
            pad = (hi - lo or 1.0) * 0.02
            ax.text(
                value - pad if align == "right" else value + pad,
                top * 0.97,
                text,
                ha=align,
                va="top",
                color=VERMILION,
                fontweight="bold",
                bbox=_HALO,
            )
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0))
        return _svg(fig, "latency", LATENCY)


def threshold_curve_svg(report: Mapping[str, Any]) -> str:
    """Refusal recall against false refusals as the decline threshold moves.

    The trade-off the threshold buys, with the run's own threshold marked, so a person can see
    whether moving it would gain more refusals than it costs answers.
    """
    curve = [p for p in report.get("curve") or [] if p.get("threshold") is not None]
    if not curve:
        return _empty("curve", CURVE, "No threshold curve.", 5.1, 3.1)
    current = ((report.get("meta") or {}).get("settings") or {}).get("decline_threshold")
    known = current if isinstance(current, int | float) else None
    xs = [p["threshold"] for p in curve]
    series = (
        ("refusal recall", "refusal_recall", GREEN, "-"),
        ("false refusals", "false_refusal_rate", VERMILION, "-"),
        ("evidence hit", "evidence_hit", BLUE, (0, (5, 3))),
    )
    with _chart("curve", 5.1, 3.1) as fig:
        ax = fig.add_subplot()
        for name, key, colour, style in series:
            ys = []
            for p in curve:
                value = p.get(key)
                # Below the run's own threshold a declined answer recorded no citation, so the
                # replayed evidence hit would be an undercount: leave it out rather than mislead.
                if key == "evidence_hit" and known is not None and p["threshold"] < known - 1e-9:
                    value = None
                ys.append(math.nan if value is None else value)  # a gap, not a drop to zero
            (line,) = ax.plot(xs, ys, color=colour, linestyle=style, linewidth=2, label=name)
            line.set_gid(f"series-{key}")
        if known is not None and min(xs) <= known <= max(xs):
            ax.axvline(known, color=INK, linewidth=1.1, linestyle=(0, (2, 3)))
            ax.text(
                known,
                1.02,
                f"current {known:g}",
                ha="left",
                va="bottom",
                fontweight="bold",
                transform=ax.get_xaxis_transform(),
            )
        ax.set_xlim(min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1)
        _percent_axis(ax, "y")
        ax.set_xlabel("decline threshold (confidence below it is declined)")
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.08), ncols=3)
        return _svg(fig, "curve", CURVE)
