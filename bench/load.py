"""The load figure: N processes × M asks at once on one data folder, and through one Chroma
server, started together on a fresh index. Errors must be 0; p50/p95 are per ask.

Through the server each process has its own data folder, as replicas on separate machines do:
no folder lock is shared, so the server's build claims are what keeps them from racing.

``python -m bench.load [--processes N] [--asks M]`` (run by ``make bench``); results go to
``bench/results/load.json`` and ``load.md``. Each worker is a real ``Assistant`` process: it
opens the index (the first one builds it while the others wait on the folder's lock), then asks
its questions in turn.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

RESULTS = Path(__file__).resolve().parent / "results"
QUESTIONS = [
    "Where is NATO headquartered?",
    "How many soldiers has Russia moved to the Ukrainian border?",
    "Who decides NATO's relationship with Ukraine?",
    "What is the population of Ukraine?",
    "When did Schultz take office?",
]
app = typer.Typer(add_completion=False, help=__doc__)


def worker(asks: int) -> None:
    """One process: open, then ask ``asks`` questions; one JSON line on stdout."""
    t0 = time.perf_counter()
    errors: list[str] = []
    latencies: list[float] = []
    try:
        from assistant.service import Assistant

        assistant = Assistant.open()
        opened = time.perf_counter() - t0
        for i in range(asks):
            t = time.perf_counter()
            try:
                assistant.ask(QUESTIONS[i % len(QUESTIONS)])
                latencies.append((time.perf_counter() - t) * 1000)
            except Exception as exc:  # counted, not raised: the figure is the error count
                errors.append(f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        opened = time.perf_counter() - t0
        errors.append(f"open: {type(exc).__name__}: {exc}")
    print(json.dumps({"open_s": opened, "latencies_ms": latencies, "errors": errors}))


def run(processes: int, asks: int, env: dict[str, str], folders: Path | None = None) -> dict:
    """Start the workers together; ``folders``: each gets its own data folder below it."""
    cmd = [sys.executable, "-m", "bench.load", "worker", "--asks", str(asks)]
    t0 = time.perf_counter()
    envs = [
        env if folders is None else {**env, "ASSISTANT_DATA_DIR": str(folders / f"replica-{i}")}
        for i in range(processes)
    ]
    procs = [
        subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for e in envs
    ]
    rows, errors = [], []
    for p in procs:
        out, err = p.communicate(timeout=900)
        try:
            rows.append(json.loads(out.decode().strip().splitlines()[-1]))
        except (ValueError, IndexError):
            errors.append(f"worker exited {p.returncode}: {err.decode(errors='replace')[-300:]}")
    lat = sorted(x for r in rows for x in r["latencies_ms"])
    errors += [e for r in rows for e in r["errors"]]
    return {
        "processes": processes,
        "asks_each": asks,
        "asks_answered": len(lat),
        "errors": len(errors),
        "error_samples": errors[:5],
        "p50_ms": statistics.median(lat) if lat else None,
        "p95_ms": lat[int(0.95 * (len(lat) - 1))] if lat else None,
        "open_s_max": max((r["open_s"] for r in rows), default=None),
        "wall_s": time.perf_counter() - t0,
    }


@app.command("worker", hidden=True)
def worker_cmd(asks: Annotated[int, typer.Option()] = 20) -> None:
    worker(asks)


@app.command("run")
def main(
    processes: Annotated[int, typer.Option(help="Processes started at once.")] = 4,
    asks: Annotated[int, typer.Option(help="Questions each process asks.")] = 25,
) -> None:
    """Measure both set-ups and write bench/results/load.{json,md}."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.chroma_server import chroma_server

    base = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    base["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        out["one data folder"] = run(
            processes, asks, {**base, "ASSISTANT_DATA_DIR": str(Path(tmp) / "data")}
        )
        server_dir = Path(tmp) / "server"
        server_dir.mkdir()
        with chroma_server(server_dir / "chroma") as url:
            out["one chroma server, a folder each"] = run(
                processes, asks, {**base, "ASSISTANT_CHROMA_URL": url}, folders=Path(tmp)
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [
        "# Load: processes × asks started together on a fresh index",
        "",
        "| set-up | processes × asks | answered | errors | p50 ms | p95 ms | slowest open s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in out.items():
        lines.append(
            f"| {name} | {r['processes']} × {r['asks_each']} | {r['asks_answered']} | "
            f"{r['errors']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['open_s_max']:.2f} |"
        )
    (RESULTS / "load.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    for name, r in out.items():
        for e in r["error_samples"]:
            print(f"{name}: {e}")


if __name__ == "__main__":
    app()
