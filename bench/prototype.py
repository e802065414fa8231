"""What a leaner build path would give, measured: ``python -m bench.prototype [--articles N]``.

Not product code and not used by it: a prototype of the build changes suggested by the
benchmarks, on the same corpus and the same product pieces (loader, chunker, embedding function,
Chroma settings, ``LexicalIndex``):
- no chunk text in Chroma (``documents=None``): the service holds every document in memory,
  and a chunk is ``document.text[start:end]``;
- three metadata keys (doc_id, start, end): title and doc hash are already in the manifest;
- BM25 built from the chunks in memory, not read back from Chroma;
- embedding of the next batch overlapped with ``collection.add`` of the current one (a thread).
Writes ``bench/results/prototype.json`` and ``prototype.md``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
BATCH = 2000


def say(msg: str) -> None:
    print(f"[prototype] {msg}", file=sys.stderr, flush=True)


def _fast_tokens() -> Any:
    """``index.text.tokens`` with the suffix pattern compiled once and applied only to words
    with an apostrophe (same output; checked below)."""
    from index.text import _WORD, STOPWORDS, _stemmer

    suffix = re.compile(r"[’'](s|d|ll|re|ve|t)$")
    stem = _stemmer().stemWord

    def tokens(text: str) -> list[str]:
        out = []
        for w in _WORD.findall(text.lower()):
            if "'" in w or "’" in w:
                w = suffix.sub("", w).replace("’", "'")
            if w not in STOPWORDS and (len(w) > 1 or w.isdigit()):
                out.append(stem(w))
        return out

    return tokens


def run(corpus: Path, work: Path) -> dict[str, Any]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from index.chunking import chunk_document
    from index.embedding import WordLlamaEmbeddingFunction
    from index.lexical import LexicalIndex
    from index.sources import load_sources
    from index.text import tokens

    fn = WordLlamaEmbeddingFunction()
    fn.embed(["warm up"])  # the model load is timed by the benchmarks proper, not here
    t = time.perf_counter()
    docs = load_sources([corpus]).documents
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    chunks = [c for d in docs for c in chunk_document(d)]
    chunk_s = time.perf_counter() - t
    say(f"{len(docs):,} documents, {len(chunks):,} chunks")
    meta = {
        "hnsw:space": "cosine",
        "hnsw:construction_ef": 100,
        "hnsw:M": 16,
        "hnsw:search_ef": 64,
        "hnsw:batch_size": 1000,
        "hnsw:sync_threshold": 5000,
    }

    def three_keys(batch: list[Any]) -> list[dict[str, Any]]:
        return [{"doc_id": c.doc_id, "start": c.start, "end": c.end} for c in batch]

    def doc_id_only(batch: list[Any]) -> list[dict[str, Any]]:
        # start and end are in the chunk id already ("doc:start-end:digest")
        return [{"doc_id": c.doc_id} for c in batch]

    variants = {}
    for name, overlapped, metadatas in (
        ("3 keys, sequential", False, three_keys),
        ("3 keys, overlapped", True, three_keys),
        ("doc_id only, sequential", False, doc_id_only),
    ):
        folder = Path(tempfile.mkdtemp(prefix="proto-", dir=work))
        client = chromadb.PersistentClient(
            path=str(folder), settings=ChromaSettings(anonymized_telemetry=False)
        )
        col = client.create_collection("proto", embedding_function=fn, metadata=meta)
        batches = [chunks[i : i + BATCH] for i in range(0, len(chunks), BATCH)]
        embed_s = add_s = 0.0
        t0 = time.perf_counter()

        def embed(batch: list[Any]) -> tuple[Any, float]:
            a = time.perf_counter()
            vectors = fn.embed([c.text for c in batch])
            return vectors, time.perf_counter() - a

        if overlapped:
            with ThreadPoolExecutor(max_workers=1) as pool:
                pending = pool.submit(embed, batches[0])
                for i, batch in enumerate(batches):
                    vectors, dt = pending.result()
                    embed_s += dt
                    if i + 1 < len(batches):
                        pending = pool.submit(embed, batches[i + 1])
                    a = time.perf_counter()
                    col.add(
                        ids=[c.id for c in batch], embeddings=vectors, metadatas=metadatas(batch)
                    )
                    add_s += time.perf_counter() - a
        else:
            for batch in batches:
                vectors, dt = embed(batch)
                embed_s += dt
                a = time.perf_counter()
                col.add(ids=[c.id for c in batch], embeddings=vectors, metadatas=metadatas(batch))
                add_s += time.perf_counter() - a
        wall = time.perf_counter() - t0
        variants[name] = {
            "wall_s": round(wall, 2),
            "embed_s": round(embed_s, 2),
            "add_s": round(add_s, 2),
            "chunks_per_s": round(len(chunks) / wall, 1),
        }
        say(f"embed + add, {name}: {wall:.1f} s ({len(chunks) / wall:,.0f} chunks/s)")
        del col, client
        shutil.rmtree(folder, ignore_errors=True)

    t = time.perf_counter()
    lex = LexicalIndex.build(chunks)
    bm25_s = time.perf_counter() - t
    t = time.perf_counter()
    lex.save(work / "proto-bm25")
    save_s = time.perf_counter() - t
    sample = [c.text for c in chunks[:20_000]]
    fast = _fast_tokens()
    assert all(fast(x) == tokens(x) for x in sample[:2000])
    t = time.perf_counter()
    for x in sample:
        tokens(x)
    tok_s = (time.perf_counter() - t) * len(chunks) / len(sample)
    t = time.perf_counter()
    for x in sample:
        fast(x)
    fast_s = (time.perf_counter() - t) * len(chunks) / len(sample)
    fixed = load_s + chunk_s + bm25_s + save_s
    for v in variants.values():
        v["end_to_end_s"] = round(fixed + v["wall_s"], 2)
        v["end_to_end_chunks_per_s"] = round(len(chunks) / (fixed + v["wall_s"]), 1)
        v["end_to_end_fast_tokens_s"] = round(fixed + v["wall_s"] - (tok_s - fast_s), 2)
        v["end_to_end_fast_tokens_chunks_per_s"] = round(
            len(chunks) / (fixed + v["wall_s"] - (tok_s - fast_s)), 1
        )
    say(
        f"BM25 from memory {bm25_s:.1f} s "
        f"(tokenising ~{tok_s:.1f} s, faster tokens ~{fast_s:.1f} s)"
    )
    return {
        "documents": len(docs),
        "chunks": len(chunks),
        "load_s": round(load_s, 2),
        "chunking_s": round(chunk_s, 2),
        "embed_add": variants,
        "bm25_build_from_memory_s": round(bm25_s, 2),
        "bm25_save_s": round(save_s, 2),
        "tokenise_all_s": round(tok_s, 2),
        "tokenise_all_fast_s": round(fast_s, 2),
    }


def render(r: dict[str, Any]) -> str:
    lines = [
        f"# Prototype build path: {r['documents']:,} articles, {r['chunks']:,} chunks",
        "",
        f"Fixed part: load sources {r['load_s']:.2f} s, chunking {r['chunking_s']:.2f} s, BM25 "
        f"from the chunks in memory {r['bm25_build_from_memory_s']:.2f} s (of which tokenising "
        f"~{r['tokenise_all_s']:.2f} s; {r['tokenise_all_fast_s']:.2f} s with the suffix regex "
        f"compiled and skipped), BM25 save {r['bm25_save_s']:.2f} s.",
        "",
        "| embed + add variant (no documents in Chroma) | embed s | add s | wall s "
        "| end to end s | chunks/s | end to end, faster tokens s | chunks/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, v in r["embed_add"].items():
        lines.append(
            f"| {name} | {v['embed_s']:.2f} | {v['add_s']:.2f} | {v['wall_s']:.2f} "
            f"| {v['end_to_end_s']:.2f} | {v['end_to_end_chunks_per_s']:,.0f} "
            f"| {v['end_to_end_fast_tokens_s']:.2f} "
            f"| {v['end_to_end_fast_tokens_chunks_per_s']:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from bench import corpus as corpus_mod

    ap = argparse.ArgumentParser(prog="python -m bench.prototype", description=__doc__)
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--corpus", type=Path, help="an existing corpus JSONL instead")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="article-proto-"))
    try:
        path = args.corpus
        if path is None:
            path = work / "corpus.jsonl"
            corpus_mod.write_corpus(path, args.articles)
        result = run(path, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "prototype.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    table = render(result)
    (args.out / "prototype.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
