"""Comparing two run folders: deltas, flipped items, and regressions shown first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals.compare import MetricDelta, compare_runs, load_run, render_comparison
from evals.errors import EvalError
from evals.report import build_report, write_reports
from tests.unit.test_report import make_row


def write_run(folder: Path, rows: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> Path:
    """A run folder as ``assistant eval --out`` leaves it: results.jsonl and the reports."""
    folder.mkdir(parents=True)
    with (folder / "results.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    write_reports(folder, build_report(rows, meta or {"mode": "extractive"}, []), rows)
    return folder


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    """A baseline and a change: q2 regresses, q3 gets fixed, q4 is dropped, q6 is new."""
    a = [
        make_row("q1", latency=10.0),
        make_row("q2", tags=("fact", "number"), latency=10.0, question="How many troops?"),
        make_row("q3", declined=True, tags=("paraphrase",), latency=10.0),
        make_row("q4", answerable=False, declined=True, tags=("unanswerable",), latency=10.0),
        make_row("q5", answerable=False, declined=True, tags=("unanswerable",), latency=10.0),
    ]
    b = [
        make_row("q1", latency=10.5),
        make_row("q2", hit=False, tags=("fact", "number"), latency=10.5, question="How many?"),
        make_row("q3", tags=("paraphrase",), latency=10.5, question="Rephrased <q3>?"),
        make_row("q5", answerable=False, declined=True, tags=("unanswerable",), latency=10.5),
        make_row("q6", answerable=False, tags=("unanswerable", "new-tag"), latency=10.5),
    ]
    return write_run(tmp_path / "a", a), write_run(tmp_path / "b", b)


def delta(deltas: list[MetricDelta], key: str) -> MetricDelta:
    return next(d for d in deltas if d.key == key)


def test_metric_deltas_overall(runs: tuple[Path, Path]) -> None:
    c = compare_runs(*runs)
    # A: 4 of 5 pass (q3 declined); B: q1, q3, q5 pass of 5
    pass_rate = delta(c.overall, "pass_rate")
    assert (pass_rate.a, pass_rate.b) == (pytest.approx(0.8), pytest.approx(0.6))
    assert pass_rate.delta == pytest.approx(-0.2)
    assert pass_rate.verdict == "worse"
    refusal = delta(c.overall, "refusal_recall")
    assert refusal.delta == pytest.approx(-0.5) and refusal.verdict == "worse"
    false_refusals = delta(c.overall, "false_refusal_rate")  # 1/3 → 0: lower is better
    assert false_refusals.delta == pytest.approx(-1 / 3) and false_refusals.verdict == "better"
    latency = delta(c.overall, "latency_p50_ms")  # +5%: noise
    assert latency.delta == pytest.approx(0.5) and latency.verdict == "same"
    assert delta(c.overall, "citation_validity").verdict == "same"
    assert c.overall[0].key == "pass_rate"


def test_metric_deltas_per_tag(runs: tuple[Path, Path]) -> None:
    c = compare_runs(*runs)
    assert set(c.by_tag) == {"fact", "number", "paraphrase", "unanswerable", "new-tag"}
    fact = delta(c.by_tag["fact"], "evidence_hit")
    assert (fact.a, fact.b, fact.delta, fact.verdict) == (1.0, 0.5, -0.5, "worse")
    paraphrase = delta(c.by_tag["paraphrase"], "pass_rate")
    assert (paraphrase.a, paraphrase.b, paraphrase.verdict) == (0.0, 1.0, "better")
    new = delta(c.by_tag["new-tag"], "pass_rate")  # only in B: no delta, no verdict
    assert (new.a, new.b, new.delta, new.verdict) == (None, 0.0, None, "n/a")
    assert any(d.scope == "fact" and d.key == "evidence_hit" for d in c.worse)


def test_flipped_items_with_questions(runs: tuple[Path, Path]) -> None:
    c = compare_runs(*runs)
    assert [(i.id, i.question, i.kind) for i in c.regressed] == [
        ("q2", "How many?", "wrong citation")
    ]
    assert c.regressed[0].tags == ("fact", "number")
    # a fixed item says why it failed before
    assert [(i.id, i.question, i.kind) for i in c.fixed] == [("q3", "Rephrased <q3>?", "declined")]
    assert c.only_in_a == [("q4", "Question q4?")]
    assert c.only_in_b == [("q6", "Question q6?")]
    assert c.has_regressions


def test_render_puts_regressions_first_and_marks_them(runs: tuple[Path, Path]) -> None:
    text = render_comparison(compare_runs(*runs))
    assert text.startswith("# Eval comparison (B against baseline A)\n")
    assert "REGRESSIONS: 1 items now fail" in text
    assert "pass rate 80.0% → 60.0% (−20.0 pp)" in text
    regressions, improvements = text.index("## Regressions"), text.index("## Improvements")
    assert regressions < improvements < text.index("## All metrics, overall")
    block = text[regressions:improvements]
    assert "✗ REGRESSED q2 [fact, number]: How many?" in block
    assert "wrong citation: none overlaps the gold evidence" in block
    assert "| overall | pass rate | 80.0% | 60.0% | −20.0 pp | WORSE |" in block
    assert "| fact | evidence hit | 100.0% | 50.0% | −50.0 pp | WORSE |" in block
    assert "✓ fixed q3 [paraphrase]: Rephrased <q3>?" in text[improvements:]
    assert "| false refusal rate | 33.3% | 0.0% | −33.3 pp | better |" in text
    assert "- only in A: q4: Question q4?" in text
    assert "- only in B: q6: Question q6?" in text


def test_identical_runs_have_no_regressions(tmp_path: Path) -> None:
    rows = [make_row("q1"), make_row("q2", answerable=False, declined=True, tags=("u",))]
    a, b = write_run(tmp_path / "a", rows), write_run(tmp_path / "b", rows)
    c = compare_runs(a, b)
    assert not c.has_regressions and not c.fixed and not c.better
    text = render_comparison(c)
    assert "No regressions." in text
    assert text.count("None.") == 2  # both the regressions and the improvements sections


def test_accepts_the_report_json_path(runs: tuple[Path, Path]) -> None:
    a, b = runs
    c = compare_runs(a / "report.json", str(b / "report.json"))
    assert c.a.path == a and c.b.path == b
    assert [i.id for i in c.regressed] == ["q2"]


def test_folder_without_report_is_a_clear_error(tmp_path: Path, runs: tuple[Path, Path]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EvalError, match=r"holds no report\.json: not an eval run folder"):
        compare_runs(runs[0], empty)
    with pytest.raises(EvalError, match="does not exist"):
        compare_runs(tmp_path / "nowhere", runs[1])


def test_unreadable_report_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "report.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(EvalError, match="Cannot read"):
        load_run(folder)
    (folder / "report.json").write_text("[]", encoding="utf-8")
    with pytest.raises(EvalError, match="not an eval report"):
        load_run(folder)


def test_missing_results_compares_metrics_only(runs: tuple[Path, Path]) -> None:
    a, b = runs
    (b / "results.jsonl").unlink()
    c = compare_runs(a, b)
    assert not c.regressed and not c.fixed and not c.only_in_a and not c.only_in_b
    assert delta(c.overall, "pass_rate").verdict == "worse"
    assert any("results.jsonl is missing" in note for note in c.notes)
    assert "## Notes" in render_comparison(c)


def test_cut_lines_and_repeated_ids_in_results(runs: tuple[Path, Path]) -> None:
    a, b = runs
    with (b / "results.jsonl").open("a", encoding="utf-8") as fh:
        # a resumed run re-asked q2 and it passed the second time; then a crash cut a line
        fh.write(json.dumps(make_row("q2", tags=("fact", "number"))) + "\n")
        fh.write('{"id": "q7", "answ')
    c = compare_runs(a, b)
    assert not c.regressed
    assert any("results.jsonl:7: not valid JSON" in note for note in c.notes)


def test_rows_without_passed_are_recomputed(tmp_path: Path) -> None:
    old = make_row("q1", declined=True)
    del old["passed"]
    a = write_run(tmp_path / "a", [old])
    b = write_run(tmp_path / "b", [make_row("q1")])
    assert [i.id for i in compare_runs(a, b).fixed] == ["q1"]


def test_different_eval_sets_are_flagged(tmp_path: Path) -> None:
    rows = [make_row("q1")]
    a = write_run(tmp_path / "a", rows, {"dataset_hash": "aaaa"})
    b = write_run(tmp_path / "b", rows, {"dataset_hash": "bbbb"})
    assert any("different eval sets" in n for n in compare_runs(a, b).notes)


@pytest.mark.parametrize(
    ("key", "a", "b", "verdict"),
    [
        ("pass_rate", 0.5, 0.6, "better"),
        ("false_refusal_rate", 0.1, 0.2, "worse"),
        ("latency_p95_ms", 100.0, 150.0, "worse"),
        ("latency_p95_ms", 100.0, 105.0, "same"),
        ("cited_chars_mean", 80.0, 40.0, "better"),  # tighter quotes (registry: lower)
        ("cited_chars_mean", 40.0, 80.0, "worse"),
        ("mrr", None, 0.5, "n/a"),
    ],
)
def test_verdicts(key: str, a: float | None, b: float | None, verdict: str) -> None:
    assert MetricDelta("overall", key, a, b).verdict == verdict


def test_run_line_says_when_the_code_was_uncommitted(tmp_path: Path) -> None:
    rows = [make_row("q1")]
    clean = {"mode": "extractive", "git_commit": "a" * 40, "git_dirty": False}
    a = write_run(tmp_path / "a", rows, clean)
    b = write_run(tmp_path / "b", rows, clean | {"git_dirty": True})
    text = render_comparison(compare_runs(a, b))
    assert f"commit {'a' * 12}, " in text.splitlines()[2]
    assert f"commit {'a' * 12} with uncommitted changes" in text.splitlines()[3]
