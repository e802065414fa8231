"""The benchmark results as Markdown: one function per section, each a small table.

``render(result)`` reads only the result object (``bench/results/latest.json``), so a saved run
can be rendered again after the report changes. ``targets(result)`` judges the run against the
product's speed targets; the judgement is stored with the results.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

TARGETS = {
    "build_chunks_per_s": 3000.0,
    "retrieve_p50_ms": 10.0,
    # with the learned reader: warm answer p50 ≤ 40 ms on one article, ≤ 60 ms at 10,000
    "answer_p50_ms_one": 40.0,
    "answer_p50_ms": 60.0,
    "cold_ask_s": 1.5,
    "hit_at_k_drop_points": 3.0,
}
Lines = list[str]


# -- cells and tables -------------------------------------------------------------------------
def num(v: Any, digits: int = 1) -> str:
    """A number for a cell: thousands separated from 1,000 on, "–" when there is none."""
    if v is None:
        return "–"
    if isinstance(v, int | float) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def ratio(a: Any, b: Any) -> str:
    """``a ÷ b`` as "1.23×", "–" when either is missing or ``b`` is 0."""
    if not isinstance(a, int | float) or not isinstance(b, int | float) or not b:
        return "–"
    return f"{a / b:.2f}×"


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> Lines:
    """A Markdown table; ``align`` has one letter per column, ``l`` left, anything else right
    (numbers), so columns of figures line up when the Markdown is rendered."""
    align = align.ljust(len(columns), "r")
    rule = ["---" if a == "l" else "---:" for a in align]
    out = ["| " + " | ".join(columns) + " |", "| " + " | ".join(rule) + " |"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def section(title: str, *blocks: str | Lines) -> Lines:
    """``## title`` followed by paragraphs (strings) and tables (lists), a blank line apart."""
    out = [f"## {title}"]
    for block in blocks:
        out += ["", *([block] if isinstance(block, str) else block)]
    return out


def primary_set(result: dict[str, Any]) -> str:
    """The question set the headline numbers use: the first one (the eval set when present)."""
    return next(iter(result["question_sets"]))


# -- sections ---------------------------------------------------------------------------------
def intro(result: dict[str, Any]) -> Lines:
    m, qset = result["machine"], primary_set(result)
    return [
        "# Benchmarks",
        "",
        f"{result['started']} · {m['cpus']} CPUs · Python {m['python']} · chromadb "
        f"{m['chromadb']} · commit {m['commit']} · total {result['total_s'] / 60:.1f} min",
        "",
        f"Quality on question set `{qset}` ({result['question_sets'][qset]['answerable']} "
        "answerable items; evidence must be found in the shipped article, hidden among the "
        f"others); latency over {result['latency_questions']} questions, warm, k="
        f"{result.get('k', 4)}. Cold ask: median of {result['cold_runs']} fresh processes. "
        "Ratios are product ÷ baseline (for times, above 1 means the product is slower).",
    ]


SYSTEMS = (
    ("product", "build", "measure", "cold"),
    ("baseline", "baseline_build", "baseline_measure", "baseline_cold"),
)


def _headline(s: dict[str, Any], keys: tuple[str, str, str], qset: str) -> list[Any]:
    """One system's headline figures at one size, raw (numbers), in column order."""
    b, m, c = (s[k] for k in keys)
    q = m["quality"][qset]
    return [
        b["chunks_written"],
        b["open_s"],
        b["chunks_per_s"],
        b["docs"] / b["open_s"] if b["open_s"] else None,
        b["peak_rss_mb"],
        (m["retrieve_ms"]["p50"], m["retrieve_ms"]["p95"]),
        (m["ask_ms"]["p50"], m["ask_ms"]["p95"]),
        c["wall_s_median"],
        q["retrieval_hit_at_k"],
        q["evidence_hit"],
    ]


def _headline_cells(v: list[Any]) -> list[str]:
    chunks, build, cps, dps, rss, (r50, r95), (a50, a95), cold, hit, ev = v
    return [
        f"{chunks:,}",
        num(build),
        num(cps, 0),
        num(dps, 0),
        num(rss, 0),
        f"{num(r50)} / {num(r95)}",
        f"{num(a50)} / {num(a95)}",
        num(cold, 2),
        f"{hit:.3f}",
        f"{ev:.3f}",
    ]


