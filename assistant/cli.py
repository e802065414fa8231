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
    """Build or refresh the index: only added, changed and removed documents are re-embedded."""
    settings = _settings()
    try:
        assistant = _open(settings, sources)
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
) -> None:
    """Answer one question with verbatim quotes from the article, or say it does not say."""
    settings = _settings()
    try:
        assistant = _open(settings, quiet=True)
        answer = assistant.ask(question, k=k, doc_id=doc)
    except USER_ERRORS as exc:
        raise _handle(exc) from exc
    if as_json:
        sys.stdout.write(answer.model_dump_json(indent=2) + "\n")
        return
    _print_answer(answer)


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
) -> None:
    """Show the effective settings (environment, .env, defaults); secrets are masked."""
    settings = _settings()
    data = settings.masked()
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    for key, value in data.items():
        out.print(f"{key:22} {value}")


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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
