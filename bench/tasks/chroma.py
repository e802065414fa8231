"""What Chroma's ``collection.add`` costs, by what is stored alongside the vectors.

The same precomputed embeddings are added under several collection set-ups, so the difference
is Chroma's alone: HNSW for the vectors, SQLite for metadata and documents (and its full-text
index). This is the measurement behind the product storing only the document id per chunk.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.measure import log


def sweep(p: dict[str, Any]) -> dict[str, Any]:
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
