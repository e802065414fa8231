"""The product under measurement: cold build, warm latency and quality, what-ifs, cold start.

Every task takes the parameters the runner wrote (a JSON object) and returns one JSON object.
The product is measured as shipped: its parts report their own timings (``Assistant.timings``
for opening, ``Answer.timings`` per question), Chroma's own methods are timed from outside
(``Timers``), and the what-ifs change a setting on a live instance, never its code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.measure import (
    T_START,
    ColdStart,
    Timers,
    latency_summary,
    log,
    pct,
    peak_rss_mb,
    progress_logger,
    rss_now_mb,
    run_profiled,
)
from bench.quality import aggregate, overlaps, row


def _settings(data_dir: str) -> Any:
    from assistant.settings import load_settings

    return load_settings(data_dir=Path(data_dir))


# -- build ------------------------------------------------------------------------------------
def build(p: dict[str, Any]) -> dict[str, Any]:
    """Open (build or refresh) the index for a corpus, timing each part of the work."""
    from chromadb.api.models.Collection import Collection
    from chromadb.api.models.CollectionCommon import CollectionCommon

    import assistant.service as service

    timers = Timers()  # Chroma's internals; the product's parts come from assistant.timings
    timers.patch(Collection, "add", "chroma_add", rss=True)
    timers.patch(CollectionCommon, "_validate_and_prepare_add_request", "chroma_add_validation")
    timers.patch(Collection, "delete", "chroma_delete")
    settings = _settings(p["data_dir"])
    rss: dict[str, float] = {"before open": round(rss_now_mb(), 1)}
    t0 = time.perf_counter()
    assistant = run_profiled(
        lambda: service.Assistant.open(
            settings, sources=[Path(p["corpus"])], progress=progress_logger(rss)
        ),
        p.get("profile"),
    )
    rss["after open"] = round(rss_now_mb(), 1)
    open_s = time.perf_counter() - t0
    timers.restore()
    # what `assistant index PATH` does after building, so `assistant ask` answers from this corpus
    service.remember_sources(settings, [Path(p["corpus"])])
    r = assistant.sync_report
    for label in ("load_sources", "chunking", "embedding", "lexical_build", "lexical_save"):
        if label in assistant.timings:
            timers.record(label, assistant.timings[label])
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
        "rss_mb_by_stage": rss,
    }


# -- warm measurements ------------------------------------------------------------------------
def _quality(assistant: Any, items: list[Any], article_id: str) -> dict[str, Any]:
    """Ask every question (with its history) and score passages and citations."""
    from assistant.types import Turn

    rows = []
    for it in items:
        ans = assistant.ask(it.question, [Turn(**h) for h in it.history])
        ranks = [
            p.rank
            for p in ans.passages
            if p.doc_id == article_id and overlaps(p.start, p.end, it.spans)
        ]
        evidence = ans.grounded and any(
            c.doc_id == article_id and overlaps(c.start, c.end, it.spans) for c in ans.citations
        )
        rows.append(row(it, ranks, declined=not ans.grounded, evidence=evidence))
    return aggregate(rows)


def _qualities(assistant: Any, p: dict[str, Any], tag: str) -> dict[str, Any]:
    from bench.questions import Item

    quality = {}
    for name, raw in p["item_sets"].items():
        items = [Item.from_json(x) for x in raw]
        q = quality[name] = _quality(assistant, items, p["article_id"])
        log(
            f"{tag} quality[{name}]: hit@k {q['retrieval_hit_at_k']:.3f} (distinctive "
            f"{q['distinctive']['retrieval_hit_at_k']:.3f}, ambiguous "
            f"{q['ambiguous']['retrieval_hit_at_k']:.3f}), evidence_hit {q['evidence_hit']:.3f}"
        )
    return quality


def _latency(assistant: Any, questions: list[str], k: int) -> dict[str, Any]:
    """Retrieval alone and the full extractive answer, each question once, warm."""
    retrieve_ms, ask_ms = [], []
    for q in questions:
        a = time.perf_counter()
        assistant.retriever.retrieve(q, k)
        b = time.perf_counter()
        assistant.ask(q, k=k)
        c = time.perf_counter()
        retrieve_ms.append((b - a) * 1000)
        ask_ms.append((c - b) * 1000)
    return {"retrieve_ms": latency_summary(retrieve_ms), "ask_ms": latency_summary(ask_ms)}


# Answer.timings keys (milliseconds) -> the part names the report has always used
ASK_PARTS = {
    "embed_ms": "embed",
    "dense_ms": "chroma_query",
    "lexical_ms": "bm25_search",
    "fuse_ms": "fuse",
    "answer_ms": "extractive_answer",
}


def _parts_per_ask(assistant: Any, questions: list[str], k: int) -> dict[str, Any]:
    """Time per call of each part of an answer, over every question, as the answers report."""
    timers = Timers()
    for q in questions:
        timings = assistant.ask(q, k=k).timings
        for key, label in ASK_PARTS.items():
            if key in timings:
                timers.record(label, timings[key] / 1000)
    return timers.summary()


def _hnsw_recall(
    assistant: Any, questions: list[str], n: int = 30
) -> tuple[dict[str, Any], Any, list[str]]:
    """Share of the exact top-``n`` (brute force over every stored vector) that the HNSW
    query returns, and what the brute force costs; also the vectors, for ``_exact_dense``."""
    import numpy as np

    col = assistant.index.store.collection
    ids: list[str] = []
    blocks = []
    while True:
        got = col.get(include=["embeddings"], limit=20_000, offset=len(ids))
        if not got["ids"]:
            break
        ids.extend(got["ids"])
        blocks.append(np.asarray(got["embeddings"], dtype=np.float32))
    matrix = np.vstack(blocks)
    qvecs = assistant.index.embedding_function.embed(questions)
    recalls, exact_ms = [], []
    for q in qvecs:
        t = time.perf_counter()
        sims = matrix @ q
        top = np.argpartition(-sims, min(n, len(ids) - 1))[:n]
        exact_ms.append((time.perf_counter() - t) * 1000)
        exact = {ids[i] for i in top}
        got_ids = {cid for cid, _ in assistant.index.store.query(q, n)}
        recalls.append(len(got_ids & exact) / len(exact))
    config = getattr(col, "configuration_json", None) or {}
    stats = {
        "recall_at_30": round(float(np.mean(recalls)), 4),
        "exact_numpy_ms_p50": round(pct(exact_ms, 0.5) or 0.0, 3),
        "vectors": len(ids),
        "ef_search": (config.get("hnsw") or {}).get("ef_search"),
    }
    return stats, matrix, ids


def _exact_dense(store: Any, matrix: Any, ids: list[str]) -> Callable[..., Any]:
    """A stand-in for ``VectorStore.query``: exact cosine top-k by numpy over every vector
    (normalised, so a dot product), as (chunk id, similarity) best first."""
    import numpy as np

    original = store.query
    masks: dict[str, Any] = {}

    def query(
        embedding: Any, k: int, where: dict[str, Any] | None = None, known: Any = None
    ) -> Any:
        if where is not None:
            return original(embedding, k, where=where, known=known)
        sims = matrix @ np.asarray(embedding, dtype=np.float32)
        if known is not None:  # only the searching index's own chunks, as the store does
            if masks.get("of") is not known:  # the same set every call: its mask, once
                masks.update(of=known, mask=np.array([i in known for i in ids]))
            sims = np.where(masks["mask"], sims, -np.inf)
        k = min(k, len(ids))
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top])]
        return [(ids[i], float(sims[i])) for i in top]

    return query


def _whatifs(
    assistant: Any, p: dict[str, Any], k: int, matrix: Any, ids: list[str]
) -> list[dict[str, Any]]:
    """Latency and quality with other retrieval settings (candidates, RRF k, exact dense
    search), each set on the live instance and put back afterwards."""
    import assistant.retrieval as retrieval

    out = []
    default_cand, default_rrf = assistant.retriever.candidates, retrieval.RRF_K
    for cfg in p.get("whatif") or []:
        assistant.retriever.candidates = int(cfg.get("candidates", default_cand))
        retrieval.RRF_K = int(cfg.get("rrf_k", default_rrf))
        if cfg.get("exact_dense"):
            assistant.index.store.query = _exact_dense(assistant.index.store, matrix, ids)
        tag = f"candidates={assistant.retriever.candidates} rrf_k={retrieval.RRF_K}"
        tag += " exact dense" if cfg.get("exact_dense") else ""
        out.append(
            {
                "candidates": assistant.retriever.candidates,
                "rrf_k": retrieval.RRF_K,
                "exact_dense": bool(cfg.get("exact_dense")),
                **_latency(assistant, p["questions"], k),
                "quality": _qualities(assistant, p, tag),
            }
        )
        vars(assistant.index.store).pop("query", None)
    assistant.retriever.candidates, retrieval.RRF_K = default_cand, default_rrf
    return out


def measure(p: dict[str, Any]) -> dict[str, Any]:
    """Warm latency (retrieve; full answer), per-part timings, quality, HNSW recall, what-ifs
    (retrieval candidates, RRF k, exact search), and a profile of answers."""
    import assistant.retrieval as retrieval
    from assistant.service import Assistant

    settings = _settings(p["data_dir"])
    k = int(p.get("k") or settings.top_k)
    t0 = time.perf_counter()
    assistant = Assistant.open(settings, sources=[Path(p["corpus"])])
    open_s = time.perf_counter() - t0
    rss_open = peak_rss_mb()
    questions: list[str] = p["questions"]
    for q in questions[:5]:
        assistant.ask(q)
    latency = _latency(assistant, questions, k)
    log(
        f"latency: retrieve p50 {latency['retrieve_ms']['p50']:.1f} ms, "
        f"ask p50 {latency['ask_ms']['p50']:.1f} ms"
    )
    out: dict[str, Any] = {
        "open_s": round(open_s, 3),
        "index_was_current": not assistant.sync_report.touched,
        "questions": len(questions),
        "k": k,
        "candidates": assistant.retriever.candidates,
        "rrf_k": retrieval.RRF_K,
        **latency,
        "rss_after_open_mb": round(rss_open, 1),
    }
    if not p.get("light"):
        out["parts_per_ask"] = _parts_per_ask(assistant, questions, k)
    out["quality"] = _qualities(assistant, p, "product")
    out["hnsw"], matrix, ids = _hnsw_recall(assistant, questions)
    log(f"hnsw: {json.dumps(out['hnsw'])}")
    out["whatif"] = _whatifs(assistant, p, k, matrix, ids)
    if p.get("profile"):
        run_profiled(lambda: [assistant.ask(q, k=k) for q in questions], p["profile"])
    return out


def set_ef(p: dict[str, Any]) -> dict[str, Any]:
    """Change the collection's HNSW ``ef_search`` (it takes effect in the next process)."""
    from assistant.service import index_config
    from index.store import VectorStore

    store = VectorStore(index_config(_settings(p["data_dir"])))
    store.collection.modify(configuration={"hnsw": {"ef_search": int(p["ef_search"])}})
    return {"ef_search": int(p["ef_search"])}


# -- cold start -------------------------------------------------------------------------------
def cold(p: dict[str, Any]) -> dict[str, Any]:
    """A fresh process: import the product, open the prebuilt index, answer once."""
    clock = ColdStart()
    from assistant.service import Assistant
    from assistant.settings import load_settings

    clock.lap("import_s")
    settings = load_settings(data_dir=Path(p["data_dir"]))
    assistant = Assistant.open(settings, sources=[Path(p["corpus"])])
    clock.lap("open_s")
    answer = assistant.ask(p["question"])
    clock.lap("ask_s")
    return {
        **clock.summary(),
        "index_was_current": not assistant.sync_report.touched,
        "grounded": answer.grounded,
    }
