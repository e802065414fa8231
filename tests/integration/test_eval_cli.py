"""`assistant eval` end to end on the real product: reports, resume, gates, bad lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from evals.dataset import shipped_dataset_paths

runner = CliRunner()
GOOD = {
    "id": "g1",
    "question": "Where is NATO headquartered?",
    "answerable": True,
    "answers": ["Brussels"],
    "evidence": ["NATO headquarters in Brussels"],
    "tags": ["fact"],
}
NOPE = {
    "id": "u1",
    "question": "What is the population of Ukraine?",
    "answerable": False,
    "tags": ["unanswerable"],
}


def _dataset(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_eval_writes_every_report_with_all_metrics(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(app, ["eval", "--split", "test", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    for key in [
        "retrieval_hit_at_k",
        "mrr",
        "evidence_hit",
        "answer_match",
        "citation_validity",
        "refusal_recall",
        "false_refusal_rate",
        "cited_chars_mean",
        "latency_p50_ms",
        "latency_p95_ms",
    ]:
        assert key in report["metrics"]
    assert report["metrics"]["citation_validity"] == 1.0
    assert "paraphrase" in report["by_tag"]
    assert report["meta"]["mode"] == "extractive" and report["meta"]["dataset_hash"]
    assert report["meta"]["corpus_hash"]
    rows = (out / "results.jsonl").read_text().splitlines()
    assert len(rows) == len(shipped_dataset_paths("test")[0].read_text().splitlines())
    html = (out / "report.html").read_text()
    assert "<svg" in html and "<script src" not in html
    assert (out / "report.md").read_text().startswith("#")


def test_malformed_lines_are_reported_with_line_numbers_and_skipped(tmp_path: Path) -> None:
    bad_evidence = {**GOOD, "id": "g2", "evidence": ["words that are not in the article"]}
    path = _dataset(
        tmp_path,
        [
            json.dumps(GOOD),
            "{not json",
            json.dumps({"id": "x"}),
            json.dumps(bad_evidence),
            json.dumps(NOPE),
        ],
    )
    out = tmp_path / "run"
    result = runner.invoke(app, ["eval", "--dataset", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "set.jsonl:2" in result.stderr and "set.jsonl:3" in result.stderr
    assert "set.jsonl:4" in result.stderr and "not found verbatim" in result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["counts"]["items"] == 2
    assert len(report["problems"]) == 3


def test_empty_dataset_is_one_sentence_and_exit_1(tmp_path: Path) -> None:
    path = _dataset(tmp_path, [""])
    result = runner.invoke(app, ["eval", "--dataset", str(path)])
    assert result.exit_code == 1
    assert "holds no usable item" in result.output


def test_a_set_written_on_another_corpus_names_the_evidence_and_the_fix(tmp_path: Path) -> None:
    other = {**GOOD, "id": "o1", "evidence": ["words that are not in the article"]}
    path = _dataset(tmp_path, [json.dumps(other)])
    result = runner.invoke(app, ["eval", "--dataset", str(path)])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "the evidence of all 1 items is not in this corpus" in flat
    assert "item 'o1'" in flat and "--corpus" in flat


def test_tags_that_match_nothing_are_named(tmp_path: Path) -> None:
    path = _dataset(tmp_path, [json.dumps(GOOD)])
    result = runner.invoke(app, ["eval", "--dataset", str(path), "--tags", "nosuchtag"])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "none of the 1 items this corpus can score has the tags 'nosuchtag'" in flat


def test_empty_corpus_is_one_sentence_and_exit_1(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = runner.invoke(app, ["eval", "--corpus", str(empty)])
    assert result.exit_code == 1
    assert "is empty" in result.output


def test_fail_under_names_the_metric(tmp_path: Path) -> None:
    path = _dataset(tmp_path, [json.dumps(GOOD), json.dumps(NOPE)])
    result = runner.invoke(
        app,
        [
            "eval",
            "--dataset",
            str(path),
            "--fail-under",
            "mrr=1.01",
            "--fail-under",
            "false_refusal_rate=0.0",
        ],
    )
    assert result.exit_code == 1
    assert "quality gate failed: mrr = " in result.output and "(below 1.01)" in result.output
    assert "false_refusal_rate" not in result.output.split("quality gate failed")[1]
    ok = runner.invoke(app, ["eval", "--dataset", str(path), "--fail-under", "mrr=0.5"])
    assert ok.exit_code == 0


def test_resume_continues_and_refuses_a_different_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = runner.invoke(app, ["eval", "--split", "dev", "--limit", "5", "--out", str(out)])
    assert first.exit_code == 0, first.output
    results = out / "results.jsonl"
    lines = results.read_text().splitlines()
    # simulate a crash: two rows done and a third cut half way
    results.write_text("\n".join(lines[:2]) + "\n" + lines[2][:20])
    again = runner.invoke(
        app, ["eval", "--split", "dev", "--limit", "5", "--out", str(out), "--resume"]
    )
    assert again.exit_code == 0, again.output
    ids = [json.loads(x)["id"] for x in results.read_text().splitlines()]
    assert ids == [json.loads(x)["id"] for x in lines]
    other = runner.invoke(
        app, ["eval", "--split", "test", "--limit", "5", "--out", str(out), "--resume"]
    )
    assert other.exit_code == 1
    assert "Cannot resume" in other.output and "dataset_hash" in other.output


def test_an_earlier_run_in_out_is_kept_unless_resumed_or_overwritten(tmp_path: Path) -> None:
    """An --out folder holding an earlier run, without --resume: one sentence naming the two
    ways on (--resume, another folder) and --overwrite, exit 1, and every file left as it was."""
    path = _dataset(tmp_path, [json.dumps(GOOD), json.dumps(NOPE)])
    out = tmp_path / "run"
    out.mkdir()  # an empty folder is no earlier run
    first = runner.invoke(app, ["eval", "--dataset", str(path), "--out", str(out)])
    assert first.exit_code == 0, first.output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"run.json", "results.jsonl", "report.json"} <= before.keys()

    again = runner.invoke(app, ["eval", "--dataset", str(path), "--out", str(out)])
    assert again.exit_code == 1
    message = " ".join(again.output.split())
    assert f"{out} holds an earlier eval run" in message
    assert "--resume" in message and "--overwrite" in message and "another --out" in message
    assert "Traceback" not in again.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    replaced = runner.invoke(
        app, ["eval", "--dataset", str(path), "--out", str(out), "--overwrite"]
    )
    assert replaced.exit_code == 0, replaced.output
    assert len((out / "results.jsonl").read_text().splitlines()) == 2


def test_compare_shows_flipped_items(tmp_path: Path, monkeypatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert runner.invoke(app, ["eval", "--split", "test", "--out", str(a)]).exit_code == 0
    monkeypatch.setenv("ASSISTANT_DECLINE_THRESHOLD", "0.9")  # declines nearly everything
    assert runner.invoke(app, ["eval", "--split", "test", "--out", str(b)]).exit_code == 0
    result = runner.invoke(app, ["eval", "compare", str(a), str(b)])
    assert result.exit_code == 0, result.output
    assert "WORSE" in result.output
    assert "REGRESSED t0" in result.output and "declined an answerable question" in result.output
    assert "t0" in result.output  # flipped item ids are listed


def test_calibrate_sweeps_and_reports_the_trade_off(monkeypatch, tmp_path: Path) -> None:
    import assistant.settings as settings_module

    target = tmp_path / "calibration.json"
    monkeypatch.setattr(settings_module, "CALIBRATION_FILE", target)
    result = runner.invoke(app, ["eval", "calibrate"])
    assert result.exit_code == 0, result.output
    assert "chosen:" in result.output and "false refusals" in result.output
    data = json.loads(target.read_text())
    assert 0.0 <= data["decline_threshold"] < 1.0
    assert set(data["dev"]) == {"article", "squad"}  # calibrated across both kinds of text
    for part in data["dev"].values():
        assert part["false_refusal_rate"] <= 0.10
    assert data["dev_items"]["squad"] > 300


@pytest.mark.parametrize("gate", ["mrr", "mrr=abc"])
def test_bad_gate_syntax(gate: str) -> None:
    result = runner.invoke(app, ["eval", "--limit", "1", "--fail-under", gate])
    assert result.exit_code == 1 and "METRIC=VALUE" in result.output


def test_judge_is_skipped_cleanly_without_an_endpoint(tmp_path: Path) -> None:
    path = _dataset(tmp_path, [json.dumps(GOOD), json.dumps(NOPE)])
    out = tmp_path / "run"
    result = runner.invoke(app, ["eval", "--dataset", str(path), "--judge", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "--judge skipped" in result.stderr
    assert "judge_faithfulness_mean" not in json.loads((out / "report.json").read_text())["metrics"]


def test_judge_adds_faithfulness_from_the_endpoint(tmp_path: Path, monkeypatch, llm_server) -> None:
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", llm_server.base_url)
    llm_server.set_handler(
        lambda body: (
            '{"claims": [{"claim": "HQ in Brussels", "supported": true},'
            ' {"claim": "it is big", "supported": false}]}'
        )
    )
    path = _dataset(tmp_path, [json.dumps(GOOD), json.dumps(NOPE)])
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        [
            "eval",
            "--dataset",
            str(path),
            "--mode",
            "extractive",
            "--judge",
            "--out",
            str(out),
            "--fail-under",
            "judge_faithfulness_mean=0.9",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "judge_faithfulness_mean = 0.500 (below 0.9)" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["metrics"]["judge_faithfulness_mean"] == 0.5
    assert report["judge"]["judged"] == 1 and report["judge"]["skipped"] == 1
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["judge_faithfulness"] for r in rows] == [0.5, None]
    assert len(llm_server.requests) == 1  # the declined item asked nothing
