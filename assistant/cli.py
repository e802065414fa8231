"""The command line: a thin edge over ``assistant.service``.

Errors the product raises on purpose become one red sentence on stderr and exit code 1; the
details go to the log file in the data folder.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from assistant.errors import USER_ERRORS
from assistant.settings import Settings, load_settings
from assistant.terminal import shown

if TYPE_CHECKING:
    from assistant.llm import LLMClient
    from evals.pipeline import EvalRun, RunStart
    from evals.rows import ResultRow

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
    err.print(f"[bold red]Error:[/] {shown(message)}")
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


def _open(
    settings: Settings,
    sources: list[Path] | None = None,
    quiet: bool = False,
    remember: bool = False,
):
    from assistant.service import Assistant

    if quiet:
        return Assistant.open(settings, sources=sources, remember=remember)
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

        return Assistant.open(settings, sources=sources, progress=progress, remember=remember)


def _handle(exc: Exception) -> typer.Exit:
    log.error("%s: %s", type(exc).__name__, exc, exc_info=exc)
    return fail(str(exc))


@app.command()
def index(sources: SourcesArg = None) -> None:
    """Build or refresh the index: only added, changed and removed documents are re-embedded.

    The sources given become the corpus that ask, chat, eval and the page answer from; with no
    sources, the last ones given (or the shipped article) are refreshed."""
    settings = _settings()
    try:
        assistant = _open(settings, sources, remember=True)
    except USER_ERRORS as exc:
        raise _handle(exc) from exc
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
        err.print(f"[yellow]Fell back to the offline answer:[/] {shown(answer.fallback_reason)}")
    if as_json:
        sys.stdout.write(answer.model_dump_json(indent=2) + "\n")
    else:
        _print_answer(answer)
    if answer.fallback_reason:
        raise typer.Exit(FELL_BACK)


def _print_answer(answer) -> None:
    from assistant.terminal import answer_lines

    for line in answer_lines(answer):
        out.print(line)


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
        except UnicodeDecodeError:
            err.print("[red]That line is not valid UTF-8 text; please type it again.[/]")
            continue
        if not question.strip():
            return
        try:
            answer = assistant.ask(question, history)
        except USER_ERRORS as exc:
            err.print(f"[red]{shown(str(exc))}[/]")
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
# Thin: arguments in, ``evals`` does the work, results printed. The one place ``assistant``
# imports ``evals`` (lazily, inside the commands).
eval_app = typer.Typer(
    help="Measure answer quality on an eval set (default: the shipped questions about the "
    "article). Without a sub-command, runs the eval.",
    no_args_is_help=False,
    invoke_without_command=True,
)
app.add_typer(eval_app, name="eval")


@eval_app.callback()
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
    mode: Annotated[
        str | None,
        typer.Option(
            help="extractive (offline quotes) or llm (needs ASSISTANT_LLM_BASE_URL). Default: "
            "llm when an endpoint is set."
        ),
    ] = None,
    k: Annotated[
        int | None,
        typer.Option("--k", min=1, max=50, help="Passages retrieved per question."),
    ] = None,
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

    if split not in {"dev", "test", "all"}:
        raise fail("--split must be dev, test or all.")
    if eval_set not in {"article", "squad"}:
        raise fail("--set must be article or squad.")
    if mode not in {None, "extractive", "llm"}:
        raise fail("--mode must be extractive or llm.")
    try:
        gates = parse_gates(fail_under or [])
    except EvalError as exc:
        raise fail(str(exc)) from exc
    sources = resolve_sources(
        eval_set=eval_set,  # type: ignore[arg-type]
        split=split,  # type: ignore[arg-type]
        datasets=dataset,
        corpus=corpus,
    )
    settings = _settings(mode=mode, **sources.overrides)
    try:
        assistant = _open(settings, sources.corpus)
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
                within_doc=within_doc,
                judge_client=client,
                on_start=started,
                on_row=asked,
            )
    except (*USER_ERRORS, EvalError) as exc:
        raise _handle(exc) from exc
    if result.judge is not None and result.judge.failed:
        err.print(
            f"[yellow]judge:[/] {result.judge.failed} answer(s) could not be judged "
            "(see judge_error in results.jsonl)."
        )
    if out_dir:
        err.print(f"[dim]reports written to {out_dir}/[/]")
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
        err.print(
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
    with Progress(*columns, score, TimeElapsedColumn(), console=err, transient=True) as bar:
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
        shown = metric.format_raw(value) if metric else f"{value}"
        what = f"{metric.label}, {'lower' if metric.lower_is_better else 'higher'} is better"
        table.add_row(name, shown, what if metric else "")
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
    """Sweep the reader's decline threshold on the dev parts of every shipped set (news and
    held-out encyclopedia articles) and keep the best one that refuses at most 10% of the
    answerable questions in each."""
    import assistant.settings as settings_module
    import evals
    from evals.calibration import MAX_FALSE_REFUSALS, write_calibration
    from evals.errors import EvalError

    def open_assistant(overrides: dict[str, Any], sources: list[Path] | None):
        return _open(_settings(**overrides), sources)

    try:
        result = evals.calibrate(open_assistant)
    except (*USER_ERRORS, EvalError) as exc:
        raise _handle(exc) from exc
    from rich.table import Table

    names, chosen = result.sets, result.chosen
    table = Table(
        "threshold",
        *(f"{n}: refusal recall / false refusals" for n in names),
        title="decline threshold sweep on the dev parts "
        + ", ".join(f"{n} ({result.items[n]} items)" for n in names),
    )
    for c in result.points[::3]:
        mark = " ◀ chosen" if c.threshold == chosen.threshold else ""
        table.add_row(
            f"{c.threshold:.2f}{mark}",
            *(
                f"{c.per_set[n].refusal_recall:.3f} / {c.per_set[n].false_refusal_rate:.3f}"
                for n in names
            ),
        )
    out.print(table)
    out.print(
        f"chosen: {chosen.threshold:.2f} — "
        + "; ".join(
            f"{n}: refusal recall {chosen.per_set[n].refusal_recall:.3f}, false refusals "
            f"{chosen.per_set[n].false_refusal_rate:.3f}"
            for n in names
        )
        + f" (max mean recall − false refusals with false refusals ≤ {MAX_FALSE_REFUSALS:.0%} "
        "in each set, lowest on ties)"
    )
    if write:
        write_calibration(settings_module.CALIBRATION_FILE, result)
        settings_module.calibrated_defaults.cache_clear()
        out.print(f"written to {settings_module.CALIBRATION_FILE}")


# -- llm -------------------------------------------------------------------------------------
# A local OpenAI-compatible model to point ASSISTANT_LLM_BASE_URL at (the `local` extras).
llm_app = typer.Typer(help="A local model: llama.cpp's OpenAI-compatible server on Qwen weights.")
app.add_typer(llm_app, name="llm")


def _base_url(host: str, port: int) -> str:
    """The URL clients use: a wildcard bind is reached on loopback; IPv6 literals in brackets."""
    if host in {"0.0.0.0", "::", ""}:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/v1"


@llm_app.command("serve")
def llm_serve(
    model: Annotated[
        str, typer.Option(help="Which Qwen2.5-Coder-Instruct (Q4_K_M): 0.5b or 1.5b.")
    ] = "1.5b",
    host: Annotated[
        str, typer.Option(help="Address to bind (no key unless ASSISTANT_LLM_API_KEY is set).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="LLM_PORT", help="Port (0: any free one).")] = 8080,
    gguf: Annotated[
        Path | None, typer.Option(help="Serve this GGUF file instead of the installed weights.")
    ] = None,
    threads: Annotated[int, typer.Option(min=1, help="CPU threads.")] = 2,
    ctx_size: Annotated[int, typer.Option(min=256, help="Context length in tokens.")] = 4096,
    nice: Annotated[int, typer.Option(min=0, max=19, help="Lower the server's priority.")] = 0,
) -> None:
    """Assemble and verify the model's weights (once), then serve them in the foreground until
    Ctrl-C. Prints the ASSISTANT_LLM_* lines to use first, then has the server read the answer
    prompt's rules once, so the first question is as quick as the later ones. With
    ASSISTANT_LLM_API_KEY set, the server requires that key."""
    import os

    from assistant.llm.local import LocalModelError, assemble, get_model, serve

    settings = _settings()
    try:
        if gguf is not None:
            name = gguf.stem
        else:
            entry = get_model(model)
            name = entry.name

        def lines(url: str) -> None:
            out.print(f"export ASSISTANT_LLM_BASE_URL={url}", markup=False)
            out.print(f"export ASSISTANT_LLM_MODEL={name}", markup=False)
            out.file.flush()

        if port:
            lines(_base_url(host, port))
        if gguf is None:
            path = _assemble_with_progress(assemble, entry, settings.data_dir / "models")
        else:
            path = gguf
        if nice:
            os.nice(nice)

        def ready(url: str) -> None:
            if not port:
                lines(url)
            err.print(f"Serving {name} at {_base_url(host, port) if port else url} (Ctrl-C stops).")

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        serve(
            path,
            host,
            port,
            alias=name,
            threads=threads,
            ctx_size=ctx_size,
            api_key=key,
            ready=ready,
        )
    except LocalModelError as exc:
        raise _handle(exc) from exc
    except KeyboardInterrupt:
        err.print("Stopped.")
        raise typer.Exit(130) from None
    err.print("Stopped.")


def _assemble_with_progress(assemble: Callable[..., Path], model: Any, dest: Path) -> Path:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(f"assembling and verifying the {model.key} model", total=model.size)
        return assemble(model, dest, progress=lambda done, _total: bar.update(task, completed=done))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
