"""The batch runner: ask every item, score it, write ``results.jsonl`` row by row.

Rows are appended and flushed as they are scored, so a stopped run (Ctrl-C, crash) resumes where
it stopped with ``resume=True``; ``run.json`` fingerprints what was measured (dataset, corpus,
settings, mode) and a resume against a different fingerprint is refused with the reason.
Only measuring lives here: answers come from ``assistant.service.Assistant``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.service import Assistant
from assistant.types import Mode
from evals.dataset import DatasetProblem, EvalItem, check_evidence, dataset_hash, load_dataset
from evals.errors import EvalError
from evals.metrics import score_item
from evals.rows import RESULTS, CitedQuote, ResultRow, read_results, row_line, write_results

log = logging.getLogger(__name__)

RUN = "run.json"


class ResumeRefused(EvalError):
    """``--resume`` against a results folder of a different run."""


class EarlierRun(EvalError):
    """``--out`` names a folder holding an earlier run, and neither resume nor overwrite."""


# The files whose presence means a folder holds a run: replacing them silently loses it.
RUN_FILES = (RUN, RESULTS, "report.json")


def check_out(out: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse to start over in a folder holding an earlier run unless told to (``overwrite``)
    or told to continue it (``resume``): nothing is written before this check passes."""
    if resume or overwrite:
        return
    found = [name for name in RUN_FILES if (out / name).exists()]
    if found:
        raise EarlierRun(
            f"{out} holds an earlier eval run ({found[0]}): pass --resume to continue it, "
            "choose another --out folder, or pass --overwrite to replace it."
        )


@dataclass
class Prepared:
    items: list[EvalItem]
    problems: list[DatasetProblem]
    dataset_hash: str
    paths: list[Path]


def _nothing_left(
    loaded: int, dropped: int, problems: Sequence[DatasetProblem], tags: Sequence[str]
) -> str:
    """Why no item is left, in one sentence: the run stops before any report could list it."""
    if dropped == loaded:
        return (
            f"No eval item is left to run: the evidence of all {loaded} items is not in this "
            f"corpus (first: {problems[0].message}); pass the corpus the set was written on "
            "with --corpus."
        )
    return (
        f"No eval item is left to run: none of the {loaded - dropped} items this corpus can "
        f"score has the tags {', '.join(map(repr, tags))}."
    )


def prepare(
    datasets: Sequence[Path],
    assistant: Assistant,
    *,
    tags: Sequence[str] = (),
    limit: int | None = None,
) -> Prepared:
    """Load the eval sets and drop (reporting) items this corpus cannot score."""
    load = load_dataset(list(datasets))
    corpus = {d.id: d.text for d in assistant.documents.values()}
    evidence_problems = check_evidence(load.items, corpus)
    bad = {p.message.split("'")[1] for p in evidence_problems if p.message.startswith("item '")}
    items = [i for i in load.items if i.id not in bad]
    if tags:
        items = [i for i in items if set(tags) & set(i.tags)]
    if limit is not None:
        items = items[:limit]
    if not items:
        raise EvalError(_nothing_left(len(load.items), len(bad), evidence_problems, tags))
    return Prepared(
        items, [*load.problems, *evidence_problems], dataset_hash(load.paths), load.paths
    )


def _git(*args: str) -> str | None:
    """``git args`` run beside this file; None where git or the repository is absent."""
    try:
        out = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_commit() -> str | None:
    return (_git("rev-parse", "HEAD") or "").strip() or None


