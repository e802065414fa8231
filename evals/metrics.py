"""Scoring one answer against one eval item, and the metrics over many (DESIGN.md's table).

Pure functions, no I/O. Scoring turns (item, Answer, corpus texts) into an ``ItemScore`` row of
plain values; every metric is then computed from rows alone, so a runner can write rows to
``results.jsonl`` as it goes and a resumed run recomputes exactly the same report.

Conventions that keep the numbers honest:

- A metric whose denominator is empty is NaN (``None`` in JSON), never 0: "no unanswerable
  items" must not read as "never declines".
- "Overlap" with gold evidence is a non-empty intersection of character spans with any
  occurrence of an evidence string in the relevant document (the item's ``doc_id`` if given).
  Answerable items whose evidence is not in the corpus at all get ``None`` for the span-based
  fields: no assistant could hit them, so they are left out rather than counted as misses
  (``check_evidence`` in ``evals.dataset`` reports them).
- Answer matching is whole-word on normalised text (case, quote marks, dashes, spacing and
  thousands separators), so "Brussels" matches "Brussels." but "100" does not match "100,000".
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, computed_field

from assistant.types import Answer, Citation, Passage
from evals.dataset import EvalItem
from evals.registry import row_metric_keys

#: What ``compute_metrics`` returns, in table order; the facts about each are in the registry.
METRIC_KEYS: tuple[str, ...] = row_metric_keys()

# --------------------------------------------------------------------------- text matching

_QUOTES = str.maketrans(dict.fromkeys("«»‹›“”„‟″‘’‚‛′'`´\"", '"'))
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−", "-"))
_THOUSANDS = re.compile(r"(?<=\d),(?=\d)")
_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Fold the differences a reader does not see as different words.

    All quote marks become one (the article mixes « » ‘ ’ and ASCII ``'``), dashes become
    ``-``, commas between digits go (``100,000`` == ``100000``), runs of whitespace become one
    space, and case is folded.
    """
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).translate(_DASHES)
    text = _THOUSANDS.sub("", text.casefold())
    return _SPACE.sub(" ", text).strip()


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _answer_pattern(normalized: str) -> re.Pattern[str]:
    # Word boundaries only where the answer itself starts/ends with a word character, so
    # "$2.5 billion" still matches after "than " and "U.S." after "the ".
    left = right = ""
    if _is_word_char(normalized[0]):
        left = r"(?<!\w)" + (r"(?<!\d\.)" if normalized[0].isdigit() else "")
    if _is_word_char(normalized[-1]):
        right = r"(?!\w)" + (r"(?!\.\d)" if normalized[-1].isdigit() else "")
    return re.compile(left + re.escape(normalized) + right)


def find_answer(text: str, answers: Iterable[str]) -> str | None:
    """The first acceptable answer that stands in ``text`` as whole words, else None."""
    haystack = normalize_text(text)
    for answer in answers:
        needle = normalize_text(answer)
        if needle and _answer_pattern(needle).search(haystack):
            return answer
    return None


# --------------------------------------------------------------------------- spans


class Span(NamedTuple):
    doc_id: str
    start: int
    end: int


def gold_spans(item: EvalItem, corpus: Mapping[str, str]) -> list[Span]:
    """Every occurrence of every evidence string, in ``item.doc_id`` or else in any document."""
    if item.doc_id is not None:
        docs = {item.doc_id: corpus[item.doc_id]} if item.doc_id in corpus else {}
    else:
        docs = dict(corpus)
    spans: list[Span] = []
    for evidence in item.evidence:
        if not evidence:
            continue
        for doc_id, text in docs.items():
            at = text.find(evidence)
            while at != -1:
                spans.append(Span(doc_id, at, at + len(evidence)))
                at = text.find(evidence, at + 1)
    return spans


def overlaps(doc_id: str, start: int, end: int, gold: Iterable[Span]) -> bool:
    """True when [start, end) in ``doc_id`` shares at least one character with a gold span."""
    return any(g.doc_id == doc_id and max(start, g.start) < min(end, g.end) for g in gold)


def first_hit_rank(passages: Sequence[Passage], gold: Sequence[Span]) -> int | None:
    """1-based position (by ``rank``) of the first passage holding gold evidence, else None.

    Positions, not the stored rank values, so ranks that skip numbers cannot lower the MRR.
    """
    ordered = sorted(passages, key=lambda p: p.rank)
    for position, passage in enumerate(ordered, start=1):
        if overlaps(passage.doc_id, passage.start, passage.end, gold):
            return position
    return None


