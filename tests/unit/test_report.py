"""The report writers, on hand-made rows: every DESIGN key, readable Markdown, a safe HTML page."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from evals.metrics import METRIC_KEYS, ItemScore
from evals.registry import format_metric
from evals.report import (
    CURVE_THRESHOLDS,
    build_report,
    describe_failure,
    failure_kind,
    render_html,
    render_markdown,
    write_reports,
)

EVIL = "<script>alert('x')</script> | what?"


def make_row(
    item_id: str,
    *,
    answerable: bool = True,
    declined: bool = False,
    hit: bool | None = True,
    tags: tuple[str, ...] = ("fact",),
    latency: float | None = 20.0,
    confidence: float = 0.6,
    question: str = "",
    citations: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A row as the runner writes it: an ItemScore dump plus the runner's extra keys."""
    n = citations if citations is not None else (0 if declined else 1)
    fields: dict[str, Any] = {
        "id": item_id,
        "tags": list(tags),
        "answerable": answerable,
        "declined": declined,
        "confidence": confidence,
        "retrieved": 4,
        "citations": n,
        "valid_citations": n,
        "cited_chars": 40 * n,
        "latency_ms": latency,
    }
    if answerable:
        fields |= {
            "gold_spans": 1 if hit is not None else 0,
            "retrieval_hit": hit is not None and (hit or declined),
            "reciprocal_rank": 1.0 if hit else 0.5,
            "citation_hit": hit,
            "top_citation_hit": hit,
            "evidence_hit": None if hit is None else (hit and not declined),
            "answer_match": bool(hit) and not declined,
        }
        if hit is None:
            fields |= {"retrieval_hit": None, "reciprocal_rank": None}
    row = ItemScore.model_validate(fields).model_dump(mode="json")
    row |= {
        "question": question or f"Question {item_id}?",
        "answer": "" if declined else "NATO «will not» compromise [1].",
        "grounded": not declined,
        "query": question or f"Question {item_id}?",
        "cited": [
            {"n": i + 1, "doc_id": "article", "start": 0, "end": 40, "quote": "a" * 40}
            for i in range(n)
        ],
    }
    return row | extra


def sample_rows() -> list[dict[str, Any]]:
    return [
        make_row("q1", latency=12.0, confidence=0.9),
        make_row("q2", hit=False, tags=("fact", "paraphrase"), latency=18.0, confidence=0.5),
        make_row("q3", declined=True, tags=("number",), latency=25.0, confidence=0.1),
        make_row("q4", answerable=False, declined=True, tags=("unanswerable",), confidence=0.05),
        make_row(
            "q5",
            answerable=False,
            tags=("unanswerable", "adversarial"),
            latency=60.0,
            confidence=0.45,
            question=EVIL,
        ),
    ]


META = {
    "mode": "extractive",
    "started_at": "2025-01-01T00:00:00Z",
    "dataset_hash": "abc123",
    "settings": {"decline_threshold": 0.3, "top_k": 4, "llm_api_key": "sk-live-123"},
}
PROBLEMS = ["evals/data/x.jsonl:3: not valid JSON (Expecting value at column 1)"]


@pytest.fixture
def written(tmp_path: Path) -> dict[str, Any]:
    rows = sample_rows()
    report = build_report(rows, META, PROBLEMS)
    paths = write_reports(tmp_path / "out", report, rows)
    return {"rows": rows, "report": report, "paths": paths, "dir": tmp_path / "out"}


