"""Hybrid retrieval: dense (Chroma, cosine) and lexical (BM25) rankings fused by reciprocal
rank fusion. RRF is used for ranking only; it is no confidence (it saturates for answerable and
unanswerable questions alike), so the raw dense and lexical scores travel on with each passage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from assistant.types import Passage
from index.index import Index

# 10 rather than the customary 60: at 10,000 articles it lifted hit@k by 1.7 points (bench/),
# and changed nothing on the one-article eval set.
RRF_K = 10


@dataclass
class Retrieved:
    passages: list[Passage]
    query_vector: np.ndarray
    # milliseconds per stage (embed_ms, dense_ms, lexical_ms, fuse_ms), for answers and the bench
    timings: dict[str, float] = field(default_factory=dict)


class HybridRetriever:
    """Fuses the index's two rankings; ``candidates`` per side are fused into the top ``k``."""

    def __init__(self, index: Index, *, candidates: int = 30) -> None:
        self.index = index
        self.candidates = candidates

    def retrieve(self, query: str, k: int, doc_id: str | None = None) -> Retrieved:
        hits = self.index.search(query, max(self.candidates, k), doc_id=doc_id)
        t0 = time.perf_counter()
        fused: dict[str, float] = {}
        dense_score: dict[str, float] = {}
        lex_score: dict[str, float] = {}
        for rank, (cid, sim) in enumerate(hits.dense, start=1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank)
            dense_score[cid] = sim
        for rank, (cid, score) in enumerate(hits.lexical, start=1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank)
            lex_score[cid] = score
        top = sorted(fused, key=lambda c: (-fused[c], c))[:k]
        passages = [
            Passage(
                chunk_id=c.id,
                doc_id=c.doc_id,
                start=c.start,
                end=c.end,
                text=c.text,
                rank=rank,
                dense=dense_score.get(c.id),
                lexical=lex_score.get(c.id),
                fused=fused[c.id],
            )
            for rank, c in enumerate(self.index.chunks(top), start=1)
        ]
        timings = {**hits.timings, "fuse_ms": (time.perf_counter() - t0) * 1000}
        return Retrieved(passages=passages, query_vector=hits.query_vector, timings=timings)