def citation_is_valid(citation: Citation, corpus: Mapping[str, str]) -> bool:
    """The quote is non-empty and equals the source text at the citation's offsets."""
    text = corpus.get(citation.doc_id)
    if text is None or not 0 <= citation.start < citation.end <= len(text):
        return False
    return bool(citation.quote) and text[citation.start : citation.end] == citation.quote


# --------------------------------------------------------------------------- one item


class ItemScore(BaseModel):
    """One row of ``results.jsonl``: plain values, enough to recompute every metric.

    ``None`` means "does not apply to this item" (e.g. retrieval fields of an unanswerable
    item) and keeps it out of that metric's denominator. Extra keys a runner adds to a row
    (question, answer text, ...) are ignored when reading rows back.
    """

    model_config = ConfigDict(extra="ignore")

    id: str
    tags: list[str] = Field(default_factory=list)
    answerable: bool
    declined: bool  # a plain refusal; a hedge is not one
    hedged: bool = False  # the closest sentence shown as a guess, not as an answer
    confidence: float = 0.0
    retrieved: int = 0  # passages returned: the k of retrieval_hit_at_k
    gold_spans: int = 0  # occurrences of the evidence in the corpus
    retrieval_hit: bool | None = None
    reciprocal_rank: float | None = None
    citation_hit: bool | None = None  # any citation overlaps gold, declined or not
    top_citation_hit: bool | None = None  # the first citation overlaps gold
    evidence_hit: bool | None = None  # answered (not declined, not hedged) and citation_hit
    answer_match: bool | None = None  # answered and an acceptable answer in the text
    matched_answer: str | None = None
    citations: int = 0
    valid_citations: int = 0
    cited_chars: int = 0
    claims_shown: int = 0  # claims the answer states (an extractive answer states one)
    claims_removed: int = 0  # model claims judged unsupported and not shown
    latency_ms: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        """Answerable: answered with a citation on the evidence. Unanswerable: declined."""
        if self.answerable:
            return self.evidence_hit is True
        return self.declined


def score_item(
    item: EvalItem,
    answer: Answer,
    *,
    corpus: Mapping[str, str],
    latency_ms: float | None = None,
) -> ItemScore:
    """Score one answer; ``corpus`` maps doc id to the document text the offsets refer to."""
    hedged = answer.hedged
    declined = not answer.grounded and not hedged
    answered = answer.grounded
    valid = sum(citation_is_valid(c, corpus) for c in answer.citations)
    row: dict[str, Any] = {
        "id": item.id,
        "tags": list(item.tags),
        "answerable": item.answerable,
        "declined": declined,
        "hedged": hedged,
        "confidence": answer.confidence,
        "retrieved": len(answer.passages),
        "citations": len(answer.citations),
        "valid_citations": valid,
        "cited_chars": sum(len(c.quote) for c in answer.citations),
        "claims_shown": answer.claims_shown,
        "claims_removed": answer.claims_removed,
        "latency_ms": latency_ms if latency_ms is not None and math.isfinite(latency_ms) else None,
    }
    if item.answerable:
        matched = find_answer(answer.text, item.answers) if item.answers else None
        row["matched_answer"] = matched
        row["answer_match"] = (answered and matched is not None) if item.answers else None
        gold = gold_spans(item, corpus)
        row["gold_spans"] = len(gold)
        if gold:
            rank = first_hit_rank(answer.passages, gold)
            cited = sorted(answer.citations, key=lambda c: c.n)
            hits = [overlaps(c.doc_id, c.start, c.end, gold) for c in cited]
            row["retrieval_hit"] = rank is not None
            row["reciprocal_rank"] = 1.0 / rank if rank is not None else 0.0
            row["citation_hit"] = any(hits)
            row["top_citation_hit"] = bool(hits) and hits[0]
            row["evidence_hit"] = answered and any(hits)
    return ItemScore.model_validate(row)


# --------------------------------------------------------------------------- aggregation

RowLike = ItemScore | Mapping[str, Any]


def as_scores(rows: Iterable[RowLike]) -> list[ItemScore]:
    """Rows as read back from JSON (or already scored) as ``ItemScore`` values."""
    return [r if isinstance(r, ItemScore) else ItemScore.model_validate(r) for r in rows]


def _mean(values: Iterable[float | bool | None]) -> float:
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else math.nan


