"""What each benchmark step does, run in its own process so its memory and its cold start are
its own: ``python -m bench.workers TASK PARAMS.json OUT.json``.

Only the standard library is imported at the top: a cold-start worker must pay for importing the
product itself, nothing else. Every task writes one JSON object to OUT.json, with the process's
own peak RSS (``ru_maxrss`` of ``RUSAGE_SELF``) added.
"""

from __future__ import annotations

import cProfile
import inspect
import io
import json
import pstats
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

T_START = time.perf_counter()


def log(msg: str) -> None:
    print(f"    {msg}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_now_mb() -> float:
    """Current resident set size (``/proc/self/statm``), MiB; 0 where there is no /proc."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * resource.getpagesize() / 2**20


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


class Timer:
    """Wall time and call count of one patched function."""

    def __init__(self) -> None:
        self.total = 0.0
        self.calls = 0
        self.samples: list[float] = []
        self.rss_after: float | None = None  # highest RSS (MiB) seen right after a call

    def summary(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {
            "seconds": round(self.total, 4),
            "calls": self.calls,
            "p50_ms": None if not self.samples else round(pct(self.samples, 0.5) * 1000, 3),
        }
        if self.rss_after is not None:
            out["rss_after_mb"] = round(self.rss_after, 1)
        return out


class Timers:
    """Patch functions (module globals, methods, static and class methods) to time them."""

    def __init__(self) -> None:
        self.timers: dict[str, Timer] = {}
        self._undo: list[Callable[[], None]] = []

    def patch(self, owner: Any, name: str, label: str, rss: bool = False) -> None:
        raw = inspect.getattr_static(owner, name)
        original = getattr(owner, name)
        timer = self.timers.setdefault(label, Timer())

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t0
                timer.total += dt
                timer.calls += 1
                timer.samples.append(dt)
                if rss:
                    timer.rss_after = max(timer.rss_after or 0.0, rss_now_mb())

        if isinstance(raw, staticmethod | classmethod):
            setattr(owner, name, staticmethod(timed))
        elif inspect.isclass(owner) and inspect.isfunction(raw):

            def method(self: Any, *args: Any, **kwargs: Any) -> Any:
                return timed(self, *args, **kwargs)

            setattr(owner, name, method)
        else:
            setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, raw))

    def restore(self) -> None:
        while self._undo:
            self._undo.pop()()

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        return {k: t.summary() for k, t in self.timers.items()}


def profile_text(profiler: cProfile.Profile, limit: int = 30) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs()
    out.write("== by internal time ==\n")
    stats.sort_stats("tottime").print_stats(limit)
    out.write("== by cumulative time ==\n")
    stats.sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


def run_profiled(fn: Callable[[], Any], path: str | None) -> Any:
    if not path:
        return fn()
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        return fn()
    finally:
        profiler.disable()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(profile_text(profiler), encoding="utf-8")


def _settings(data_dir: str) -> Any:
    from assistant.settings import load_settings

    return load_settings(data_dir=Path(data_dir))


def _progress(rss: dict[str, float] | None = None) -> Callable[[str, int, int], None]:
    """Progress on stderr; ``rss`` gets the highest current RSS (MiB) seen during each stage."""
    last = {"stage": "", "t": 0.0}
    t0 = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if rss is not None:
            key = f"{stage} {'start' if done == 0 else 'end' if done == total else 'during'}"
            rss[key] = round(max(rss.get(key, 0.0), rss_now_mb()), 1)
        if stage != last["stage"] or now - last["t"] > 10 or done == total:
            log(f"{now - t0:7.1f}s {stage} {done:,}/{total:,}")
            last.update(stage=stage, t=now)

    return progress


# -- the product ------------------------------------------------------------------------------
SHIMS: list[str] = []


def _install_paged_read_back() -> None:
    """Embedded Chroma cannot ``collection.get`` more than 32,766 records with metadata or
    documents in one call (SQLite's variable limit: "too many SQL variables"), and the product's
    ``VectorStore.all_chunks`` asks for every chunk at once to build BM25: above ~3,200 articles
    the build fails. To measure the rest, the bench retries that one call page by page, and says
    so in the results (``shims``). Product code is left as it is."""
    from index.store import VectorStore
    from index.types import Chunk

    original = VectorStore.all_chunks

    def all_chunks(self: Any) -> list[Chunk]:
        t0 = time.perf_counter()
        try:
            return original(self)
        except Exception as exc:
            if "too many SQL variables" not in str(exc):
                raise
            SHIMS.append(
                "VectorStore.all_chunks failed (embedded Chroma: too many SQL variables, after "
                f"{time.perf_counter() - t0:.1f} s, counted in 'read chunks back'); the bench "
                "read the chunks back in pages of 20,000 instead"
            )
            log(f"product bug: {exc}; reading back in pages (bench shim)")
        out: list[Chunk] = []
        while True:
            got = self.collection.get(
                include=["documents", "metadatas"], limit=20_000, offset=len(out)
            )
            if not got["ids"]:
                return out
            out.extend(
                Chunk(id=i, doc_id=m["doc_id"], start=int(m["start"]), end=int(m["end"]), text=t)
                for i, t, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            )

    VectorStore.all_chunks = all_chunks  # type: ignore[method-assign]


def product_build(p: dict[str, Any]) -> dict[str, Any]:
    """Open (build or refresh) the index for a corpus, timing each part of the work."""
    from chromadb.api.models.Collection import Collection
    from chromadb.api.models.CollectionCommon import CollectionCommon

    import assistant.service as service
    import index.store as store
    from index.embedding import WordLlamaEmbeddingFunction
    from index.lexical import LexicalIndex

    _install_paged_read_back()
    timers = Timers()
    timers.patch(service, "load_sources", "load_sources")
    timers.patch(store, "chunk_document", "chunking")
    timers.patch(WordLlamaEmbeddingFunction, "embed", "embedding", rss=True)
    timers.patch(Collection, "add", "chroma_add", rss=True)
    timers.patch(CollectionCommon, "_validate_and_prepare_add_request", "chroma_add_validation")
    timers.patch(Collection, "delete", "chroma_delete")
    timers.patch(store.VectorStore, "all_chunks", "chroma_get_all_chunks", rss=True)
    timers.patch(LexicalIndex, "build", "lexical_build", rss=True)
    timers.patch(LexicalIndex, "save", "lexical_save")
    settings = _settings(p["data_dir"])
    rss: dict[str, float] = {"before open": round(rss_now_mb(), 1)}
    t0 = time.perf_counter()
    assistant = run_profiled(
        lambda: service.Assistant.open(
            settings, sources=[Path(p["corpus"])], progress=_progress(rss)
        ),
        p.get("profile"),
    )
    rss["after open"] = round(rss_now_mb(), 1)
    open_s = time.perf_counter() - t0
    timers.restore()
    # what `assistant index PATH` does after building, so `assistant ask` answers from this corpus
    remember = getattr(service, "remember_sources", None)
    if remember is not None:
        remember(settings, [Path(p["corpus"])])
    r = assistant.sync_report
    parts = timers.summary()
    chunks = r.chunks_written
    embed_add = parts["embedding"]["seconds"] + parts["chroma_add"]["seconds"]
    return {
        "docs": len(assistant.documents),
        "chunks_written": chunks,
        "rebuilt": r.rebuilt,
        "added": len(r.added),
        "changed": len(r.changed),
        "removed": len(r.removed),
        "unchanged": r.unchanged,
        "open_s": round(open_s, 3),
        "sync_s": round(r.seconds, 3),
        "chunks_per_s": round(chunks / open_s, 1) if open_s else None,
        "chunks_per_s_sync": round(chunks / r.seconds, 1) if r.seconds else None,
        "chunks_per_s_embed_add": round(chunks / embed_add, 1) if embed_add else None,
        "parts": parts,
        "process_s": round(time.perf_counter() - T_START, 3),
        "sources_remembered": remember is not None,
        "shims": SHIMS,
        "rss_mb_by_stage": rss,
    }


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def _aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Eval metrics over per-item rows; split by whether the question names a term only the
    shipped article holds (``distinctive``) or is ambiguous among its near-twins."""

    def agg(sub: list[dict[str, Any]]) -> dict[str, Any]:
        ans = [r for r in sub if r["answerable"]]
        una = [r for r in sub if not r["answerable"]]
        n = len(ans) or 1
        return {
            "answerable": len(ans),
            "unanswerable": len(una),
            "retrieval_hit_at_k": sum(r["hit"] for r in ans) / n,
            "mrr": sum(r["rr"] for r in ans) / n,
            "evidence_hit": sum(r["evidence"] for r in ans) / n,
            "false_refusal_rate": sum(r["declined"] for r in ans) / n,
            "refusal_recall": (sum(r["declined"] for r in una) / len(una)) if una else None,
        }

    out = agg(rows)
    out["distinctive"] = agg([r for r in rows if r["distinctive"] is not False])
    out["ambiguous"] = agg([r for r in rows if r["distinctive"] is False])
    return out


def _quality_product(assistant: Any, items: list[Any], article_id: str) -> dict[str, Any]:
    from assistant.types import Turn

    rows = []
    for it in items:
        ans = assistant.ask(it.question, [Turn(**h) for h in it.history])
        ranks = [
            p.rank
            for p in ans.passages
            if p.doc_id == article_id and _overlaps(p.start, p.end, it.spans)
        ]
        rows.append(
            {
                "answerable": it.answerable,
                "distinctive": it.distinctive,
                "hit": bool(ranks),
                "rr": 1.0 / min(ranks) if ranks else 0.0,
                "declined": not ans.grounded,
                "evidence": ans.grounded
                and any(
                    c.doc_id == article_id and _overlaps(c.start, c.end, it.spans)
                    for c in ans.citations
                ),
            }
        )
    return _aggregate(rows)


def _hnsw_recall(assistant: Any, questions: list[str], n: int = 30) -> dict[str, Any]:
    """Share of the exact top-``n`` (brute force over every stored vector) that the HNSW
    query returns, and what the brute force costs."""
    import numpy as np

    col = assistant.store.collection
    ids: list[str] = []
    blocks = []
    page = 20_000
    while True:
        got = col.get(include=["embeddings"], limit=page, offset=len(ids))
        if not got["ids"]:
            break
        ids.extend(got["ids"])
        blocks.append(np.asarray(got["embeddings"], dtype=np.float32))
    matrix = np.vstack(blocks)
    qvecs = assistant.store.embedding_function.embed(questions)
    recalls, exact_ms = [], []
    for q in qvecs:
        t = time.perf_counter()
        sims = matrix @ q
        top = np.argpartition(-sims, min(n, len(ids) - 1))[:n]
        exact_ms.append((time.perf_counter() - t) * 1000)
        exact = {ids[i] for i in top}
        got_ids = {c.id for c, _ in assistant.store.query(q, n)}
        recalls.append(len(got_ids & exact) / len(exact))
    config = getattr(col, "configuration_json", None) or {}
    stats = {
        "recall_at_30": round(float(np.mean(recalls)), 4),
        "exact_numpy_ms_p50": round(pct(exact_ms, 0.5), 3),
        "vectors": len(ids),
        "ef_search": (config.get("hnsw") or {}).get("ef_search"),
    }
    return stats, matrix, ids


def _exact_dense(store: Any, matrix: Any, ids: list[str]) -> Callable[..., Any]:
    """A stand-in for ``VectorStore.query``: exact cosine top-k by numpy over every vector
    (normalised, so a dot product), chunks then fetched by id."""
    import numpy as np

    original = store.query

    def query(embedding: Any, k: int, where: dict[str, Any] | None = None) -> Any:
        if where is not None:
            return original(embedding, k, where=where)
        sims = matrix @ np.asarray(embedding, dtype=np.float32)
        k = min(k, len(ids))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top])]
        chunks = store.get_chunks([ids[i] for i in top])
        by_id = {c.id: c for c in chunks}
        return [(by_id[ids[i]], float(sims[i])) for i in top if ids[i] in by_id]

    return query


