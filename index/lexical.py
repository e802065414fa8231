"""The lexical side: BM25 (bm25s) over the same chunks as the dense side, stemmed by
``index.text.tokens``, persisted beside the Chroma data and keyed by the corpus hash so it is
refreshed exactly when the collection is; a checksum over its metadata and model files makes a
damaged cache rebuild rather than answer wrongly.

It also keeps document frequencies, so the answerer can weigh a question's rare terms (the
strongest single signal of whether a sentence answers at all).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.text import tokens
from index.types import Chunk

log = logging.getLogger(__name__)


def _checksum(meta: dict[str, object], folder: Path) -> str:
    """sha256 of the metadata (ids, document frequencies, fingerprint) and of every file of the
    BM25 model: a cache whose fingerprint is right but whose content was damaged or swapped is
    detected too, not only one that says it indexes something else."""
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    model = folder / "bm25"
    for path in sorted(model.rglob("*")) if model.is_dir() else []:
        if path.is_file():
            h.update(path.relative_to(model).as_posix().encode() + b"\x00")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """The rows of the ``k`` best positive scores, best first, ties in row order.

    Not bm25s's ``retrieve``: it selects with ``np.argpartition`` over every row, and a query
    scores most rows 0, a tie numpy's selection handles badly (71 ms for 100,000 rows with 1%
    non-zero, against 0.9 ms for the non-zero rows alone). Its order among equal scores was
    arbitrary too; here the earlier row comes first."""
    rows = np.flatnonzero(scores > 0)
    if len(rows) > k:
        kth = np.partition(scores[rows], -k)[-k]
        rows = rows[scores[rows] >= kth]
    order = np.lexsort((rows, -scores[rows].astype(np.float64)))
    return rows[order[:k]]


class LexicalIndex:
    def __init__(
        self,
        ids: list[str],
        doc_ids: list[str],
        df: dict[str, int],
        n_docs: int,
        model: object | None,
    ) -> None:
        self.ids = ids
        self.doc_ids = doc_ids
        self.df = df
        self.n = n_docs
        self.model = model
        self._doc_rows: dict[str, np.ndarray] | None = None

    @classmethod
    def build(cls, chunks: Sequence[Chunk]) -> LexicalIndex:
        import bm25s

        toks = [tokens(c.text) for c in chunks]
        df: Counter[str] = Counter()
        for t in toks:
            df.update(set(t))
        model = None
        if chunks:
            model = bm25s.BM25(k1=1.2, b=0.75)
            # an empty token list would make bm25s drop the row; keep rows aligned with ids
            model.index([t or ["\x00empty"] for t in toks], show_progress=False)
        return cls([c.id for c in chunks], [c.doc_id for c in chunks], dict(df), len(chunks), model)

    def idf(self, term: str) -> float:
        """BM25-style idf, floored at a small positive value; unseen terms count as rare."""
        n, f = max(self.n, 1), self.df.get(term, 0)
        return max(0.05, math.log(1 + (n - f + 0.5) / (f + 0.5)))

    def search(
        self, query_tokens: list[str], k: int, doc_id: str | None = None
    ) -> list[tuple[str, float]]:
        if self.model is None or not self.ids:
            return []
        known = [t for t in query_tokens if t in self.df]
        if not known:
            return []
        k = min(k, len(self.ids))
        mask = None
        if doc_id is not None:
            mask = np.zeros(len(self.ids), dtype=np.float32)
            mask[self._rows_of(doc_id)] = 1.0
            if not mask.any():
                return []
        scores = self.model.get_scores(known, weight_mask=mask)  # type: ignore[attr-defined]
        return [(self.ids[int(i)], float(scores[i])) for i in top_rows(scores, k)]

    def _rows_of(self, doc_id: str) -> np.ndarray:
        if self._doc_rows is None:
            rows: dict[str, list[int]] = {}
            for i, d in enumerate(self.doc_ids):
                rows.setdefault(d, []).append(i)
            self._doc_rows = {d: np.asarray(r) for d, r in rows.items()}
        return self._doc_rows.get(doc_id, np.asarray([], dtype=int))

    # -- persistence ------------------------------------------------------------------------
    def save(self, folder: Path, fingerprint: str = "") -> None:
        """Write to a private temporary folder, then rename it in: two processes saving at once
        never write into each other's files. ``fingerprint`` names what was indexed."""
        import tempfile

        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".tmp-{folder.name}-"))
        try:
            if self.model is not None:
                self.model.save(str(tmp / "bm25"), show_progress=False)  # type: ignore[attr-defined]
            meta: dict[str, object] = {
                "ids": self.ids,
                "doc_ids": self.doc_ids,
                "df": self.df,
                "n": self.n,
                "fingerprint": fingerprint,
            }
            meta["checksum"] = _checksum(meta, tmp)
            (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
            shutil.rmtree(folder, ignore_errors=True)
            tmp.replace(folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, fingerprint: str = "") -> LexicalIndex | None:
        """The saved index, or None (to rebuild) when it is missing, unreadable, or indexes
        something else than ``fingerprint`` says (a valid file of another corpus is not
        trusted)."""
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            if meta.get("fingerprint", "") != fingerprint:
                log.warning("lexical index in %s indexes something else; rebuilding", folder)
                return None
            body = {k: v for k, v in meta.items() if k != "checksum"}
            if meta.get("checksum") != _checksum(body, folder):
                log.warning("lexical index in %s fails its checksum; rebuilding", folder)
                return None
            if len(meta["ids"]) != len(meta["doc_ids"]) or meta["n"] != len(meta["ids"]):
                log.warning("lexical index in %s is inconsistent; rebuilding", folder)
                return None
            model = None
            if (folder / "bm25").exists():
                import bm25s

                model = bm25s.BM25.load(str(folder / "bm25"), mmap=False, show_progress=False)
            return cls(meta["ids"], meta["doc_ids"], meta["df"], meta["n"], model)
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged cache is rebuilt, never trusted
            log.warning("lexical index in %s unreadable (%s); rebuilding", folder, exc)
            return None