def percentile(values: Iterable[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in [0, 100]), NaN for no values."""
    data = sorted(values)
    if not data:
        return math.nan
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def compute_metrics(rows: Iterable[RowLike]) -> dict[str, float]:
    """Every key of ``METRIC_KEYS`` over these rows; NaN where the denominator is empty."""
    scores = as_scores(rows)
    answerable = [s for s in scores if s.answerable]
    unanswerable = [s for s in scores if not s.answerable]
    answered = [s for s in scores if not s.declined and not s.hedged]
    total_citations = sum(s.citations for s in scores)
    latencies = [s.latency_ms for s in scores if s.latency_ms is not None]
    values = {
        "retrieval_hit_at_k": _mean(s.retrieval_hit for s in answerable),
        "mrr": _mean(s.reciprocal_rank for s in answerable),
        "evidence_hit": _mean(s.evidence_hit for s in answerable),
        "answer_match": _mean(s.answer_match for s in answerable),
        "citation_validity": (
            sum(s.valid_citations for s in scores) / total_citations
            if total_citations
            else math.nan
        ),
        "refusal_recall": _mean(s.declined for s in unanswerable),
        "false_refusal_rate": _mean(s.declined for s in answerable),
        "hedge_rate": _mean(s.hedged for s in scores),
        "hedge_hit": _mean(s.citation_hit for s in answerable if s.hedged),
        "cited_chars_mean": _mean(s.cited_chars for s in answered),
        "claims_removed_mean": _mean(s.claims_removed for s in scores),
        "unanswerable_claims_mean": _mean(s.claims_shown for s in unanswerable),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "pass_rate": _mean(s.passed for s in scores),
    }
    return {key: values[key] for key in METRIC_KEYS}


def count_rows(scores: Sequence[ItemScore]) -> dict[str, int]:
    return {
        "items": len(scores),
        "answerable": sum(s.answerable for s in scores),
        "unanswerable": sum(not s.answerable for s in scores),
        "declined": sum(s.declined for s in scores),
        "hedged": sum(s.hedged for s in scores),
        "citations": sum(s.citations for s in scores),
        "passed": sum(s.passed for s in scores),
    }


@dataclass(frozen=True)
class Summary:
    """Metrics overall and per tag (an item with several tags counts in each)."""

    metrics: dict[str, float]
    counts: dict[str, int]
    by_tag: dict[str, dict[str, float]]
    tag_counts: dict[str, dict[str, int]]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values: NaN becomes ``None`` (JSON has no NaN)."""
        return nan_to_none(asdict(self))


def summarize(rows: Iterable[RowLike]) -> Summary:
    scores = as_scores(rows)
    tags = sorted({t for s in scores for t in s.tags})
    by_tag = {t: [s for s in scores if t in s.tags] for t in tags}
    return Summary(
        metrics=compute_metrics(scores),
        counts=count_rows(scores),
        by_tag={t: compute_metrics(group) for t, group in by_tag.items()},
        tag_counts={t: count_rows(group) for t, group in by_tag.items()},
    )


def nan_to_none(value: Any) -> Any:
    """Recursively replace float NaN with None, for ``json.dumps(..., allow_nan=False)``."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [nan_to_none(v) for v in value]
    return value


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class CurvePoint:
    """What declining below ``threshold`` would do, replayed from recorded confidences."""

    threshold: float
    refusal_recall: float
    false_refusal_rate: float
    evidence_hit: float  # answered and any citation on the evidence
    top_evidence_hit: float  # answered and the first citation on the evidence


def threshold_curve(rows: Iterable[RowLike], thresholds: Iterable[float]) -> list[CurvePoint]:
    """Refusal recall, false refusals and evidence hits if the answerer declined below each
    threshold (``confidence < threshold``), in the order the thresholds are given.

    The replay trusts the recorded citations, so record the rows with a threshold at or below
    the lowest one asked about (calibration runs with no decline at all); answers declined for
    other reasons than the threshold cannot be replayed and count as answered here.
    """
    scores = as_scores(rows)
    unanswerable = [s.confidence for s in scores if not s.answerable]
    answerable = [s for s in scores if s.answerable]
    scorable = [s for s in answerable if s.citation_hit is not None]
    points = []
    for t in thresholds:
        points.append(
            CurvePoint(
                threshold=t,
                refusal_recall=_mean(c < t for c in unanswerable),
                false_refusal_rate=_mean(s.confidence < t for s in answerable),
                evidence_hit=_mean(s.confidence >= t and bool(s.citation_hit) for s in scorable),
                top_evidence_hit=_mean(
                    s.confidence >= t and bool(s.top_citation_hit) for s in scorable
                ),
            )
        )
    return points
