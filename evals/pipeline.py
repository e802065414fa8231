"""One eval run from eval sets to reports: what ``assistant eval`` does, without the terminal.

``run`` loads and checks the eval sets against the open assistant's corpus, asks every item
(resuming a stopped run in ``out``), optionally has an LLM judge the answers, summarises, and
writes ``report.json``, ``report.md`` and ``report.html``. It returns an ``EvalRun`` holding all
of it, so the CLI only prints and a script or a test gets the same numbers as the command line.

Gates (``evals.gates``) are not applied here: a run is a measurement, and what counts as failing
it is the caller's choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.service import Assistant
from assistant.types import Mode
from evals.dataset import DatasetProblem
from evals.judge import ChatCompleter, JudgeSummary, judge_rows
from evals.metrics import Summary, nan_to_none, summarize
from evals.registry import ordered_keys
from evals.report import build_report, write_reports
from evals.rows import RESULTS, ResultRow, as_rows, write_results
from evals.runner import prepare, run_meta, run_rows, start_run

__all__ = ["EvalRun", "RunStart", "judge_results", "printable_metrics", "run"]


@dataclass(frozen=True)
class RunStart:
    """What is known before the first question is asked: for a progress bar and early notes."""

    total: int
    done: Sequence[ResultRow]  # rows of a resumed run, not asked again
    problems: Sequence[DatasetProblem]  # dataset lines and items skipped


@dataclass
class EvalRun:
    """Everything one run measured."""

    rows: list[ResultRow]
    summary: Summary
    metrics: dict[str, float]  # the summary's metrics plus the judge's, when there was one
    problems: list[DatasetProblem]
    meta: dict[str, Any]
    judge: JudgeSummary | None = None
    reports: list[Path] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return self.summary.counts


def judge_results(
    rows: Sequence[ResultRow], client: ChatCompleter, *, concurrency: int = 1
) -> tuple[list[ResultRow], JudgeSummary]:
    """The rows with the judge's verdicts merged in, and the judge's summary.

    ``evals.judge`` works on plain JSON rows (what it reads is what was written); the verdicts
    come back through ``ResultRow`` so the rest of the run stays typed.
    """
    plain = [r.to_json() for r in rows]
    summary = judge_rows(plain, client, concurrency=concurrency)
    return as_rows(plain), summary


def run(
    assistant: Assistant,
    datasets: Sequence[Path],
    *,
    mode: Mode,
    k: int,
    out: Path | None = None,
    concurrency: int = 1,
    limit: int | None = None,
    tags: Sequence[str] = (),
    resume: bool = False,
    overwrite: bool = False,
    within_doc: bool = False,
    judge_client: ChatCompleter | None = None,
    on_start: Callable[[RunStart], None] | None = None,
    on_row: Callable[[ResultRow], None] | None = None,
) -> EvalRun:
    """Run the eval sets on ``assistant`` and, with ``out``, write results and reports there.

    Raises ``EvalError`` (nothing left to run, a resume against a different run, an earlier run
    in ``out`` without ``resume`` or ``overwrite``) and whatever
    the assistant raises on purpose (``AssistantError``). ``judge_client``: an LLM endpoint that
    judges each answered row's claims; None skips the judge.
    """
    prepared = prepare(datasets, assistant, tags=tags, limit=limit)
    meta = run_meta(assistant, prepared, mode, k, within_doc)
    done = start_run(out, meta, resume, overwrite) if out else []
    if on_start:
        on_start(RunStart(len(prepared.items), done, prepared.problems))
    rows = run_rows(
        assistant,
        prepared.items,
        mode=mode,
        k=k,
        out=out,
        done=done,
        concurrency=concurrency,
        on_row=on_row,
        within_doc=within_doc,
    )
    judge = None
    if judge_client is not None:
        rows, judge = judge_results(rows, judge_client, concurrency=concurrency)
        if out:
            write_results(out / RESULTS, rows)  # the verdicts join the rows already written
    summary = summarize(rows)
    metrics = {**summary.metrics}
    if judge is not None:
        metrics.update(judge.metrics())
    result = EvalRun(rows, summary, metrics, list(prepared.problems), meta, judge)
    if out:
        problems = [str(p) for p in prepared.problems]
        report = build_report(rows, meta, problems, judge=judge)
        result.reports = write_reports(out, report, rows)
    return result


def printable_metrics(result: EvalRun) -> dict[str, float | None]:
    """The run's metrics with NaN as None, in registry order: what a table shows."""
    values = nan_to_none(result.metrics)
    return {k: values[k] for k in ordered_keys(values)}