def _latency(assistant: Any, questions: list[str], k: int) -> tuple[list[float], list[float]]:
    retrieve_ms, ask_ms = [], []
    for q in questions:
        a = time.perf_counter()
        assistant.retriever.retrieve(q, k)
        b = time.perf_counter()
        assistant.ask(q, k=k)
        c = time.perf_counter()
        retrieve_ms.append((b - a) * 1000)
        ask_ms.append((c - b) * 1000)
    return retrieve_ms, ask_ms


def _qualities(assistant: Any, p: dict[str, Any], tag: str) -> dict[str, Any]:
    from bench.questions import Item

    quality = {}
    for name, raw in p["item_sets"].items():
        items = [Item.from_json(x) for x in raw]
        q = quality[name] = _quality_product(assistant, items, p["article_id"])
        log(
            f"{tag} quality[{name}]: hit@k {q['retrieval_hit_at_k']:.3f} (distinctive "
            f"{q['distinctive']['retrieval_hit_at_k']:.3f}, ambiguous "
            f"{q['ambiguous']['retrieval_hit_at_k']:.3f}), evidence_hit {q['evidence_hit']:.3f}"
        )
    return quality


def product_measure(p: dict[str, Any]) -> dict[str, Any]:
    """Warm latency (retrieve; full answer), per-part timings, quality, HNSW recall, what-ifs
    (retrieval candidates), and a profile of answers."""
    from assistant.extractive import ExtractiveAnswerer
    from assistant.service import Assistant
    from index.embedding import WordLlamaEmbeddingFunction
    from index.lexical import LexicalIndex
    from index.store import VectorStore

    settings = _settings(p["data_dir"])
    k = int(p.get("k") or settings.top_k)
    t0 = time.perf_counter()
    assistant = Assistant.open(settings, sources=[Path(p["corpus"])])
    open_s = time.perf_counter() - t0
    rss_open = peak_rss_mb()
    questions: list[str] = p["questions"]
    for q in questions[:5]:
        assistant.ask(q)
    retrieve_ms, ask_ms = _latency(assistant, questions, k)
    log(f"latency: retrieve p50 {pct(retrieve_ms, 0.5):.1f} ms, ask p50 {pct(ask_ms, 0.5):.1f} ms")
    out: dict[str, Any] = {
        "open_s": round(open_s, 3),
        "index_was_current": not assistant.sync_report.touched,
        "questions": len(questions),
        "k": k,
        "candidates": assistant.retriever.candidates,
        "rrf_k": _rrf_k(),
        "retrieve_ms": _lat(retrieve_ms),
        "ask_ms": _lat(ask_ms),
        "rss_after_open_mb": round(rss_open, 1),
    }
    if not p.get("light"):
        timers = Timers()
        timers.patch(WordLlamaEmbeddingFunction, "embed", "embed")
        timers.patch(VectorStore, "query", "chroma_query")
        timers.patch(VectorStore, "get_chunks", "chroma_get_chunks")
        timers.patch(LexicalIndex, "search", "bm25_search")
        timers.patch(ExtractiveAnswerer, "answer", "extractive_answer")
        for q in questions:
            assistant.ask(q, k=k)
        timers.restore()
        out["parts_per_ask"] = timers.summary()
    out["quality"] = _qualities(assistant, p, "product")
    out["hnsw"], matrix, ids = _hnsw_recall(assistant, questions)
    log(f"hnsw: {json.dumps(out['hnsw'])}")
    import assistant.retrieval as retrieval

    whatif = []
    default_cand, default_rrf = assistant.retriever.candidates, retrieval.RRF_K
    for cfg in p.get("whatif") or []:
        assistant.retriever.candidates = int(cfg.get("candidates", default_cand))
        retrieval.RRF_K = int(cfg.get("rrf_k", default_rrf))
        if cfg.get("exact_dense"):
            assistant.store.query = _exact_dense(assistant.store, matrix, ids)
        tag = f"candidates={assistant.retriever.candidates} rrf_k={retrieval.RRF_K}"
        tag += " exact dense" if cfg.get("exact_dense") else ""
        r_ms, a_ms = _latency(assistant, questions, k)
        whatif.append(
            {
                "candidates": assistant.retriever.candidates,
                "rrf_k": retrieval.RRF_K,
                "exact_dense": bool(cfg.get("exact_dense")),
                "retrieve_ms": _lat(r_ms),
                "ask_ms": _lat(a_ms),
                "quality": _qualities(assistant, p, tag),
            }
        )
        vars(assistant.store).pop("query", None)
    assistant.retriever.candidates, retrieval.RRF_K = default_cand, default_rrf
    out["whatif"] = whatif
    if p.get("profile"):
        run_profiled(lambda: [assistant.ask(q, k=k) for q in questions], p["profile"])
    return out


