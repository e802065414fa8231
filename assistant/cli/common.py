"""What every command shares: the two consoles, the options that mean the same everywhere, and
the edge that turns the product's errors into one red sentence and an exit code.

Exit codes (the same for every command): 0 done (an answer, or a plain decline), 1 an error the
product raised on purpose (one sentence on stderr, the details in the log file of the data
folder), 3 the LLM endpoint failed and the offline answer was given instead. Typer's own usage
errors (an unknown option) exit 2.

The consoles are reached as ``common.out`` and ``common.err`` (not imported by name), so a test
can put its own console in their place.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from assistant.settings import Settings, load_settings
from assistant.terminal import shown

if TYPE_CHECKING:
    from assistant.service import Assistant
    from assistant.types import Answer

log = logging.getLogger("assistant.cli")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

FELL_BACK = 3  # exit code: the LLM failed and the offline answer was given instead

MODES = {None, "extractive", "llm"}

SourcesArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Files, folders (.txt .md .html, recursively) or JSONL of {id,title,text}. "
        "Default: the shipped article.",
        show_default=False,
    ),
]
ModeOption = Annotated[
    str | None,
    typer.Option(
        help="extractive (offline quotes) or llm (needs ASSISTANT_LLM_BASE_URL). Default: llm "
        "when an endpoint is set."
    ),
]
KOption = Annotated[
    int | None,
    typer.Option("--k", min=1, max=50, help="Passages retrieved per question."),
]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as the one red sentence on stderr; raise the returned Exit."""
    err.print(f"[bold red]Error:[/] {shown(message)}")
    return typer.Exit(code)


def handle(exc: Exception) -> typer.Exit:
    """An error the product raised on purpose: its details to the log, its sentence to stderr."""
    log.error("%s: %s", type(exc).__name__, exc, exc_info=exc)
    return fail(str(exc))


def check_mode(mode: str | None) -> None:
    if mode not in MODES:
        raise fail("--mode must be extractive or llm.")


def settings(**overrides: object) -> Settings:
    """The effective settings, with logging to the data folder set up; a bad value is one
    sentence naming the setting."""
    from pydantic import ValidationError

    from assistant.logs import setup_logging

    try:
        loaded = load_settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        raise fail(f"Setting {where} is invalid: {first.get('msg')}.") from exc
    setup_logging(loaded.data_dir)
    return loaded


def open_assistant(
    settings: Settings,
    sources: list[Path] | None = None,
    quiet: bool = False,
    remember: bool = False,
) -> Assistant:
    """The assistant over ``sources``; unless ``quiet``, indexing shows a progress bar on
    stderr (it can take a while on first use)."""
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


def print_answer(answer: Answer) -> None:
    from assistant.terminal import answer_lines

    for line in answer_lines(answer):
        out.print(line)
