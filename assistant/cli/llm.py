"""``assistant llm serve``: a local OpenAI-compatible model to point ASSISTANT_LLM_BASE_URL at
(llama.cpp's server on Qwen weights; needs the ``local`` or ``local-1.5b`` extra)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.cli import common
from assistant.cli.common import handle

HELP = "A local model: llama.cpp's OpenAI-compatible server on Qwen weights."


def base_url(host: str, port: int) -> str:
    """The URL clients use: a wildcard bind is reached on loopback; IPv6 literals in brackets."""
    if host in {"0.0.0.0", "::", ""}:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/v1"


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

    settings = common.settings()
    out, err = common.out, common.err
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
            lines(base_url(host, port))
        if gguf is None:
            path = _assemble_with_progress(assemble, entry, settings.data_dir / "models")
        else:
            path = gguf
        if nice:
            os.nice(nice)

        def ready(url: str) -> None:
            if not port:
                lines(url)
            err.print(f"Serving {name} at {base_url(host, port) if port else url} (Ctrl-C stops).")

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
        raise handle(exc) from exc
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
        console=common.err,
        transient=True,
    ) as bar:
        task = bar.add_task(f"assembling and verifying the {model.key} model", total=model.size)
        return assemble(model, dest, progress=lambda done, _total: bar.update(task, completed=done))