def _rrf_k() -> int:
    import assistant.retrieval as retrieval

    return retrieval.RRF_K


def set_ef(p: dict[str, Any]) -> dict[str, Any]:
    """Change the collection's HNSW ``ef_search`` (it takes effect in the next process)."""
    from assistant.service import store_config
    from index.store import VectorStore

    store = VectorStore(store_config(_settings(p["data_dir"])))
    store.collection.modify(configuration={"hnsw": {"ef_search": int(p["ef_search"])}})
    return {"ef_search": int(p["ef_search"])}


def _r(v: Any) -> Any:
    return round(v, 4) if isinstance(v, float) else v


def _lat(values: list[float]) -> dict[str, float | None]:
    return {
        "p50": _r(pct(values, 0.5)),
        "p95": _r(pct(values, 0.95)),
        "mean": _r(statistics.fmean(values)) if values else None,
        "n": len(values),
    }


def product_cold(p: dict[str, Any]) -> dict[str, Any]:
    """A fresh process: import the product, open the prebuilt index, answer once."""
    t0 = time.perf_counter()
    from assistant.service import Assistant
    from assistant.settings import load_settings

    t1 = time.perf_counter()
    assistant = Assistant.open(
        load_settings(data_dir=Path(p["data_dir"])), sources=[Path(p["corpus"])]
    )
    t2 = time.perf_counter()
    answer = assistant.ask(p["question"])
    t3 = time.perf_counter()
    return {
        "interpreter_to_main_s": round(t0 - T_START, 4),
        "import_s": round(t1 - t0, 3),
        "open_s": round(t2 - t1, 3),
        "ask_s": round(t3 - t2, 3),
        "in_process_s": round(t3 - T_START, 3),
        "index_was_current": not assistant.sync_report.touched,
        "grounded": answer.grounded,
    }