def _ratio_cells(p: list[Any], b: list[Any]) -> list[str]:
    return [
        " / ".join(ratio(x, y) for x, y in zip(pv, bv, strict=True))
        if isinstance(pv, tuple)
        else ratio(pv, bv)
        for pv, bv in zip(p, b, strict=True)
    ]


def product_vs_baseline(result: dict[str, Any]) -> Lines:
    qset = primary_set(result)
    rows = []
    for s in result["sizes"]:
        got = {name: _headline(s, keys, qset) for name, *keys in SYSTEMS if keys[0] in s}
        n = f"{s['articles']:,}"
        rows += [[n, name, *_headline_cells(v)] for name, v in got.items()]
        if len(got) == 2:
            rows.append([n, "product ÷ baseline", *_ratio_cells(got["product"], got["baseline"])])
    columns = [
        "articles",
        "system",
        "chunks",
        "build s",
        "chunks/s",
        "articles/s",
        "peak RSS MB",
        "retrieve p50 / p95 ms",
        "answer p50 / p95 ms",
        "cold ask s",
        "hit@k",
        "evidence_hit",
    ]
    return section("Product vs baseline", table(columns, rows, "rl"))


def quality_by_set(result: dict[str, Any]) -> Lines:
    rows = []
    for s in result["sizes"]:
        for name, q in s["measure"]["quality"].items():
            bq = s.get("baseline_measure", {}).get("quality", {}).get(name, {})
            d, a = q["distinctive"], q["ambiguous"]
            rows.append(
                [
                    f"{s['articles']:,}",
                    name,
                    f"{q['answerable']} ({d['answerable']})",
                    f"{q['retrieval_hit_at_k']:.3f}",
                    f"{d['retrieval_hit_at_k']:.3f}",
                    num(a["retrieval_hit_at_k"] if a["answerable"] else None, 3),
                    f"{q['mrr']:.3f}",
                    f"{q['evidence_hit']:.3f}",
                    f"{q['false_refusal_rate']:.3f}",
                    num(q["refusal_recall"], 3),
                    num(bq.get("retrieval_hit_at_k"), 3),
                    num(bq.get("distinctive", {}).get("retrieval_hit_at_k"), 3),
                    num(bq.get("evidence_hit"), 3),
                ]
            )
    columns = [
        "articles",
        "set",
        "answerable (distinctive)",
        "hit@k",
        "hit@k distinctive",
        "hit@k ambiguous",
        "MRR",
        "evidence_hit",
        "false refusals",
        "refusal recall",
        "baseline hit@4",
        "baseline hit@4 distinctive",
        "baseline evidence_hit",
    ]
    return section(
        "Quality by question set",
        "`distinctive`: answerable questions that share with their evidence chunk a term only "
        'the shipped article holds in that corpus ("Stoltenberg", "Brussels", "2008"); '
        "the others are ambiguous among its near-twins at chunk level (the question names "
        'Stoltenberg, the chunk only says "he said"), which only document context can fix. '
        "Baseline: hit@4 of the 1000/200 chunks; its evidence_hit is the top-1 chunk "
        "overlapping the evidence (it never declines).",
        table(columns, rows, "rl"),
    )


def _whatif_row(s: dict[str, Any], m: dict[str, Any], w: dict[str, Any], qset: str) -> list[str]:
    q = w["quality"][qset]
    g = w["quality"].get("generated", {})
    exact = w.get("exact_dense")
    return [
        f"{s['articles']:,}",
        "exact (numpy)" if exact else f"HNSW ef {m['hnsw']['ef_search']}",
        w["candidates"],
        w["rrf_k"],
        "1 (exact)" if exact else num(m["hnsw"]["recall_at_30"], 3),
        f"{m['hnsw']['exact_numpy_ms_p50']:.2f}",
        f"{q['retrieval_hit_at_k']:.3f}",
        f"{q['distinctive']['retrieval_hit_at_k']:.3f}",
        f"{q['evidence_hit']:.3f}",
        num(g.get("retrieval_hit_at_k"), 3),
        f"{w['retrieve_ms']['p50']:.1f}",
        f"{w['ask_ms']['p50']:.1f}",
    ]


