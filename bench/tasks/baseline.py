"""The plain baseline (``bench.baseline``) measured like the product: build, warm, cold."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.measure import T_START, ColdStart, Timers, latency_summary, log, peak_rss_mb
from bench.quality import aggregate, overlaps, row


def build(p: dict[str, Any]) -> dict[str, Any]:
    """Load, split, embed and add the corpus the way LangChain's default recipe does."""
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


def _quality(store: Any, items: list[Any], article_id: str) -> dict[str, Any]:
    """Its "answer" is the top-1 chunk, cited whole; it never declines."""
    from bench import baseline

    rows = []
    for it in items:
        got = baseline.retrieve(store, it.question)  # the recipe has no use for history
        ranks = [
            r
            for r, (doc, s, e) in enumerate(got, start=1)
            if doc == article_id and overlaps(s, e, it.spans)
        ]
        rows.append(row(it, ranks, declined=False, evidence=bool(ranks) and min(ranks) == 1))
    return aggregate(rows)


def measure(p: dict[str, Any]) -> dict[str, Any]:
    """Warm latency and quality over the same questions as the product."""
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
        name: _quality(store, [Item.from_json(x) for x in raw], p["article_id"])
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
        "retrieve_ms": latency_summary(retrieve_ms),
        "ask_ms": latency_summary(ask_ms),
        "quality": quality,
        "rss_after_open_mb": round(peak_rss_mb(), 1),
    }


def cold(p: dict[str, Any]) -> dict[str, Any]:
    """A fresh process: import the recipe, open its store, retrieve once."""
    clock = ColdStart()
    from bench import baseline

    clock.lap("import_s")
    store = baseline.open_store(Path(p["data_dir"]))
    clock.lap("open_s")
    baseline.retrieve(store, p["question"])
    clock.lap("ask_s")
    return clock.summary()