# -- the baseline -----------------------------------------------------------------------------
def baseline_build(p: dict[str, Any]) -> dict[str, Any]:
    from chromadb.api.models.Collection import Collection

    from bench import baseline

    timers = Timers()
    timers.patch(baseline.WordLlamaEmbeddings, "embed_documents", "embedding")
    timers.patch(Collection, "upsert", "chroma_upsert")
    t0 = time.perf_counter()
    store = baseline.create_store(Path(p["data_dir"]))
    docs = baseline.load_documents(Path(p["corpus"]))
    t1 = time.perf_counter()
    chunks = baseline.split(docs)
    t2 = time.perf_counter()
    log(f"baseline: {len(chunks):,} chunks of {baseline.CHUNK_SIZE}/{baseline.CHUNK_OVERLAP}")
    baseline.add(store, chunks)
    t3 = time.perf_counter()
    total = t3 - t0
    return {
        "docs": len(docs),
        "chunks_written": len(chunks),
        "open_s": round(total, 3),
        "chunks_per_s": round(len(chunks) / total, 1),
        "parts": {
            "load_and_create": {"seconds": round(t1 - t0, 4), "calls": 1},
            "splitting": {"seconds": round(t2 - t1, 4), "calls": 1},
            **timers.summary(),
        },
        "bad_offsets": sum(1 for c in chunks[:5000] if int(c.metadata.get("start_index", -1)) < 0),
        "process_s": round(time.perf_counter() - T_START, 3),
    }


