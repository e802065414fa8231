"""``assistant eval``: run an eval set and print its metrics. Thin: arguments in, ``evals`` does
the work, results printed. The CLI is the one place ``assistant`` imports ``evals`` (lazily,
inside the commands), so the product runs without it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from assistant.cli import common
from assistant.cli.common import KOption, ModeOption, check_mode, fail, handle, open_assistant
from assistant.errors import USER_ERRORS
from assistant.terminal import shown

if TYPE_CHECKING:
    from assistant.llm import LLMClient
    from assistant.settings import Settings
    from evals.pipeline import EvalRun, RunStart
    from evals.rows import ResultRow

HELP = (
    "Measure answer quality on an eval set (default: the shipped questions about the "
    "article). Without a sub-command, runs the eval."
)


def eval_run(
    ctx: typer.Context,
    dataset: Annotated[
        list[Path] | None,
        typer.Option(
            "--dataset",
            help="Your own eval set: a JSONL file of questions with acceptable answers and "
            "verbatim evidence (format in DESIGN.md). Repeatable. Default: the shipped set.",
        ),
    ] = None,
    split: Annotated[
        str,
        typer.Option(
            help="Part of the shipped set: dev (tune on it), test (never tuned on) or all."
        ),
    ] = "all",
    eval_set: Annotated[
        str,
        typer.Option(
            "--set",
            help="Shipped set: article (the news article) or squad (held-out encyclopedia "
            "articles the reader never saw, with real unanswerable questions; brings its own "
            "corpus unless --corpus is given).",
        ),
    ] = "article",
    corpus: Annotated[
        list[Path] | None,
        typer.Option(
            "--corpus",
            help="Files or folders to answer from instead of the shipped article, for this run "
            "only (repeatable).",
        ),
    ] = None,
    mode: ModeOption = None,
    k: KOption = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder to write results.jsonl (one row per question, as it goes) and "
            "report.json, report.md and report.html. Without it, only the table is printed.",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Questions asked at the same time.")
    ] = 1,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Only the first N questions (a quick check).")
    ] = None,
    tags: Annotated[
        list[str] | None,
        typer.Option("--tags", help="Only questions with this tag, e.g. paraphrase (repeatable)."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(help="Continue a stopped run in --out instead of starting over."),
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace an earlier run in --out (without it, or --resume, an --out folder "
            "holding a run is refused and left as it is).",
        ),
    ] = False,
    within_doc: Annotated[
        bool,
        typer.Option(
            "--within-doc",
            help="Ask each item that names a doc_id only within that document (as ask --doc "
            "does): measures answering over the whole article rather than the whole corpus.",
        ),
    ] = False,
    judge: Annotated[
        bool,
        typer.Option(
            "--judge",
            help="Also ask the configured LLM endpoint whether each claim of an answer "
            "is supported by its quotes (adds judge_faithfulness_mean). Skipped, with a note, when "
            "no endpoint is set.",
        ),
    ] = False,
    fail_under: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-under",
            help="METRIC=VALUE, e.g. evidence_hit=0.84: exit 1 when the metric falls short "
            "(repeatable; a CI gate). For metrics where lower is better (false_refusal_rate, "
            "latency_*, cited_chars_mean) it fails when the metric exceeds VALUE.",
        ),
    ] = None,
) -> None:
    """Run the eval set and print the metrics; --out writes results and reports."""
    if ctx.invoked_subcommand is not None:
        return
    import evals
    from evals.dataset import resolve_sources
    from evals.errors import EvalError
    from evals.gates import check, parse_gates
    from evals.runner import check_out

    if split not in {"dev", "test", "all"}:
        raise fail("--split must be dev, test or all.")
    if eval_set not in {"article", "squad"}:
        raise fail("--set must be article or squad.")
    check_mode(mode)
    try:
        gates = parse_gates(fail_under or [])
        if out_dir:  # before the index is opened: a refusal should not wait for it
            check_out(out_dir, resume=resume, overwrite=overwrite)
    except EvalError as exc:
        raise fail(str(exc)) from exc
    sources = resolve_sources(
        eval_set=eval_set,  # type: ignore[arg-type]
        split=split,  # type: ignore[arg-type]
        datasets=dataset,
        corpus=corpus,
    )
    settings = common.settings(mode=mode, **sources.overrides)
    try:
        assistant = open_assistant(settings, sources.corpus)
        with _judge_client(settings, judge) as client, _eval_progress() as (started, asked):
            result = evals.run(
                assistant,
                sources.datasets,
                mode=settings.effective_mode,
                k=k or settings.top_k,
                out=out_dir,
                concurrency=concurrency,
                limit=limit,
                tags=tags or (),
                resume=resume,
                overwrite=overwrite,
                within_doc=within_doc,
                judge_client=client,
                on_start=started,
                on_row=asked,
            )
    except (*USER_ERRORS, EvalError) as exc:
        raise handle(exc) from exc
    if result.judge is not None and result.judge.failed:
        common.err.print(
            f"[yellow]judge:[/] {result.judge.failed} answer(s) could not be judged "
            "(see judge_error in results.jsonl)."
        )
    if out_dir:
        common.err.print(f"[dim]reports written to {out_dir}/[/]")
    _print_metrics(result)
    failed = check(result.metrics, gates, result.summary.by_tag)
    if failed:
        raise fail("quality gate failed: " + "; ".join(map(str, failed)) + ".")


@contextmanager
def _judge_client(settings: Settings, wanted: bool) -> Iterator[LLMClient | None]:
    """The endpoint that judges answers, when --judge asks for one and one is configured."""
    if not wanted:
        yield None
        return
    if not settings.llm_base_url:
        common.err.print(
            "[yellow]--judge skipped:[/] no LLM endpoint is configured "
            "(set ASSISTANT_LLM_BASE_URL); the deterministic metrics stand alone."
        )
        yield None
        return
    from assistant.llm import LLMClient

    with LLMClient.from_settings(settings) as client:
        yield client


@contextmanager
def _eval_progress() -> Iterator[tuple[Callable[[RunStart], None], Callable[[ResultRow], None]]]:
    """A progress bar with the running pass rate on stderr; yields ``evals.run``'s callbacks."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("eval"), BarColumn(), MofNCompleteColumn())
    score = TextColumn("{task.fields[score]}")
    with Progress(*columns, score, TimeElapsedColumn(), console=common.err, transient=True) as bar:
        task = bar.add_task("eval", total=None, score="")
        tally = [0, 0]  # passed, count

        def start(run: RunStart) -> None:
            for problem in run.problems:
                bar.console.print(f"[yellow]skipped:[/] {shown(str(problem))}")
            tally[:] = [sum(r.passed for r in run.done), len(run.done)]
            bar.update(task, total=run.total, completed=tally[1])

        def row(row: ResultRow) -> None:
            tally[0] += row.passed
            tally[1] += 1
            passed, count = tally
            bar.update(task, advance=1, score=f"passed {passed}/{count} ({passed / count:.0%})")

        yield start, row


def _print_metrics(result: EvalRun) -> None:
    """The metrics in the units --fail-under takes, with what each one is."""
    from rich.table import Table

    from evals import registry
    from evals.pipeline import printable_metrics

    counts, problems = result.counts, len(result.problems)
    table = Table(
        "metric",
        "value",
        "what it is",
        title=f"{counts['items']} items "
        f"({counts['answerable']} answerable, {counts['unanswerable']} unanswerable)"
        + (f", {problems} skipped" if problems else ""),
    )
    for name, value in printable_metrics(result).items():
        metric = registry.get(name)
        if metric is None:
            table.add_row(name, f"{value}", "")
            continue
        better = "lower" if metric.lower_is_better else "higher"
        table.add_row(name, metric.format_raw(value), f"{metric.label}, {better} is better")
    common.out.print(table)
