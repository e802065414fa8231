"""The everyday commands: index, ask, chat, config and ui. Thin: arguments in, the service
(``assistant.service.Assistant``) does the work, the result printed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli import common
from assistant.cli.common import (
    FELL_BACK,
    KOption,
    ModeOption,
    SourcesArg,
    check_mode,
    handle,
    open_assistant,
    print_answer,
    settings,
)
from assistant.errors import USER_ERRORS
from assistant.terminal import shown

HISTORY_TURNS = 8  # the chat remembers the last four questions and answers


def index(sources: SourcesArg = None) -> None:
    """Build or refresh the index: only added, changed and removed documents are re-embedded.

    The sources given become the corpus that ask, chat, eval and the page answer from; with no
    sources, the last ones given (or the shipped article) are refreshed."""
    try:
        assistant = open_assistant(settings(), sources, remember=True)
    except USER_ERRORS as exc:
        raise handle(exc) from exc
    r = assistant.sync_report
    state = "rebuilt" if r.rebuilt else ("updated" if r.touched else "up to date")
    common.out.print(
        f"Index {state}: {len(assistant.documents)} document(s); added {len(r.added)}, changed "
        f"{len(r.changed)}, removed {len(r.removed)}, unchanged {r.unchanged}; "
        f"{r.chunks_written} chunk(s) written in {r.seconds:.2f} s."
    )


def ask(
    question: Annotated[str, typer.Argument(help="The question, in plain words.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole Answer as JSON.")
    ] = False,
    k: KOption = None,
    doc: Annotated[str | None, typer.Option("--doc", help="Only search this document id.")] = None,
    mode: ModeOption = None,
) -> None:
    """Answer one question with verbatim quotes from the article, or say it does not say.

    Exit codes: 0 answered (or declined), 1 error, 3 the LLM failed and the offline answer was
    given instead."""
    check_mode(mode)
    loaded = settings(mode=mode)
    try:
        assistant = open_assistant(loaded, quiet=True)
        answer = assistant.ask(question, k=k, doc_id=doc)
    except USER_ERRORS as exc:
        raise handle(exc) from exc
    if answer.fallback_reason:
        common.err.print(
            f"[yellow]Fell back to the offline answer:[/] {shown(answer.fallback_reason)}"
        )
    if as_json:
        sys.stdout.write(answer.model_dump_json(indent=2) + "\n")
    else:
        print_answer(answer)
    if answer.fallback_reason:
        raise typer.Exit(FELL_BACK)


def chat() -> None:
    """Chat in the terminal; follow-up questions ("and who did he meet?") use the history."""
    from assistant.types import Turn

    try:
        assistant = open_assistant(settings())
    except USER_ERRORS as exc:
        raise handle(exc) from exc
    history: list[Turn] = []
    common.out.print("[dim]Ask about the article. An empty line or Ctrl-D ends the chat.[/]")
    while True:
        try:
            question = input("you> ")
        except (EOFError, KeyboardInterrupt):
            common.out.print()
            return
        except UnicodeDecodeError:
            common.err.print("[red]That line is not valid UTF-8 text; please type it again.[/]")
            continue
        if not question.strip():
            return
        try:
            answer = assistant.ask(question, history)
        except USER_ERRORS as exc:
            common.err.print(f"[red]{shown(str(exc))}[/]")
            continue
        print_answer(answer)
        history += [
            Turn(role="user", content=question),
            Turn(role="assistant", content=answer.text),
        ]
        history = history[-HISTORY_TURNS:]


def config(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Also ask the LLM endpoint for real whether it answers, streams, and (for the "
            "default citation mode) accepts response_format JSON schemas; exit 1 if not.",
        ),
    ] = False,
) -> None:
    """Show the effective settings (environment, .env, defaults); secrets are masked."""
    loaded = settings()
    data = loaded.masked()
    if check:
        if not loaded.llm_base_url:
            data["llm_check"] = "no endpoint configured (ASSISTANT_LLM_BASE_URL)"
        else:
            from assistant.llm import LLMClient
            from assistant.llm.check import check_endpoint

            with LLMClient.from_settings(loaded, max_retries=0) as client:
                checked = check_endpoint(client, loaded.llm_citations)
            data["llm_check"] = ("ok: " if checked.ok else "FAILED: ") + checked.detail
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        for key, value in data.items():
            common.out.print(f"{key:22} {value}", markup=False)
    if check and str(data.get("llm_check", "")).startswith("FAILED"):
        raise typer.Exit(1)


def ui(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8501,
) -> None:
    """Start the chat page (Streamlit) on 127.0.0.1."""
    import subprocess

    page = Path(__file__).resolve().parents[2] / "ui" / "app.py"
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