def whatif(result: dict[str, Any]) -> Lines:
    sizes = [s for s in result["sizes"] if s["measure"].get("whatif") or "measure_ef" in s]
    if not sizes:
        return []
    qset = primary_set(result)
    rows = [
        _whatif_row(s, m, w, qset)
        for s in sizes
        for m in (s["measure"], s.get("measure_ef"))
        if m
        for w in [m, *m["whatif"]]
    ]
    d = sizes[0]["measure"]
    columns = [
        "articles",
        "dense search",
        "candidates",
        "RRF k",
        "HNSW recall@30 vs exact",
        "exact numpy top-30 ms",
        "hit@k",
        "hit@k distinctive",
        "evidence_hit",
        "hit@k (generated)",
        "retrieve p50 ms",
        "answer p50 ms",
    ]
    return section(
        f"What if: HNSW `ef_search`, retrieval candidates, RRF k (product, set `{qset}`; "
        f"defaults: ef_search {d['hnsw']['ef_search']}, candidates {d['candidates']}, "
        f"RRF k {d['rrf_k']})",
        table(columns, rows),
    )


BUILD_PARTS = {
    "load_sources": "load sources",
    "chunking": "chunking",
    "embedding": "embedding",
    "chroma_add": "chroma add (of which Python validation)",
    "lexical_build": "BM25 build",
    "lexical_save": "BM25 save",
}


def _seconds(build: dict[str, Any], part: str) -> float:
    return build["parts"].get(part, {}).get("seconds", 0.0)


def _per_second(build: dict[str, Any], part: str) -> float | None:
    sec = build["parts"].get(part, {}).get("seconds")
    return build["chunks_written"] / sec if sec else None


def _build_row(s: dict[str, Any]) -> list[str]:
    b = s["build"]
    parts = {k: _seconds(b, k) for k in BUILD_PARTS}
    cells = [f"{v:.2f}" for v in parts.values()]
    cells[3] += f" ({_seconds(b, 'chroma_add_validation'):.2f})"
    other = b["open_s"] - sum(parts.values())
    return [f"{s['articles']:,}", f"{b['open_s']:.2f}", *cells, f"{other:.2f}"]


def build_parts(result: dict[str, Any]) -> Lines:
    sizes = result["sizes"]
    throughput = "; ".join(
        f"{s['articles']:,} articles: embedding {num(_per_second(s['build'], 'embedding'), 0)}, "
        f"chroma add {num(_per_second(s['build'], 'chroma_add'), 0)}, embedding + add "
        f"{num(s['build']['chunks_per_s_embed_add'], 0)}"
        for s in sizes
    )
    largest = max(sizes, key=lambda s: s["articles"])
    big = largest["build"]
    stages = big.get("rss_mb_by_stage", {})
    added = big["parts"].get("chroma_add", {}).get("rss_after_mb")
    memory = [
        f"after the last embedding batch {num(stages.get('embedding end'), 0)}",
        f"after the last collection.add {num(added, 0)}",
        f"after building BM25 {num(stages.get('lexical end'), 0)}",
    ]
    memory.append(f"at the end of open {num(big.get('rss_mb_by_stage', {}).get('after open'), 0)}")
    columns = ["articles", "total", *BUILD_PARTS.values(), "other"]
    return section(
        "Where a cold build spends its time (product, seconds)",
        table(columns, [_build_row(s) for s in sizes]),
        f"Throughput of the parts alone (chunks/s): {throughput}.",
        f"Memory of the {largest['articles']:,}-article build (RSS, MiB): {'; '.join(memory)}; "
        f"peak {num(big['peak_rss_mb'], 0)}.",
    )


