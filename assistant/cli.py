"""The command line: a thin edge over ``assistant.service``.

Errors the product raises on purpose become one red sentence on stderr and exit code 1; the
details go to the log file in the data folder.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from assistant.errors import USER_ERRORS
from assistant.settings import Settings, load_settings

log = logging.getLogger(__name__)
app = typer.Typer(
    help="Answer questions about a news article, only from it, with word-for-word citations.\n\n"
    "Works offline with no key: the shipped article is indexed on first use. Set "
    "ASSISTANT_LLM_BASE_URL to answer through an OpenAI-compatible LLM instead.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

SourcesArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Files, folders (.txt .md .html, recursively) or JSONL of {id,title,text}. "
        "Default: the shipped article.",
        show_default=False,
    ),
]


FELL_BACK = 3


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]Error:[/] {message}")
    return typer.Exit(code)


def _settings(**overrides: object) -> Settings:
    from pydantic import ValidationError

    from assistant.logs import setup_logging

    try:
        settings = load_settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        raise fail(f"Setting {where} is invalid: {first.get('msg')}.") from exc
    setup_logging(settings.data_dir)
    return settings


def _open(settings: Settings, sources: list[Path] | None = None, quiet: bool = False):
    from assistant.service import Assistant

    if quiet:
        return Assistant.open(settings, sources=sources)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("checking the index", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        return Assistant.open(settings, sources=sources, progress=progress)


def _handle(exc: Exception) -> typer.Exit:
    log.error("%s: %s", type(exc).__name__, exc, exc_info=exc)
    return fail(str(exc))


@app.command()
def index(sources: SourcesArg = None) -> None:
    """Build or refresh the index: only added, changed and removed documents are re-embedded.

    The sources given become the corpus that ask, chat, eval and the page answer from; with no
    sources, the last ones given (or the shipped article) are refreshed."""
    from assistant.service import remember_sources

    settings = _settings()
    try:
        assistant = _open(settings, sources)
    except USER_ERRORS as exc:
        raise _handle(exc) from exc
    if sources:
        remember_sources(settings, sources)
    r = assistant.sync_report
    state = "rebuilt" if r.rebuilt else ("updated" if r.touched else "up to date")
    out.print(
        f"Index {state}: {len(assistant.documents)} document(s); added {len(r.added)}, changed "
        f"{len(r.changed)}, removed {len(r.removed)}, unchanged {r.unchanged}; "
        f"{r.chunks_written} chunk(s) written in {r.seconds:.2f} s."
    )


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in plain words.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole Answer as JSON.")
    ] = False,
    k: Annotated[
        int | None, typer.Option("--k", min=1, max=50, help="Passages to retrieve.")
    ] = None,
    doc: Annotated[str | None, typer.Option("--doc", help="Only search this document id.")] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            help="extractive (offline) or llm (needs ASSISTANT_LLM_BASE_URL). Default: llm when "
            "an endpoint is set."
        ),
    ] = None,
) -> None:
    """Answer one question with verbatim quotes from the article, or say it does not say.

    Exit codes: 0 answered (or declined), 1 error, 3 the LLM failed and the offline answer was
    given instead."""
    if mode not in {None, "extractive", "llm"}:
        raise fail("--mode must be extractive or llm.")
    settings = _settings(mode=mode)
    try:
        assistant = _open(settings, quiet=True)
        answer = assistant.ask(question, k=k, doc_id=doc)
    except USER_ERRORS as exc:
        raise _handle(exc) from exc
    if answer.fallback_reason:
        err.print(f"[yellow]Fell back to the offline answer:[/] {answer.fallback_reason}")
    if as_json:
        sys.stdout.write(answer.model_dump_json(indent=2) + "\n")
    else:
        _print_answer(answer)
    if answer.fallback_reason:
        raise typer.Exit(FELL_BACK)


def _print_answer(answer) -> None:
    from rich.markup import escape

    if not answer.grounded:
        out.print(f"[yellow]{escape(answer.text)}[/]")
        return
    out.print(escape(answer.text))
    for c in answer.citations:
        out.print(f"  [dim][{c.n}] {escape(c.title)} — characters {c.start}–{c.end}[/]")


@app.command()
def chat() -> None:
    """Chat in the terminal; follow-up questions ("and who did he meet?") use the history."""
    from assistant.types import Turn

    settings = _settings()
    try:
        assistant = _open(settings)
    except USER_ERRORS as exc:
        raise _handle(exc) from exc
    history: list[Turn] = []
    out.print("[dim]Ask about the article. An empty line or Ctrl-D ends the chat.[/]")
    while True:
        try:
            question = input("you> ")
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        if not question.strip():
            return
        try:
            answer = assistant.ask(question, history)
        except USER_ERRORS as exc:
            err.print(f"[red]{exc}[/]")
            continue
        _print_answer(answer)
        history += [
            Turn(role="user", content=question),
            Turn(role="assistant", content=answer.text),
        ]
        history = history[-8:]


@app.command()
def config(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Also ask the LLM endpoint for real whether it answers.")
    ] = False,
) -> None:
    """Show the effective settings (environment, .env, defaults); secrets are masked."""
    settings = _settings()
    data = settings.masked()
    if check:
        if not settings.llm_base_url:
            data["llm_check"] = "no endpoint configured (ASSISTANT_LLM_BASE_URL)"
        else:
            from assistant.llm import LLMClient

            health = LLMClient.from_settings(settings).health()
            data["llm_check"] = ("ok: " if health.ok else "FAILED: ") + health.detail
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        for key, value in data.items():
            out.print(f"{key:22} {value}", markup=False)
    if check and str(data.get("llm_check", "")).startswith("FAILED"):
        raise typer.Exit(1)


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8501,
) -> None:
    """Start the chat page (Streamlit) on 127.0.0.1."""
    import subprocess

    page = Path(__file__).resolve().parent.parent / "ui" / "app.py"
    raise typer.Exit(
        subprocess.call(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(page),
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ]
        )
    )


# -- eval ------------------------------------------------------------------------------------
eval_app = typer.Typer(
    help="Measure answer quality on an eval set (default: the shipped questions about the "
    "article). Without a sub-command, runs the eval.",
    no_args_is_help=False,
    invoke_without_command=True,
)
app.add_typer(eval_app, name="eval")

LOWER_IS_BETTER = {"false_refusal_rate", "latency_p50_ms", "latency_p95_ms", "cited_chars_mean"}


def _parse_gates(gates: list[str]) -> dict[str, float]:
    out_gates: dict[str, float] = {}
    for gate in gates:
        name, sep, value = gate.partition("=")
        try:
            out_gates[name.strip()] = float(value)
        except ValueError:
            raise fail(f"--fail-under wants METRIC=VALUE, not {gate!r}.") from None
        if not sep:
            raise fail(f"--fail-under wants METRIC=VALUE, not {gate!r}.")
    return out_gates


@eval_app.callback()
def eval_run(
    ctx: typer.Context,
    dataset: Annotated[
        list[Path] | None,
        typer.Option("--dataset", help="Eval set JSONL (repeatable). Default: the shipped set."),
    ] = None,
    split: Annotated[
        str,
        typer.Option(
            help="Part of the shipped set: dev (tune on it), test (never tuned on) or all."
        ),
    ] = "all",
    corpus: Annotated[
        list[Path] | None,
        typer.Option(
            "--corpus", help="Sources replacing the shipped article for this run (repeatable)."
        ),
    ] = None,
    mode: Annotated[str | None, typer.Option(help="extractive or llm.")] = None,
    k: Annotated[
        int | None, typer.Option("--k", min=1, max=50, help="Passages per question.")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for results.jsonl and the reports.")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Questions in flight.")] = 1,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N items.")] = None,
    tags: Annotated[list[str] | None, typer.Option("--tags", help="Only items with a tag.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue a stopped run in --out.")] = False,
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
            help="METRIC=VALUE: exit 1 when a metric falls short (for "
            "false_refusal_rate, latency_* and cited_chars_mean: when it exceeds VALUE).",
        ),
    ] = None,
) -> None:
    """Run the eval set and print the metrics; --out writes results and reports."""
    if ctx.invoked_subcommand is not None:
        return
    from evals.dataset import shipped_dataset_paths
    from evals.errors import EvalError
    from evals.metrics import nan_to_none, summarize

    gates = _parse_gates(fail_under or [])
    if split not in {"dev", "test", "all"}:
        raise fail("--split must be dev, test or all.")
    if mode not in {None, "extractive", "llm"}:
        raise fail("--mode must be extractive or llm.")
    settings = _settings(mode=mode)
    effective_mode = settings.effective_mode
    kk = k or settings.top_k
    try:
        assistant = _open(settings, corpus)
        from evals.runner import prepare, run_meta, start_run

        prepared = prepare(
            dataset or shipped_dataset_paths(split), assistant, tags=tags or (), limit=limit
        )
        for problem in prepared.problems:
            err.print(f"[yellow]skipped:[/] {problem}")
        meta = run_meta(assistant, prepared, effective_mode, kk)
        done = start_run(out_dir, meta, resume) if out_dir else []
        rows = _run_with_progress(
            assistant, prepared.items, effective_mode, kk, out_dir, done, concurrency
        )
    except (*USER_ERRORS, EvalError) as exc:
        raise _handle(exc) from exc
    summary = summarize(rows)
    judge_summary = _judge(settings, rows, concurrency) if judge else None
    judge_metrics = judge_summary.metrics() if judge_summary and judge_summary.judged else {}
    metrics = {**summary.metrics, **judge_metrics}
    if out_dir:
        from evals.report import build_report, write_reports
        from evals.runner import rewrite_rows

        if judge_summary is not None:
            rewrite_rows(out_dir, rows)  # the verdicts join the rows already written
        report = build_report(rows, meta, [str(p) for p in prepared.problems])
        if judge_metrics:
            report["metrics"].update(nan_to_none(judge_metrics))
            report["judge"] = judge_summary.to_json()
        write_reports(out_dir, report, rows)
        err.print(f"[dim]reports written to {out_dir}/[/]")
    _print_metrics(nan_to_none(metrics), summary.counts, len(prepared.problems))
    failed = []
    for name, want in gates.items():
        have = metrics.get(name)
        if have is None:
            raise fail(f"--fail-under names an unknown metric {name!r}.")
        lower = name in LOWER_IS_BETTER
        if have != have or (have > want if lower else have < want):
            failed.append(f"{name} = {have:.3f} ({'above' if lower else 'below'} {want:g})")
    if failed:
        raise fail("quality gate failed: " + "; ".join(failed) + ".")


def _judge(settings: Settings, rows: list[dict], concurrency: int):
    """Ask the endpoint whether each claim is supported by its quotes; skipped without one."""
    from evals.judge import judge_available, judge_rows

    if not judge_available(settings):
        err.print(
            "[yellow]--judge skipped:[/] no LLM endpoint is configured "
            "(set ASSISTANT_LLM_BASE_URL); the deterministic metrics stand alone."
        )
        return None
    from assistant.llm import LLMClient

    try:
        with LLMClient.from_settings(settings) as client:
            result = judge_rows(rows, client, concurrency=concurrency)
    except USER_ERRORS as exc:
        raise _handle(exc) from exc
    if result.failed:
        err.print(
            f"[yellow]judge:[/] {result.failed} answer(s) could not be judged "
            "(see judge_error in results.jsonl)."
        )
    return result


def _run_with_progress(assistant, items, mode, k, out_dir, done, concurrency):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from evals.runner import run_items

    passed = sum(1 for r in done if r.get("passed"))
    count = len(done)
    with Progress(
        TextColumn("eval"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[score]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("eval", total=len(items), completed=count, score="")

        def on_row(row: dict) -> None:
            nonlocal passed, count
            count += 1
            passed += bool(row.get("passed"))
            bar.update(task, advance=1, score=f"passed {passed}/{count} ({passed / count:.0%})")

        return run_items(
            assistant,
            items,
            mode=mode,
            k=k,
            out=out_dir,
            done=done,
            concurrency=concurrency,
            on_row=on_row,
        )


def _print_metrics(metrics: dict, counts: dict, problems: int) -> None:
    from rich.table import Table

    table = Table(
        "metric",
        "value",
        title=f"{counts['items']} items "
        f"({counts['answerable']} answerable, {counts['unanswerable']} unanswerable)"
        + (f", {problems} skipped" if problems else ""),
    )
    for name, value in metrics.items():
        shown = (
            "n/a"
            if value is None
            else (
                f"{value:.1f}"
                if name.endswith("_ms") or name.endswith("chars_mean")
                else f"{value:.3f}"
            )
        )
        table.add_row(name, shown)
    out.print(table)


@eval_app.command("compare")
def eval_compare(
    a: Annotated[Path, typer.Argument(help="The earlier run folder (or its report.json).")],
    b: Annotated[Path, typer.Argument(help="The later run folder (or its report.json).")],
) -> None:
    """Metric deltas between two runs and the items that flipped (regressions first)."""
    from evals.compare import compare_runs, render_comparison
    from evals.errors import EvalError

    try:
        comparison = compare_runs(a, b)
    except EvalError as exc:
        raise _handle(exc) from exc
    out.print(render_comparison(comparison), markup=False)


@eval_app.command("calibrate")
def eval_calibrate(
    write: Annotated[
        bool,
        typer.Option(help="Write the chosen threshold to the calibration file the product reads."),
    ] = True,
) -> None:
    """Sweep the offline answerer's decline threshold on the dev part and keep the best."""
    from assistant.settings import CALIBRATION_FILE, calibrated_defaults
    from evals.calibrate import MAX_FALSE_REFUSALS, calibrate, write_calibration
    from evals.dataset import shipped_dataset_paths
    from evals.errors import EvalError
    from evals.runner import prepare, run_items

    settings = _settings(decline_threshold=0.0, mode="extractive")
    try:
        assistant = _open(settings)
        prepared = prepare(shipped_dataset_paths("dev"), assistant)
        rows = run_items(assistant, prepared.items, mode="extractive", k=settings.top_k, out=None)
    except (*USER_ERRORS, EvalError) as exc:
        raise _handle(exc) from exc
    chosen, points = calibrate(rows)
    from rich.table import Table

    table = Table(
        "threshold",
        "refusal recall",
        "false refusals",
        "evidence hit",
        title=f"decline threshold sweep on dev ({len(rows)} items)",
    )
    for p in points[::2]:
        mark = " ◀ chosen" if p.threshold == chosen.threshold else ""
        table.add_row(
            f"{p.threshold:.2f}{mark}",
            f"{p.refusal_recall:.3f}",
            f"{p.false_refusal_rate:.3f}",
            f"{p.evidence_hit:.3f}",
        )
    out.print(table)
    out.print(
        f"chosen: {chosen.threshold:.2f} — refusal recall {chosen.refusal_recall:.3f}, "
        f"false refusals {chosen.false_refusal_rate:.3f}, evidence hit "
        f"{chosen.evidence_hit:.3f} (max recall − false refusals with false refusals ≤ "
        f"{MAX_FALSE_REFUSALS:.0%}, lowest on ties)"
    )
    if write:
        write_calibration(CALIBRATION_FILE, chosen, prepared.dataset_hash, len(rows))
        calibrated_defaults.cache_clear()
        out.print(f"written to {CALIBRATION_FILE}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