def git_dirty() -> bool | None:
    """Whether tracked files differ from the commit: a run made on uncommitted code names a
    commit that did not produce it, and the record should say so."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return None if status is None else bool(status.strip())


def run_meta(
    assistant: Assistant, prepared: Prepared, mode: Mode, k: int, within_doc: bool = False
) -> dict[str, Any]:
    s = assistant.settings
    return {
        "within_doc": within_doc,
        "git_commit": git_commit(),
        "git_dirty": git_dirty(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": mode,
        "model": s.llm_model if mode == "llm" else None,
        "k": k,
        "corpus_hash": assistant.corpus_hash,
        "documents": len(assistant.documents),
        "dataset_hash": prepared.dataset_hash,
        "datasets": [str(p) for p in prepared.paths],
        "items": len(prepared.items),
        "settings": s.masked(),
    }


def fingerprint(meta: dict[str, Any]) -> dict[str, Any]:
    """What must match for a resumed run to be the same measurement."""
    s = meta["settings"]
    return {
        "dataset_hash": meta["dataset_hash"],
        "corpus_hash": meta["corpus_hash"],
        "mode": meta["mode"],
        "model": meta["model"],
        "k": meta["k"],
        "within_doc": meta.get("within_doc", False),
        "items": meta["items"],
        "decline_threshold": s["decline_threshold"],
        "chunk_size": s["chunk_size"],
        "chunk_overlap": s["chunk_overlap"],
        "embedder": s["embedder"],
    }


def read_rows(path: Path) -> list[ResultRow]:
    """Rows of a results file; a line cut by a crash at the end is dropped (it is re-asked)."""
    results = read_results(path)
    for note in results.notes if results.exists else ():
        log.warning("%s", note)
    return results.rows


def start_run(
    out: Path, meta: dict[str, Any], resume: bool, overwrite: bool = False
) -> list[ResultRow]:
    """Prepare the results folder; the rows already done when resuming. An earlier run there
    is replaced only with ``overwrite`` (``check_out``)."""
    check_out(out, resume=resume, overwrite=overwrite)
    out.mkdir(parents=True, exist_ok=True)
    run_file, results = out / RUN, out / RESULTS
    if resume and run_file.exists():
        try:
            old = json.loads(run_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ResumeRefused(f"Cannot resume: {run_file} is unreadable.") from exc
        want, have = fingerprint(meta), old.get("fingerprint", {})
        diff = sorted(k for k in want if want[k] != have.get(k))
        if diff:
            raise ResumeRefused(
                f"Cannot resume in {out}: it holds a different run ({', '.join(diff)} differ); "
                f"use another --out or drop --resume."
            )
        rows = read_rows(results)
        # rewrite without a cut last line so appends start on a clean line
        write_results(results, rows)
        return rows
    run_file.write_text(
        json.dumps({"fingerprint": fingerprint(meta), "meta": meta}, indent=2), encoding="utf-8"
    )
    results.write_text("", encoding="utf-8")
    return []


def ask_and_score(
    assistant: Assistant, item: EvalItem, mode: Mode, k: int, within_doc: bool = False
) -> ResultRow:
    """Ask one item and score it; ``within_doc`` asks an item that names its document only
    within that document (as ``assistant ask --doc`` does): "the whole article" rather than
    the whole corpus."""
    corpus = {d.id: d.text for d in assistant.documents.values()}
    t0 = time.perf_counter()
    doc_id = item.doc_id if within_doc and item.doc_id in assistant.documents else None
    answer = assistant.ask(item.question, item.history, mode=mode, k=k, doc_id=doc_id)
    latency = (time.perf_counter() - t0) * 1000
    score = score_item(item, answer, corpus=corpus, latency_ms=latency)
    return ResultRow(
        **score.model_dump(exclude={"passed"}),
        question=item.question,
        answer=answer.text,
        grounded=answer.grounded,
        query=answer.query,
        mode=answer.mode,
        fallback_reason=answer.fallback_reason,
        cited=[
            CitedQuote(n=c.n, doc_id=c.doc_id, start=c.start, end=c.end, quote=c.quote)
            for c in answer.citations
        ],
        **({"removed_claims": answer.removed_claims} if answer.removed_claims else {}),
    )


def run_rows(
    assistant: Assistant,
    items: Sequence[EvalItem],
    *,
    mode: Mode,
    k: int,
    out: Path | None,
    done: Sequence[ResultRow] = (),
    concurrency: int = 1,
    on_row: Callable[[ResultRow], None] | None = None,
    within_doc: bool = False,
) -> list[ResultRow]:
    """Ask the items not yet in ``done``; append each row to ``out/results.jsonl`` at once.

    The rows come back in the items' order, whatever order the threads finished in.
    """
    finished = {r.id for r in done}
    todo = [i for i in items if i.id not in finished]
    rows = list(done)
    sink = (out / RESULTS).open("a", encoding="utf-8") if out else None
    try:

        def record(row: ResultRow) -> None:
            rows.append(row)
            if sink:
                sink.write(row_line(row))
                sink.flush()
            if on_row:
                on_row(row)

        if concurrency <= 1:
            for item in todo:
                record(ask_and_score(assistant, item, mode, k, within_doc))
        else:
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                for row in pool.map(
                    lambda i: ask_and_score(assistant, i, mode, k, within_doc), todo
                ):
                    record(row)
    finally:
        if sink:
            sink.close()
    order = {i.id: n for n, i in enumerate(items)}
    return sorted((r for r in rows if r.id in order), key=lambda r: order[r.id])


def run_items(
    assistant: Assistant,
    items: Sequence[EvalItem],
    *,
    mode: Mode,
    k: int,
    out: Path | None,
    concurrency: int = 1,
    within_doc: bool = False,
) -> list[dict[str, Any]]:
    """``run_rows`` as plain JSON objects, for callers that read rows as dicts (the reader's
    model card in ``training/``); new code should use ``run_rows``."""
    rows = run_rows(
        assistant,
        items,
        mode=mode,
        k=k,
        out=out,
        concurrency=concurrency,
        within_doc=within_doc,
    )
    return [r.to_json() for r in rows]