def incremental(result: dict[str, Any]) -> Lines:
    rows = []
    for s in result["sizes"]:
        if "incremental" not in s:
            continue
        i = s["incremental"]
        embed_add = _seconds(i, "embedding") + _seconds(i, "chroma_add")
        lexical = _seconds(i, "lexical_build") + _seconds(i, "lexical_save")
        rows.append(
            [
                f"{s['articles']:,}",
                i["changed"],
                f"{i['chunks_written']:,}",
                f"{i['sync_s']:.2f}",
                f"{_seconds(i, 'chroma_delete'):.2f}",
                num(i["chunks_per_s_sync"], 0),
                f"{embed_add:.2f}",
                f"{lexical:.2f}",
                f"{i['open_s']:.2f}",
                ratio(i["open_s"], s["build"]["open_s"]),
            ]
        )
    if not rows:
        return []
    columns = [
        "articles",
        "rewritten",
        "chunks re-embedded",
        "sync s",
        "of which delete s",
        "changed chunks/s (sync)",
        "embed (incl. model load) + add s",
        "BM25 rebuild (build + save) s",
        "total open s",
        "vs cold build",
    ]
    return section(
        "Incremental refresh (1% of the articles rewritten, same data folder)",
        table(columns, rows),
    )


ASK_PARTS = {
    "embed": "embed",
    "chroma_query": "chroma query",
    "bm25_search": "BM25 search",
    "fuse": "fuse and fetch chunks",
    "extractive_answer": "extractive answer",
}


def per_ask(result: dict[str, Any]) -> Lines:
    rows = []
    for s in result["sizes"]:
        m = s["measure"]
        parts = m.get("parts_per_ask", {})
        rows.append(
            [
                f"{s['articles']:,}",
                f"{m['open_s']:.2f}",
                f"{m['rss_after_open_mb']:.0f}",
                *(num(parts.get(k, {}).get("p50_ms"), 2) for k in ASK_PARTS),
                num(m["ask_ms"]["p50"], 2),
            ]
        )
    columns = ["articles", "open s (warm)", "RSS after open MB", *ASK_PARTS.values(), "ask p50"]
    return section("Per-ask time by part (product, warm, p50 ms per call)", table(columns, rows))


def cold_start(result: dict[str, Any]) -> Lines:
    rows = []
    for s in result["sizes"]:
        n = f"{s['articles']:,}"
        for system, key in (("product", "cold"), ("baseline", "baseline_cold")):
            if key in s:
                c, mr = s[key], s[key]["median_run"]
                rows.append(
                    [
                        n,
                        system,
                        f"{c['wall_s_median']:.2f}",
                        f"{c['wall_s_min']:.2f}",
                        f"{mr['import_s']:.2f}",
                        f"{mr['open_s']:.2f}",
                        f"{mr['ask_s']:.3f}",
                    ]
                )
        if "cli_cold" in s:
            walls = [c["wall_s"] for c in s["cli_cold"]]
            reused = "yes" if all(c["index_reused"] for c in s["cli_cold"]) else "NO"
            rows.append(
                [
                    n,
                    "`assistant ask` (CLI)",
                    f"{statistics.median(walls):.2f}",
                    f"{min(walls):.2f}",
                    "–",
                    "–",
                    f"– (index reused: {reused})",
                ]
            )
    columns = ["articles", "system", "wall s (median)", "min", "import s", "open s", "ask s"]
    return section("Cold start (a new process answers one question)", table(columns, rows, "rl"))


def chroma_sweep(result: dict[str, Any]) -> Lines:
    sw = result.get("chroma_sweep")
    if not sw:
        return []
    rows = [
        [
            v["variant"],
            f"{v['add_s']:.2f}",
            f"{v['chunks_per_s']:,.0f}",
            f"{v['query_top30_ms']:.2f}",
        ]
        for v in sw["variants"]
    ]
    return section(
        f"Chroma `collection.add`: what the cost depends on ({sw['chunks']:,} chunks of the "
        f"{sw['articles']:,}-article corpus, precomputed embeddings; WordLlama embeds them at "
        f"{sw['embed_chunks_per_s']:,.0f} chunks/s)",
        table(["variant", "add s", "chunks/s", "query top-30 ms"], rows, "l"),
    )


