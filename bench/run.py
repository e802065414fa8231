"""Benchmarks of the cost curve: what indexing and answering cost at 1, 1,000 and 10,000
articles (~100,000 chunks), against a plain LangChain baseline.

For each corpus size (``bench.corpus``: the shipped article hidden among generated near-twins),
with a fresh data folder (embedded Chroma), each step in its own process (``bench.workers``):
- cold index build: chunks/s end to end (``Assistant.open``), the time spent in each part
  (loading, chunking, embedding, ``collection.add``, BM25), peak RSS;
- warm latency over ~100 questions: ``retriever.retrieve`` and the full extractive ``ask``, and
  the time per part of an answer;
- retrieval quality (hit@k, MRR, evidence_hit, refusals) on the eval set and on generated
  questions; HNSW recall against an exact search; what-ifs: HNSW ``ef_search``, exact dense
  search, retrieval candidates, RRF k;
- cold start: a new process that imports the product, opens the prebuilt index and answers
  once, and the real ``assistant ask`` command on the same index;
- incremental refresh with 1% of the articles rewritten;
- the same for a plain baseline (``bench.baseline``: LangChain's default recipe), so the
  product shows as ratios.
Then how ``collection.add`` cost depends on what is stored (one sweep on the largest corpus).

Results go to ``bench/results/scale.json`` and ``scale.md`` (``bench.report``) and the table
is printed. Numbers only: nothing here asserts anything about time. Progress goes to stderr.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from bench import corpus as corpus_mod
from bench.questions import Item, article_only_terms, latency_questions, mark_distinctive
from bench.questions import question_sets as make_question_sets
from bench.report import render, targets

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
# retrieval settings tried besides the product's own (candidates 30, RRF k 10), with each
# ef_search; "exact_dense" replaces the HNSW query by an exact numpy search over all vectors.
# RRF k 60 is the customary value the product used before the bench showed 10 retrieves better.
WHATIF = [
    {"candidates": 100},
    {"rrf_k": 60},
    {"exact_dense": True},
    {"exact_dense": True, "rrf_k": 60},
]
T0 = time.perf_counter()


def say(msg: str) -> None:
    print(f"[bench {time.perf_counter() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Options:
    """What one run measures; recorded with its results so a run can be told from another."""

    sizes: tuple[int, ...] = (1, 1000, 10_000)
    questions: int = 100
    cold_runs: int = 3
    seed: int = corpus_mod.DEFAULT_SEED
    sweep_chunks: int = 20_000
    baseline: bool = True
    whatif_ef: int = 64
    profile: bool = False
    work: Path | None = None
    keep: bool = False
    out: Path = RESULTS


class Runner:
    """Starts workers (``python -m bench.workers``) in a clean environment: no ``ASSISTANT_*``
    of the developer's, and the work folder as the current directory (no stray ``.env``)."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.python = sys.executable
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["ANONYMIZED_TELEMETRY"] = "False"
        self.env = env
        self.n = 0

    def task(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        self.n += 1
        pfile = self.work / f"task-{self.n:03d}-{name}.params.json"
        ofile = self.work / f"task-{self.n:03d}-{name}.out.json"
        pfile.write_text(json.dumps(params), encoding="utf-8")
        t = time.perf_counter()
        proc = subprocess.run(
            [self.python, "-m", "bench.workers", name, str(pfile), str(ofile)],
            cwd=self.work,
            env=self.env,
            stdout=sys.stderr,
        )
        wall = time.perf_counter() - t
        if proc.returncode != 0 or not ofile.exists():
            raise RuntimeError(f"worker {name} failed (exit {proc.returncode}); see stderr above")
        out = json.loads(ofile.read_text(encoding="utf-8"))
        out["wall_s"] = round(wall, 3)
        return out

    def cli_ask(self, data_dir: Path, question: str) -> dict[str, Any]:
        """The real command, ``assistant ask``, on the sources the build remembered."""
        exe = Path(self.python).with_name("assistant")
        env = dict(self.env, ASSISTANT_DATA_DIR=str(data_dir))
        manifests = sorted(data_dir.glob("manifest-*.json"))
        before = {m: m.stat().st_mtime_ns for m in manifests}
        t = time.perf_counter()
        proc = subprocess.run(
            [str(exe), "ask", question], cwd=self.work, env=env, capture_output=True, text=True
        )
        wall = time.perf_counter() - t
        after = {m: m.stat().st_mtime_ns for m in sorted(data_dir.glob("manifest-*.json"))}
        return {
            "wall_s": round(wall, 3),
            "exit": proc.returncode,
            "index_reused": bool(before) and before == after,
            "answer": proc.stdout.strip()[:160],
        }

    def cold_runs(self, task: str, params: dict[str, Any], runs: int) -> dict[str, Any]:
        """``runs`` fresh processes after one discarded run (which pays for the OS file cache
        and any bytecode compilation: a first start after installing, not a typical one)."""
        first = self.task(task, params)
        got = [self.task(task, params) for _ in range(runs)]
        walls = [g["wall_s"] for g in got]
        return {
            "wall_s_median": round(statistics.median(walls), 3),
            "wall_s_min": min(walls),
            "wall_s_all": walls,
            "median_run": sorted(got, key=lambda g: g["wall_s"])[len(got) // 2],
            "discarded_first_wall_s": first["wall_s"],
        }


# -- one corpus size --------------------------------------------------------------------------
def _corpus(
    runner: Runner, size: int, opts: Options, sets: dict[str, list[Item]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write the corpus; return what the results record of it and the parameters every
    task of this size shares (corpus, questions, question sets marked distinctive)."""
    path = runner.work / f"corpus-{size}.jsonl"
    t = time.perf_counter()
    info = corpus_mod.write_corpus(path, size, seed=opts.seed)
    written = {
        "path": str(path),
        "bytes": path.stat().st_size,
        "article_position": info.article_position,
        "generate_s": round(time.perf_counter() - t, 2),
    }
    say(f"{size:,} articles: corpus written ({path.stat().st_size / 1e6:.1f} MB)")
    article = corpus_mod.article()
    terms = article_only_terms(article, corpus_mod.read_jsonl(path))
    common = {
        "corpus": str(path),
        "questions": latency_questions(sets, opts.questions),
        "item_sets": {
            k: [it.to_json() for it in mark_distinctive(v, terms, article)] for k, v in sets.items()
        },
        "article_id": corpus_mod.ARTICLE_ID,
    }
    return written, common


def _product_whatif_ef(
    runner: Runner, res: dict[str, Any], common: dict[str, Any], pdir: Path, ef: int
) -> None:
    """Measure again with another HNSW ``ef_search``, then put the index's own back."""
    own = res["measure"]["hnsw"]["ef_search"]
    if not ef or ef == own:
        return
    say(f"{res['articles']:,} articles: what if HNSW ef_search were {ef}")
    runner.task("set_ef", {"data_dir": str(pdir), "ef_search": ef})
    res["measure_ef"] = runner.task(
        "product_measure",
        {
            **common,
            "data_dir": str(pdir),
            "light": True,
            "whatif": [w for w in WHATIF if not w.get("exact_dense")],
        },
    )
    runner.task("set_ef", {"data_dir": str(pdir), "ef_search": own or 64})


def _product(
    runner: Runner, res: dict[str, Any], common: dict[str, Any], opts: Options, pdir: Path
) -> None:
    """Build, measure, cold-start and refresh the product at one size, into ``res``."""
    size, work = res["articles"], runner.work
    first_q = common["questions"][0]
    say(f"{size:,} articles: product cold build")
    b = res["build"] = runner.task("product_build", {**common, "data_dir": str(pdir)})
    say(
        f"{size:,} articles: {b['chunks_written']:,} chunks in {b['open_s']:.1f} s "
        f"({b['chunks_per_s']:,.0f} chunks/s), peak RSS {b['peak_rss_mb']:.0f} MB"
    )
    if opts.profile:
        say(f"{size:,} articles: profiled build (scratch folder; numbers above unaffected)")
        runner.task(
            "product_build",
            {
                **common,
                "data_dir": str(work / f"profile-{size}"),
                "profile": str(opts.out / "profiles" / f"build-{size}.txt"),
            },
        )
        shutil.rmtree(work / f"profile-{size}", ignore_errors=True)
    say(f"{size:,} articles: product warm latency and quality")
    res["measure"] = runner.task(
        "product_measure",
        {
            **common,
            "data_dir": str(pdir),
            "profile": str(opts.out / "profiles" / f"ask-{size}.txt") if opts.profile else None,
            "whatif": WHATIF if size > 1 else [],
        },
    )
    if size > 1:
        _product_whatif_ef(runner, res, common, pdir, opts.whatif_ef)
    say(f"{size:,} articles: product cold start ×{opts.cold_runs}")
    res["cold"] = runner.cold_runs(
        "product_cold", {**common, "data_dir": str(pdir), "question": first_q}, opts.cold_runs
    )
    # the real command answers from the sources the build remembered (as after `assistant
    # index PATH`); checked: the manifest is not rewritten, so nothing was rebuilt
    say(f"{size:,} articles: `assistant ask` cold start ×{opts.cold_runs}")
    runner.cli_ask(pdir, first_q)  # discarded, as for the other cold starts
    res["cli_cold"] = [runner.cli_ask(pdir, first_q) for _ in range(opts.cold_runs)]
    if size > 1:
        path = Path(common["corpus"])
        changed = work / f"corpus-{size}-changed.jsonl"
        ids = corpus_mod.write_changed(path, changed, 0.01, seed=opts.seed)
        say(f"{size:,} articles: incremental refresh, {len(ids)} articles rewritten")
        res["incremental"] = runner.task(
            "product_build", {**common, "corpus": str(changed), "data_dir": str(pdir)}
        )
        res["incremental"]["rewritten"] = len(ids)


def _baseline(
    runner: Runner, res: dict[str, Any], common: dict[str, Any], opts: Options, bdir: Path
) -> None:
    """Build, measure and cold-start the baseline at one size, into ``res``."""
    size = res["articles"]
    say(f"{size:,} articles: baseline build")
    res["baseline_build"] = runner.task("baseline_build", {**common, "data_dir": str(bdir)})
    say(f"{size:,} articles: baseline latency and quality")
    res["baseline_measure"] = runner.task("baseline_measure", {**common, "data_dir": str(bdir)})
    say(f"{size:,} articles: baseline cold start ×{opts.cold_runs}")
    res["baseline_cold"] = runner.cold_runs(
        "baseline_cold",
        {"data_dir": str(bdir), "question": common["questions"][0]},
        opts.cold_runs,
    )


def bench_size(
    runner: Runner, size: int, opts: Options, sets: dict[str, list[Item]]
) -> dict[str, Any]:
    """Everything measured at one corpus size; indexes are deleted afterwards unless kept."""
    res: dict[str, Any] = {"articles": size}
    res["corpus"], common = _corpus(runner, size, opts, sets)
    res["distinctive_items"] = {
        k: sum(bool(x["distinctive"]) for x in v if x["answerable"])
        for k, v in common["item_sets"].items()
    }
    pdir, bdir = runner.work / f"product-{size}", runner.work / f"baseline-{size}"
    try:
        _product(runner, res, common, opts, pdir)
        if opts.baseline:
            _baseline(runner, res, common, opts, bdir)
    finally:
        if not opts.keep:
            shutil.rmtree(pdir, ignore_errors=True)
            shutil.rmtree(bdir, ignore_errors=True)
    return res


# -- the whole run ----------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    import chromadb

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = "?"
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "chromadb": chromadb.__version__,
        "commit": commit or "?",
    }


def _save(out: Path, name: str, result: dict[str, Any]) -> None:
    (out / name).write_text(json.dumps(result, indent=1), encoding="utf-8")


def run(opts: Options) -> dict[str, Any]:
    """Measure every size, then the Chroma sweep; write the results and print the report."""
    work = opts.work or Path(tempfile.mkdtemp(prefix="article-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    opts.out.mkdir(parents=True, exist_ok=True)
    say(f"work folder {work}; sizes {list(opts.sizes)}")
    sets = make_question_sets(corpus_mod.article())
    runner = Runner(work)
    result: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "args": {k: str(v) for k, v in asdict(opts).items()},
        "question_sets": {
            k: {"items": len(v), "answerable": sum(it.answerable for it in v)}
            for k, v in sets.items()
        },
        "latency_questions": len(latency_questions(sets, opts.questions)),
        "cold_runs": opts.cold_runs,
        "sizes": [],
    }
    try:
        for size in opts.sizes:
            result["sizes"].append(bench_size(runner, size, opts, sets))
            _save(opts.out, "partial.json", result)  # a stopped run keeps what it measured
        if opts.sweep_chunks > 0:
            big = max(opts.sizes)
            say(f"chroma add sweep on {opts.sweep_chunks:,} chunks")
            result["chroma_sweep"] = runner.task(
                "chroma_sweep",
                {
                    "corpus": str(work / f"corpus-{big}.jsonl"),
                    "chunks": opts.sweep_chunks,
                    "tmp": str(work),
                },
            )
            result["chroma_sweep"]["articles"] = big
    finally:
        if not opts.keep and opts.work is None:
            shutil.rmtree(work, ignore_errors=True)
    result["k"] = result["sizes"][0]["measure"]["k"] if result["sizes"] else 4
    result["total_s"] = round(time.perf_counter() - T0, 1)
    result["targets"] = targets(result)
    table = render(result)
    _save(opts.out, "scale.json", result)
    (opts.out / "scale.md").write_text(table, encoding="utf-8")
    (opts.out / "partial.json").unlink(missing_ok=True)
    print(table)
    say(f"wrote {opts.out / 'scale.json'} and {opts.out / 'scale.md'}")
    return result


# -- command line -----------------------------------------------------------------------------
def _sizes(value: str) -> str:
    try:
        sizes = [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter("give article counts separated by commas, e.g. 1,1000") from None
    if not sizes or min(sizes) < 1:
        raise typer.BadParameter("give at least one article count, each 1 or more")
    return value


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command(
    help="Measure what indexing and answering cost as the corpus grows, against LangChain's "
    "default recipe, and write bench/results/scale.md and scale.json.\n\n"
    "Each corpus is the shipped article hidden among generated look-alike articles. For each "
    "size: a cold index build, warm latency and retrieval quality (the eval questions and "
    "generated ones), cold starts, an incremental refresh, and the same for the baseline; "
    "then what Chroma's add costs by what is stored. Each step runs in its own process.\n\n"
    "The full run (1, 1,000 and 10,000 articles) takes about 5 minutes on 2 cores and needs "
    "about 1 GB of memory; --quick (1 and 1,000 articles) about 2. Progress goes to stderr. "
    "Numbers only: nothing here fails on a slow result.",
    epilog="Needs the bench extra: pip install -e '.[dev,bench]' (make bench does it).",
)
def main(
    sizes: Annotated[
        str,
        typer.Option(
            callback=_sizes,
            metavar="N,N,...",
            help="Corpus sizes to measure, in articles, comma-separated (10,000 articles make "
            "about 100,000 chunks).",
        ),
    ] = "1,1000,10000",
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="A quicker run: sizes 1 and 1,000, and a 5,000-chunk Chroma sweep."
        ),
    ] = False,
    questions: Annotated[
        int, typer.Option(metavar="N", min=1, help="Questions timed per size (warm latency).")
    ] = 100,
    cold_runs: Annotated[
        int,
        typer.Option(
            metavar="N", min=1, help="Fresh processes per cold start; the median is reported."
        ),
    ] = 3,
    seed: Annotated[
        int,
        typer.Option(
            metavar="N", help="Seed of the generated corpus (the same seed, the same corpus)."
        ),
    ] = corpus_mod.DEFAULT_SEED,
    sweep_chunks: Annotated[
        int,
        typer.Option(
            metavar="N", min=0, help="Chunks added in the Chroma sweep; 0 skips the sweep."
        ),
    ] = 20_000,
    baseline: Annotated[
        bool, typer.Option(help="Also measure the LangChain baseline, for the ratios.")
    ] = True,
    whatif_ef: Annotated[
        int,
        typer.Option(
            min=0,
            metavar="N",
            help="Another HNSW ef_search to measure the product with (0, or the index's own, "
            "skips it).",
        ),
    ] = 64,
    profile: Annotated[
        bool,
        typer.Option(
            help="Also write cProfile reports of a build and of answers to OUT/profiles/."
        ),
    ] = False,
    work: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Folder for corpora and indexes.",
            show_default="a temporary folder, deleted afterwards",
        ),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the corpora and indexes after the run.")
    ] = False,
    out: Annotated[
        Path,
        typer.Option(
            metavar="DIR",
            help="Folder for scale.json and scale.md.",
            show_default="bench/results",
        ),
    ] = RESULTS,
) -> None:
    if baseline and importlib.util.find_spec("langchain_chroma") is None:
        # say it before minutes of product measurements, not as a worker's traceback after them
        raise typer.BadParameter(
            "the baseline needs the bench extra: pip install -e '.[dev,bench]' (make bench "
            "does it), or pass --no-baseline",
            param_hint="--baseline",
        )
    size_list = tuple(int(x) for x in sizes.split(",") if x.strip())
    if quick:
        size_list, sweep_chunks = (1, 1000), min(sweep_chunks, 5_000)
    run(
        Options(
            sizes=size_list,
            questions=questions,
            cold_runs=cold_runs,
            seed=seed,
            sweep_chunks=sweep_chunks,
            baseline=baseline,
            whatif_ef=whatif_ef,
            profile=profile,
            work=work,
            keep=keep,
            out=out,
        )
    )


if __name__ == "__main__":
    app(prog_name="python -m bench.run")
