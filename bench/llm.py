"""The LLM path's speed with a real model: time to the first streamed words and to the verified
answer, per question, as a user of the page sees them.

``python -m bench.llm run --base-url http://127.0.0.1:8080/v1 [--model NAME] [--questions N]``
(``python -m bench.llm report`` writes the report again from the saved rows)
with a server from ``make llm`` (or any OpenAI-compatible one). Each question of the shipped
article's test split is asked through ``Assistant.ask_stream`` (the page's path): the first
text delta is the "first streamed token" (a JSON reply's first claim words, as shown), the end
of the stream the verified answer. Results go to ``bench/results/llm-latency.json`` and ``.md``.
Quality in LLM mode is ``assistant eval --mode llm`` (see the README); this is the clock.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Annotated

import typer

from evals.metrics import percentile

RESULTS = Path(__file__).resolve().parent / "results"
ARTICLE_TEST = Path(__file__).resolve().parents[1] / "evals" / "data" / "article.test.jsonl"
app = typer.Typer(add_completion=False, help=__doc__)


def _questions(limit: int) -> list[str]:
    rows = [json.loads(line) for line in ARTICLE_TEST.read_text(encoding="utf-8").splitlines()]
    return [r["question"] for r in rows if r.get("question")][:limit]


@app.command()
def report() -> None:
    """Write the report again from the rows of ``llm-latency.json`` (no server needed)."""
    saved = json.loads((RESULTS / "llm-latency.json").read_text(encoding="utf-8"))
    write_report(saved["rows"], saved["summary"]["label"])


@app.command()
def run(
    base_url: Annotated[str, typer.Option(help="The OpenAI-compatible endpoint.")],
    model: Annotated[str, typer.Option(help="Model name sent to the endpoint.")] = "default",
    questions: Annotated[int, typer.Option(min=1, help="Questions of the test split.")] = 20,
    label: Annotated[str, typer.Option(help="What the server runs, for the report.")] = "",
    data_dir: Annotated[Path, typer.Option(help="Index folder.")] = Path(".assistant-bench-llm"),
) -> None:
    from assistant.service import Assistant
    from assistant.settings import load_settings

    settings = load_settings(
        data_dir=data_dir, llm_base_url=base_url, llm_model=model, mode="llm", llm_max_retries=0
    )
    assistant = Assistant.open(settings)
    rows = []
    for i, question in enumerate(_questions(questions), start=1):
        started = time.perf_counter()
        first: float | None = None
        stream = assistant.ask_stream(question)
        for delta in stream:
            if first is None and delta.strip():
                first = time.perf_counter() - started
        total = time.perf_counter() - started
        answer = stream.answer
        rows.append(
            {
                "question": question,
                "first_text_s": first,
                "verified_s": total,
                "grounded": answer.grounded,
                "fell_back": answer.fallback_reason is not None,
                "claims_shown": answer.claims_shown,
                "claims_removed": answer.claims_removed,
                "timings_ms": answer.timings,
            }
        )
        typer.echo(
            f"{i:>3} {total:6.2f} s (first text {first or float('nan'):5.2f} s) "
            f"{'grounded' if answer.grounded else 'declined'}: {question}"
        )
    write_report(rows, label or model)


def write_report(rows: list[dict], label: str) -> None:
    """``llm-latency.json`` (the rows and their summary) and ``.md`` from measured rows."""
    firsts = [r["first_text_s"] for r in rows if r["first_text_s"] is not None]
    totals = [r["verified_s"] for r in rows]
    # a question the reader finds unanswered declines without asking the model (~0.1 s):
    # the model's own figures are over the questions it was asked
    asked = [r for r in rows if r["timings_ms"].get("llm", 0) > 0]
    asked_totals = [r["verified_s"] for r in asked]
    asked_firsts = [r["first_text_s"] for r in asked if r["first_text_s"] is not None]
    summary = {
        "label": label,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "questions": len(rows),
        "verified_p50_s": percentile(totals, 50),
        "verified_p95_s": percentile(totals, 95),
        "first_text_p50_s": percentile(firsts, 50) if firsts else None,
        "first_text_p95_s": percentile(firsts, 95) if firsts else None,
        "with_text": len(firsts),
        "asked_model": len(asked),
        "asked_verified_p50_s": percentile(asked_totals, 50) if asked else None,
        "asked_first_text_p50_s": percentile(asked_firsts, 50) if asked_firsts else None,
        "fell_back": sum(r["fell_back"] for r in rows),
        "grounded": sum(r["grounded"] for r in rows),
        "claims_removed": sum(r["claims_removed"] for r in rows),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "llm-latency.json").write_text(
        json.dumps({"summary": summary, "rows": rows}, indent=2) + "\n", encoding="utf-8"
    )
    md = [
        f"# LLM path latency: {summary['label']}",
        "",
        f"`python -m bench.llm run` on {summary['machine']}, {summary['questions']} questions "
        "of the article's test split, streamed as the page does.",
        "",
        "| measure | p50 | p95 |",
        "| --- | --- | --- |",
        f"| time to verified answer | {summary['verified_p50_s']:.2f} s "
        f"| {summary['verified_p95_s']:.2f} s |",
    ]
    if firsts:
        md.append(
            f"| first streamed words ({len(firsts)} answers with text) "
            f"| {summary['first_text_p50_s']:.2f} s | {summary['first_text_p95_s']:.2f} s |"
        )
    if asked:
        md.append(
            f"| the {len(asked)} questions the model was asked: verified answer "
            f"| {summary['asked_verified_p50_s']:.2f} s | |"
        )
    if asked_firsts:
        md.append(
            f"| the same: first streamed words | {summary['asked_first_text_p50_s']:.2f} s | |"
        )
    md += [
        "",
        "The others declined at once: the reader found no answering sentence, so no model was "
        "asked.",
        "",
        f"Grounded {summary['grounded']}, fell back {summary['fell_back']}, claims removed "
        f"{summary['claims_removed']}.",
    ]
    (RESULTS / "llm-latency.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    typer.echo("\n".join(md))


if __name__ == "__main__":
    app()
