"""BM25 search: bm25s's scores, our selection of the best rows (see ``index.lexical.top_rows``)."""

from __future__ import annotations

import numpy as np
import pytest

from index.lexical import LexicalIndex, top_rows
from index.text import tokens
from index.types import Chunk


def reference(scores: np.ndarray, k: int) -> list[int]:
    """The plain definition: positive scores, best first, equal scores in row order."""
    rows = [i for i in range(len(scores)) if scores[i] > 0]
    return sorted(rows, key=lambda i: (-float(scores[i]), i))[:k]


@pytest.mark.parametrize("seed", range(20))
def test_top_rows_are_the_best_positive_rows_ties_in_row_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    scores = np.zeros(n, dtype=np.float32)
    # mostly zeros, as a query scores most chunks, with few distinct values, so ties are common
    hit = rng.random(n) < rng.choice([0.001, 0.01, 0.3, 1.0])
    scores[hit] = rng.integers(1, 6, hit.sum()).astype(np.float32) / 4
    k = int(rng.integers(1, 40))
    assert top_rows(scores, k).tolist() == reference(scores, k)


def test_no_positive_score_selects_nothing() -> None:
    assert top_rows(np.zeros(5, dtype=np.float32), 3).tolist() == []


def chunk(i: int, doc: str, text: str) -> Chunk:
    return Chunk(id=f"{doc}:{i}", doc_id=doc, start=0, end=len(text), text=text)


def test_search_returns_bm25s_scores_best_first_within_a_document() -> None:
    texts = [
        "NATO allies met in Brussels.",
        "Ukraine asked NATO for help.",
        "The weather in Brussels was mild.",
        "NATO allies met in Brussels.",  # a twin: the same score, so the earlier row first
        "Nothing about it here.",
    ]
    chunks = [chunk(i, "a" if i < 3 else "b", t) for i, t in enumerate(texts)]
    lex = LexicalIndex.build(chunks)
    query = tokens("NATO allies in Brussels")
    got = lex.search(query, k=10)
    want = lex.model.get_scores(query)  # type: ignore[attr-defined]
    assert [cid for cid, _ in got] == [chunks[i].id for i in reference(want, 10)]
    assert [s for _, s in got] == [float(want[i]) for i in reference(want, 10)]
    assert got[0][0] == "a:0" and got[1][0] == "b:3"  # the twins, in row order
    assert "b:4" not in dict(got)  # no word of the query: no score, not returned
    assert [cid for cid, _ in lex.search(query, k=10, doc_id="b")] == ["b:3"]
    assert [cid for cid, _ in lex.search(query, k=1)] == ["a:0"]
    assert lex.search(tokens("unknown words only"), k=5) == []