def _quality_baseline(store: Any, items: list[Any], article_id: str) -> dict[str, Any]:
    from bench import baseline

    rows = []
    for it in items:
        got = baseline.retrieve(store, it.question)  # the recipe has no use for history
        ranks = [
            r
            for r, (doc, s, e) in enumerate(got, start=1)
            if doc == article_id and _overlaps(s, e, it.spans)
        ]
        rows.append(
            {
                "answerable": it.answerable,
                "distinctive": it.distinctive,
                "hit": bool(ranks),
                "rr": 1.0 / min(ranks) if ranks else 0.0,
                "declined": False,  # it never declines
                "evidence": bool(ranks) and min(ranks) == 1,  # the top-1 chunk is its citation
            }
        )
    return _aggregate(rows)


def baseline_measure(p: dict[str, Any]) -> dict[str, Any]:
    from bench import baseline
    from bench.questions import Item

    t0 = time.perf_counter()
    store = baseline.open_store(Path(p["data_dir"]))
    open_s = time.perf_counter() - t0
    questions: list[str] = p["questions"]
    for q in questions[:5]:
        baseline.retrieve(store, q)
    retrieve_ms, ask_ms = [], []
    for q in questions:
        a = time.perf_counter()
        baseline.retrieve(store, q)
        b = time.perf_counter()
        top = baseline.retrieve(store, q)[:1]  # the "answer": the top-1 chunk, cited whole
        c = time.perf_counter()
        assert top is not None
        retrieve_ms.append((b - a) * 1000)
        ask_ms.append((c - b) * 1000)
    quality = {
        name: _quality_baseline(store, [Item.from_json(x) for x in raw], p["article_id"])
        for name, raw in p["item_sets"].items()
    }
    for name, qv in quality.items():
        log(
            f"baseline quality[{name}]: hit@4 {qv['retrieval_hit_at_k']:.3f}, "
            f"evidence_hit {qv['evidence_hit']:.3f}"
        )
    return {
        "open_s": round(open_s, 3),
        "questions": len(questions),
        "k": baseline.TOP_K,
        "retrieve_ms": _lat(retrieve_ms),
        "ask_ms": _lat(ask_ms),
        "quality": quality,
        "rss_after_open_mb": round(peak_rss_mb(), 1),
    }


