"""Retrieval quality of one system on one question set, the same way for product and baseline.

Each question becomes one row (did the evidence come back, at which rank, was it declined, was
it cited); ``aggregate`` turns rows into the eval metrics the report shows. Standard library
only, like every module a benchmark task imports before the system under test.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def overlaps(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def row(item: Any, ranks: list[int], *, declined: bool, evidence: bool) -> dict[str, Any]:
    """One question's outcome; ``ranks`` are the 1-based ranks of results holding evidence."""
    return {
        "answerable": item.answerable,
        "distinctive": item.distinctive,
        "hit": bool(ranks),
        "rr": 1.0 / min(ranks) if ranks else 0.0,
        "declined": declined,
        "evidence": evidence,
    }


def _metrics(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
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


def aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Eval metrics over per-question rows, also split by whether the question names a term
    only the shipped article holds (``distinctive``) or is ambiguous among its near-twins:
    the two fail for different reasons, so one number would hide which one moved."""
    out = _metrics(rows)
    out["distinctive"] = _metrics([r for r in rows if r["distinctive"] is not False])
    out["ambiguous"] = _metrics([r for r in rows if r["distinctive"] is False])
    return out
