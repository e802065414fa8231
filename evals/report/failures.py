"""Why an item failed, in words: shared by the reports and ``evals.compare``.

``failure_kind`` follows ``ItemScore.passed`` exactly, so the kinds of a run add up to its failed
count; ``describe_failure`` adds what else is off in the answer, which is where to look next.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from evals.rows import ResultRow, as_rows

__all__ = [
    "FAILURE_KINDS",
    "describe_failure",
    "failed_rows",
    "failure_kind",
    "failure_summary",
    "shorten",
]

RowInput = ResultRow | Mapping[str, Any]

FAILURE_KINDS: dict[str, str] = {
    "error": "the item could not be run",
    "false answer": "false answer: answered a question the article does not answer",
    "declined": "declined an answerable question",
    "hedged": "hedged: showed its closest sentence as a guess, not as an answer",
    "unscorable": "unscorable: the gold evidence is not in the corpus",
    "no citation": "answered without a citation",
    "wrong citation": "wrong citation: none overlaps the gold evidence",
}


def _row(row: RowInput) -> ResultRow:
    return row if isinstance(row, ResultRow) else ResultRow.model_validate(row)


def failed_rows(rows: Iterable[RowInput]) -> list[ResultRow]:
    """The rows that did not pass, in run order."""
    return [row for row in as_rows(rows) if not row.passed]


def failure_kind(row: RowInput) -> str:
    """The one reason a failed row failed, a key of ``FAILURE_KINDS``."""
    r = _row(row)
    if r.error:
        return "error"
    if not r.answerable:
        return "hedged" if r.hedged else "false answer"
    if r.declined:
        return "declined"
    if r.hedged:
        return "hedged"
    if r.evidence_hit is None:
        return "unscorable"
    if not r.citations:
        return "no citation"
    return "wrong citation"


def describe_failure(row: RowInput) -> str:
    """Why an item failed: the failure first, then what else is off in the answer."""
    r = _row(row)
    kind = failure_kind(r)
    if kind == "error":
        return f"error: {r.error}"
    reasons = [FAILURE_KINDS[kind]]
    if r.answerable and not r.declined and not r.hedged and r.answer_match is False:
        reasons.append("no acceptable answer in the text")
    if r.valid_citations < r.citations:
        bad = r.citations - r.valid_citations
        reasons.append(f"{bad} of {r.citations} citations do not match the source")
    return "; ".join(reasons)


def failure_summary(failed: Iterable[RowInput]) -> str:
    """Counts by kind, most common first ("12 wrong citation, 3 declined"): where to look."""
    counts = Counter(failure_kind(row) for row in failed)
    return ", ".join(f"{n} {kind}" for kind, n in counts.most_common())


def shorten(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters, cut with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
