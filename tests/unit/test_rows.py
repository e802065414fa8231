"""Result rows: typed in memory, the same field names on disk, old runs still load."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from evals.rows import ResultRow, read_results, write_results
from tests.unit.test_report import make_row


def test_a_row_round_trips_with_the_same_field_names(tmp_path: Path) -> None:
    plain = make_row("q1", mode="extractive", fallback_reason=None)  # as the runner writes
    row = ResultRow.model_validate(plain)
    assert row.to_json() == plain  # nothing renamed, nothing added
    path = tmp_path / "results.jsonl"
    write_results(path, [row])
    assert json.loads(path.read_text(encoding="utf-8")) == plain


def test_judge_fields_are_written_only_once_set() -> None:
    row = ResultRow.model_validate(make_row("q1"))
    assert "judge_faithfulness" not in row.to_json() and "error" not in row.to_json()
    judged = ResultRow.model_validate(
        make_row("q1", judge_faithfulness=None, judge_claims=None, judge_error=None)
    )
    assert {"judge_faithfulness", "judge_claims", "judge_error"} <= set(judged.to_json())


def test_removed_claims_are_written_only_when_there_are_some(tmp_path: Path) -> None:
    assert "removed_claims" not in ResultRow.model_validate(make_row("q1")).to_json()
    claim = {"text": "Ukraine and Georgia would join NATO.", "reason": "says what its …"}
    row = ResultRow.model_validate(make_row("q2", removed_claims=[claim]))
    path = tmp_path / "results.jsonl"
    write_results(path, [row])
    # a claim written before removed claims kept their sentences loads with none
    assert json.loads(path.read_text(encoding="utf-8"))["removed_claims"] == [
        claim | {"sentences": []}
    ]
    assert read_results(path).rows[0].removed_claims[0].text == claim["text"]
    cited = claim | {"sentences": ["Ukraine and Georgia are not about to join NATO."]}
    write_results(path, [ResultRow.model_validate(make_row("q3", removed_claims=[cited]))])
    assert read_results(path).rows[0].removed_claims[0].sentences == cited["sentences"]


def test_an_old_row_without_passed_or_runner_fields_loads(tmp_path: Path) -> None:
    old = {"id": "q1", "answerable": False, "declined": True, "tags": ["u"], "extra": 1}
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(old) + "\n" + '{"id": "q2", "answ', encoding="utf-8")
    results = read_results(path)
    assert [(r.id, r.passed, r.question) for r in results.rows] == [("q1", True, "")]
    assert results.notes == [f"{path}:2: not valid JSON, skipped (a run cut short?)."]


def test_the_html_template_is_package_data() -> None:
    assert (resources.files("evals") / "templates" / "report.html.j2").is_file()