def strict_json(text: str) -> Any:
    """JSON that must not hold NaN/Infinity (json.loads accepts them by default)."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in report.json")

    return json.loads(text, parse_constant=refuse)


# --------------------------------------------------------------------------- report.json


def test_build_report_has_every_design_key(written: dict[str, Any]) -> None:
    report = strict_json((written["dir"] / "report.json").read_text(encoding="utf-8"))
    assert set(report) == {
        "metrics",
        "counts",
        "by_tag",
        "tag_counts",
        "meta",
        "problems",
        "curve",
        "latencies_ms",
    }
    assert set(METRIC_KEYS) <= set(report["metrics"])
    for key, value in report["metrics"].items():
        if key == "hedge_hit":
            assert value is None  # no item was hedged: nothing to score, not a 0
        elif not key.endswith(("_ms", "chars_mean")):
            assert 0.0 <= value <= 1.0, key
    assert report["counts"] == {
        "items": 5,
        "answerable": 3,
        "unanswerable": 2,
        "declined": 2,
        "hedged": 0,
        "citations": 3,
        "passed": 2,
    }
    assert set(report["by_tag"]) == {"adversarial", "fact", "number", "paraphrase", "unanswerable"}
    assert set(report["by_tag"]["fact"]) == set(METRIC_KEYS)
    assert report["tag_counts"]["fact"]["items"] == 2
    assert report["problems"] == PROBLEMS
    assert report["latencies_ms"] == [12.0, 18.0, 25.0, 20.0, 60.0]


def test_curve_spans_zero_to_point_eight_in_steps_of_two_hundredths(
    written: dict[str, Any],
) -> None:
    curve = written["report"]["curve"]
    assert [p["threshold"] for p in curve] == list(CURVE_THRESHOLDS)
    assert CURVE_THRESHOLDS[0] == 0.0 and CURVE_THRESHOLDS[-1] == 0.8 and len(curve) == 41
    assert set(curve[0]) == {
        "threshold",
        "refusal_recall",
        "false_refusal_rate",
        "evidence_hit",
        "top_evidence_hit",
    }
    at_zero, at_half = curve[0], curve[25]  # 0.50: both unanswerable items are below it
    assert at_zero["refusal_recall"] == 0.0 and at_half["refusal_recall"] == 1.0
    assert at_half["false_refusal_rate"] == pytest.approx(1 / 3)  # q3 (0.1); q2 sits at 0.5


def test_nan_metrics_are_written_as_null(tmp_path: Path) -> None:
    # only answerable items: refusal recall has no denominator; the "number" tag holds one
    # item declined, so its cited chars have none either
    rows = [make_row("a1"), make_row("a2", declined=True, tags=("number",), latency=None)]
    report = build_report(rows, {}, [])
    write_reports(tmp_path, report, rows)
    text = (tmp_path / "report.json").read_text(encoding="utf-8")
    data = strict_json(text)
    assert data["metrics"]["refusal_recall"] is None
    assert data["by_tag"]["number"]["cited_chars_mean"] is None
    assert data["by_tag"]["number"]["latency_p50_ms"] is None
    assert '"refusal_recall": null' in text
    assert "NaN" not in text


def test_secrets_in_meta_are_masked(written: dict[str, Any]) -> None:
    for path in written["paths"]:
        assert "sk-live-123" not in path.read_text(encoding="utf-8"), path.name
    assert written["report"]["meta"]["settings"]["llm_api_key"] == "****"
    assert written["report"]["meta"]["settings"]["decline_threshold"] == 0.3


def test_write_reports_writes_three_files_and_no_leftovers(written: dict[str, Any]) -> None:
    assert [p.name for p in written["paths"]] == ["report.json", "report.md", "report.html"]
    assert sorted(p.name for p in written["dir"].iterdir()) == [
        "report.html",
        "report.json",
        "report.md",
    ]


def test_meta_that_json_cannot_encode_is_written_as_text(tmp_path: Path) -> None:
    rows = [make_row("a1")]
    report = build_report(rows, {"datasets": [tmp_path / "set.jsonl"]}, [])
    write_reports(tmp_path, report, rows)
    meta = strict_json((tmp_path / "report.json").read_text(encoding="utf-8"))["meta"]
    assert meta["datasets"] == [str(tmp_path / "set.jsonl")]


# --------------------------------------------------------------------------- report.md


def test_markdown_has_the_tables_failures_and_problems(written: dict[str, Any]) -> None:
    md = (written["dir"] / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# Eval report\n")
    for heading in ("## Run", "## Metrics", "## By tag", "## Failed items (3)"):
        assert heading in md
    assert "| metric | value | of | meaning |" in md
    assert "| pass rate (`pass_rate`) | 40.0% | 5 items |" in md
    assert "| refusal recall (`refusal_recall`) | 50.0% | 2 unanswerable |" in md
    assert re.search(r"^\| tag \| items \| pass rate \|", md, re.MULTILINE)
    assert "| fact | 2 | 50.0% |" in md
    assert "| mode | extractive |" in md
    assert "| settings.decline_threshold | 0.3 |" in md
    failed = md.split("## Failed items (3)")[1].split("## Dataset problems")[0]
    assert "1 wrong citation, 1 declined, 1 false answer" in failed
    assert "| q2 | Question q2? | wrong citation" in failed
    assert "| q3 | Question q3? | declined an answerable question | (declined) |" in failed
    assert "q1 " not in failed and "q4 " not in failed
    assert "## Dataset problems (1)\n\n- evals/data/x.jsonl:3: not valid JSON" in md


def test_markdown_keeps_data_from_breaking_the_table(written: dict[str, Any]) -> None:
    md = (written["dir"] / "report.md").read_text(encoding="utf-8")
    line = next(ln for ln in md.splitlines() if ln.startswith("| q5 |"))
    assert "\\<script>alert('x')\\</script> \\| what?" in line
    assert line.count(" | ") == 3  # id | question | reason | answer: the pipe did not split it


# --------------------------------------------------------------------------- report.html

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def test_html_is_self_contained(written: dict[str, Any]) -> None:
    page = (written["dir"] / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert not EXTERNAL.search(page)
    assert "http://" not in page and "https://" not in page
    lowered = page.lower()
    for needle in ("<script", "<link", "@import", "<iframe", "<img"):
        assert needle not in lowered, needle
    # the charts clip to their axes with local references (url(#id)); nothing else is fetched
    assert not re.search(r"url\(\s*['\"]?(?!#)", lowered)
    assert "<style>" in page


def test_html_has_three_charts_with_labels(written: dict[str, Any]) -> None:
    page = (written["dir"] / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 3
    for label in (
        "Pass rate and evidence hit per tag",
        "Latency per question",
        "Refusal threshold curve",
    ):
        assert f'aria-label="{label}"' in page
    for legend in ("pass rate", "evidence hit", "refusal recall", "false refusals", "p50", "p95"):
        assert f">{legend}" in page
    assert ">current 0.3</text>" in page
    for series in ("refusal_recall", "false_refusal_rate", "evidence_hit"):
        assert f'id="curve-series-{series}"' in page  # each curve drawn as its own line


def test_html_escapes_text_from_data(written: dict[str, Any]) -> None:
    page = (written["dir"] / "report.html").read_text(encoding="utf-8")
    # &#39; or &#x27; for the quote, whichever the escaper writes
    assert re.search(r"&lt;script&gt;alert\(&#(?:39|x27);x&#(?:39|x27);\)&lt;/script&gt;", page)
    assert "<script>" not in page


def test_html_escapes_tags_and_meta(tmp_path: Path) -> None:
    rows = [make_row("a1", tags=("<b>bold</b>",), hit=False)]
    report = build_report(rows, {"mode": "<i>x</i>", "settings": {"note": "<svg onload=1>"}}, [])
    page = render_html(report, rows)
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<i>x</i>" not in page and "<svg onload" not in page
    assert page.count("<svg") == 3


def test_html_lists_failed_items_with_reasons(written: dict[str, Any]) -> None:
    page = (written["dir"] / "report.html").read_text(encoding="utf-8")
    failed = page.split("Failed items (3)")[1].split("Dataset problems")[0]
    for item_id in ("q2", "q3", "q5"):
        assert f">{item_id}</td>" in failed
    assert ">q1</td>" not in failed and ">q4</td>" not in failed
    assert "false answer: answered a question the article does not answer" in failed
    assert "evals/data/x.jsonl:3" in page


def test_html_survives_nan_metrics_and_no_latencies() -> None:
    rows = [
        make_row("u1", answerable=False, declined=True, tags=("unanswerable",), latency=None),
    ]
    report = build_report(rows, {}, [])
    assert report["metrics"]["evidence_hit"] is None
    page = render_html(report, rows)
    md = render_markdown(report, rows)
    assert page.count("<svg") == 3
    assert "No latencies recorded." in page
    assert "Every item passed." in page
    assert "n/a" in page and "| evidence hit (`evidence_hit`) | n/a |" in md


def test_html_with_no_tags_and_one_latency() -> None:
    rows = [make_row("a1", tags=(), latency=7.0)]
    page = render_html(build_report(rows, {}, []), rows)
    assert page.count("<svg") == 3
    assert "No item has a tag." in page
    assert "p50 7.0 ms" in page


def test_current_threshold_is_not_marked_when_unknown() -> None:
    rows = sample_rows()
    page = render_html(build_report(rows, {"settings": {}}, []), rows)
    assert ">current " not in page


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("row", "kind", "text"),
    [
        (make_row("x", answerable=False), "false answer", "false answer: answered"),
        (make_row("x", declined=True), "declined", "declined an answerable question"),
        (make_row("x", hit=False), "wrong citation", "wrong citation: none overlaps"),
        (make_row("x", hit=False, citations=0), "no citation", "answered without a citation"),
        (make_row("x", hit=None), "unscorable", "unscorable: the gold evidence"),
        (make_row("x", error="Timeout"), "error", "error: Timeout"),
    ],
)
def test_failure_kinds(row: dict[str, Any], kind: str, text: str) -> None:
    assert failure_kind(row) == kind
    assert describe_failure(row).startswith(text)


def test_failure_description_adds_invalid_citations() -> None:
    row = make_row("x", hit=False, citations=2) | {"valid_citations": 1}
    assert describe_failure(row).endswith("1 of 2 citations do not match the source")


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("pass_rate", 0.8125, "81.2%"),
        ("mrr", 0.5, "0.500"),
        ("latency_p50_ms", 1234.4, "1,234 ms"),
        ("latency_p95_ms", 3.25, "3.2 ms"),
        ("cited_chars_mean", 87.6, "88"),
        ("evidence_hit", None, "n/a"),
        ("evidence_hit", math.nan, "n/a"),
    ],
)
def test_format_metric(key: str, value: float | None, shown: str) -> None:
    assert format_metric(key, value) == shown


def test_failed_items_show_where_each_citation_points() -> None:
    quoted = make_row("a1", hit=False) | {"answer": "x " + "a" * 40 + " [1]"}
    other = make_row("a2", hit=False) | {"answer": "Something else [1]."}
    page = render_html(build_report([quoted, other], {}, []), [quoted, other])
    lines = re.findall(r"<div class=[\"']quote[\"']>(.*?)</div>", page)
    # the extractive answer is its own quote: only the location is repeated
    assert lines == ["[1] article:0–40", "[1] article:0–40 “" + "a" * 40 + "”"]