def baseline_cold(p: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    from bench import baseline

    t1 = time.perf_counter()
    store = baseline.open_store(Path(p["data_dir"]))
    t2 = time.perf_counter()
    baseline.retrieve(store, p["question"])
    t3 = time.perf_counter()
    return {
        "interpreter_to_main_s": round(t0 - T_START, 4),
        "import_s": round(t1 - t0, 3),
        "open_s": round(t2 - t1, 3),
        "ask_s": round(t3 - t2, 3),
        "in_process_s": round(t3 - T_START, 3),
    }


# -- Chroma: what an add costs, by what is stored -----------------------------------------------
def chroma_sweep(p: dict[str, Any]) -> dict[str, Any]:
    """Add the same precomputed embeddings under several collection set-ups: what Chroma spends
    on the vectors (HNSW), the metadata and the documents (SQLite, full-text index)."""
    import shutil
    import tempfile

    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from bench.corpus import read_jsonl
    from index.chunking import chunk_document
    from index.embedding import WordLlamaEmbeddingFunction
    from index.store import ADD_BATCH

    limit = int(p["chunks"])
    chunks = []
    for d in read_jsonl(Path(p["corpus"])):
        chunks.extend(chunk_document(d))
        if len(chunks) >= limit:
            break
    chunks = chunks[:limit]
    fn = WordLlamaEmbeddingFunction()
    t = time.perf_counter()
    vectors = fn.embed([c.text for c in chunks])
    embed_s = time.perf_counter() - t
    product_meta = {
        "hnsw:space": "cosine",
        "hnsw:construction_ef": 100,
        "hnsw:M": 16,
        "hnsw:search_ef": 64,
        "hnsw:batch_size": 1000,
        "hnsw:sync_threshold": 5000,
    }

    def full(c: Any) -> dict[str, Any]:
        return {
            "doc_id": c.doc_id,
            "start": c.start,
            "end": c.end,
            "title": "x" * 70,  # the product stores the title (~70 chars) and doc hash (64)
            "doc_hash": "0" * 64,
        }

    def small(c: Any) -> dict[str, Any]:
        return {"doc_id": c.doc_id, "start": c.start, "end": c.end}

    def doc(c: Any) -> dict[str, Any]:
        return {"doc_id": c.doc_id}

    def with_text(c: Any) -> dict[str, Any]:
        return {**small(c), "text": c.text}

    variants = [
        ("product: documents + 5 metadata keys, batch 2000", product_meta, ADD_BATCH, True, full),
        ("same, batch 5000", product_meta, 5000, True, full),
        ("same, Chroma's default HNSW settings", {"hnsw:space": "cosine"}, ADD_BATCH, True, full),
        ("documents + 3 metadata keys (no title/hash)", product_meta, ADD_BATCH, True, small),
        ("no documents; text as a metadata key", product_meta, ADD_BATCH, False, with_text),
        ("no documents; 3 metadata keys", product_meta, ADD_BATCH, False, small),
        ("no documents; doc_id only (offsets are in the id)", product_meta, ADD_BATCH, False, doc),
        ("vectors only (no documents, no metadata)", product_meta, ADD_BATCH, False, None),
    ]
    rows = []
    for label, meta, batch, docs, metaf in variants:
        folder = tempfile.mkdtemp(prefix="bench-chroma-", dir=p.get("tmp"))
        try:
            client = chromadb.PersistentClient(
                path=folder, settings=ChromaSettings(anonymized_telemetry=False)
            )
            col = client.create_collection("sweep", embedding_function=fn, metadata=meta)
            t = time.perf_counter()
            for i in range(0, len(chunks), batch):
                part = chunks[i : i + batch]
                col.add(
                    ids=[c.id for c in part],
                    embeddings=vectors[i : i + batch],
                    documents=[c.text for c in part] if docs else None,
                    metadatas=[metaf(c) for c in part] if metaf else None,
                )
            add_s = time.perf_counter() - t
            q = vectors[: min(100, len(chunks))]
            t = time.perf_counter()
            for v in q:
                col.query(
                    query_embeddings=[v.tolist()], n_results=30, include=["metadatas", "distances"]
                )
            query_ms = (time.perf_counter() - t) / len(q) * 1000
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        rows.append(
            {
                "variant": label,
                "add_s": round(add_s, 3),
                "chunks_per_s": round(len(chunks) / add_s, 1),
                "query_top30_ms": round(query_ms, 3),
            }
        )
        log(f"chroma sweep: {label}: {len(chunks) / add_s:,.0f} chunks/s")
    return {
        "chunks": len(chunks),
        "embed_s": round(embed_s, 3),
        "embed_chunks_per_s": round(len(chunks) / embed_s, 1),
        "variants": rows,
    }


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "product_build": product_build,
    "product_measure": product_measure,
    "product_cold": product_cold,
    "set_ef": set_ef,
    "baseline_build": baseline_build,
    "baseline_measure": baseline_measure,
    "baseline_cold": baseline_cold,
    "chroma_sweep": chroma_sweep,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    task, params, out = argv
    result = TASKS[task](json.loads(Path(params).read_text(encoding="utf-8")))
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    Path(out).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