def targets_table(result: dict[str, Any]) -> Lines:
    rows = [[t["target"], t["measured"], t["at"], t["status"]] for t in result["targets"]]
    return section("Targets (2 cores)", table(["target", "measured", "at", "status"], rows, "lrll"))


SECTIONS = (
    product_vs_baseline,
    quality_by_set,
    whatif,
    build_parts,
    incremental,
    per_ask,
    cold_start,
    chroma_sweep,
    targets_table,
)


def render(result: dict[str, Any]) -> str:
    """The whole report: the intro, then every section that has data, a blank line apart."""
    lines = intro(result)
    for make in SECTIONS:
        part = make(result)
        if part:
            lines += ["", *part]
    return "\n".join(lines) + "\n"


# -- targets ----------------------------------------------------------------------------------
def _status(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _cold_ask(big: dict[str, Any]) -> tuple[float, str]:
    """The real command's cold start when it ran and reused the index, else the script's."""
    cold = big["cold"]["wall_s_median"]
    cli = big.get("cli_cold")
    if cli and all(c["exit"] == 0 and c["index_reused"] for c in cli):
        median = statistics.median(c["wall_s"] for c in cli)
        return median, f"`assistant ask`, median of {len(cli)}; the same in a script: {cold:.2f} s"
    return cold, "script: import, open prebuilt index, answer"


def targets(result: dict[str, Any]) -> list[dict[str, str]]:
    """Each speed target, measured at the largest size, met or not."""
    sizes = result["sizes"]
    big = max(sizes, key=lambda s: s["articles"])
    one = next((s for s in sizes if s["articles"] == 1), None)
    at = f"{big['articles']:,} articles ({big['build']['chunks_written']:,} chunks)"
    if big["build"]["chunks_written"] < 90_000:
        at += " — below the 100,000-chunk scale of the target"
    cps = big["build"]["chunks_per_s"]
    r50 = big["measure"]["retrieve_ms"]["p50"]
    a50 = big["measure"]["ask_ms"]["p50"]
    cold, how = _cold_ask(big)
    found = [
        (
            f"index build ≥ {TARGETS['build_chunks_per_s']:,.0f} chunks/s end to end",
            f"{cps:,.0f} chunks/s",
            cps >= TARGETS["build_chunks_per_s"],
        ),
        (
            f"retrieval p50 < {TARGETS['retrieve_p50_ms']:.0f} ms",
            f"{r50:.1f} ms",
            r50 < TARGETS["retrieve_p50_ms"],
        ),
        (
            f"full answer p50 ≤ {TARGETS['answer_p50_ms']:.0f} ms",
            f"{a50:.1f} ms",
            a50 <= TARGETS["answer_p50_ms"],
        ),
        (
            f"cold ask ≤ {TARGETS['cold_ask_s']:.1f} s",
            f"{cold:.2f} s ({how})",
            cold <= TARGETS["cold_ask_s"],
        ),
    ]
    rows = [{"target": t, "measured": m, "at": at, "status": _status(ok)} for t, m, ok in found]
    if one is not None:
        a1 = one["measure"]["ask_ms"]["p50"]
        ok = a1 <= TARGETS["answer_p50_ms_one"]
        rows.append(
            {
                "target": f"full answer p50 ≤ {TARGETS['answer_p50_ms_one']:.0f} ms",
                "measured": f"{a1:.1f} ms",
                "at": "1 article (the shipped one)",
                "status": _status(ok),
            }
        )
    if one is not None and one is not big:
        qset = primary_set(result)
        h1 = one["measure"]["quality"][qset]["retrieval_hit_at_k"]
        hb = big["measure"]["quality"][qset]["retrieval_hit_at_k"]
        drop = (h1 - hb) * 100
        rows.append(
            {
                "target": "retrieval_hit_at_k within 3 points of its one-article value",
                "measured": f"{hb:.3f} vs {h1:.3f} ({drop:+.1f} points drop, set `{qset}`)",
                "at": at,
                "status": _status(drop <= TARGETS["hit_at_k_drop_points"]),
            }
        )
    return rows
