"""Should the assistant answer at all? A small calibrated model over general signals.

The reader's best score alone separates answerable from unanswerable questions only so well:
questions written to *look* answerable (an entity or number swapped, SQuAD 2.0 style) still
meet a sentence that shares most of their words. So the decision combines, in a logistic model:
- the reader: its best sentence's logit, the margin to the runner-up, the short answer's score;
- coverage: the idf-weighted share of the question's terms that the chosen sentence (with the
  text just before it) does not hold, and the share its whole document does not hold.
None of these names anything in any article. The weights are fitted on the dev parts of both
shipped eval sets (news and held-out encyclopedia articles, each weighing the same) by
``python -m training.reader.decline`` and shipped in ``model/decline.json``; the product's
``confidence`` is the model's probability that the question is answerable, and
``assistant eval calibrate`` chooses the decline threshold on it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.text import tokens

DECLINE_FILE = Path(__file__).with_name("model") / "decline.json"
FEATURES = ("reader_logit", "margin", "span", "uncovered", "absent_from_document")


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def uncovered_share(
    question_terms: Sequence[str], held: set[str], idf: Callable[[str], float]
) -> float:
    """The idf-weighted share of ``question_terms`` missing from ``held`` (0 when none)."""
    if not question_terms:
        return 0.0
    total = sum(idf(t) for t in question_terms)
    missing = sum(idf(t) for t in question_terms if t not in held)
    return missing / total if total else 0.0


@dataclass(frozen=True)
class Signals:
    reader_logit: float
    margin: float
    span: float
    uncovered: float
    absent_from_document: float

    def vector(self) -> list[float]:
        return [getattr(self, f) for f in FEATURES]


def signals(
    question: str,
    scores: Sequence[float],
    span_score: float,
    sentence: str,
    context: str,
    document_terms: set[str],
    idf: Callable[[str], float],
) -> Signals:
    """The decline signals for the best sentence; ``scores`` are all candidates', best first."""
    q = list(dict.fromkeys(tokens(question)))
    best = scores[0] if scores else 0.0
    second = scores[1] if len(scores) > 1 else 0.0
    near = set(tokens(sentence)) | set(tokens(context))
    return Signals(
        reader_logit=logit(best),
        margin=best - second,
        span=span_score,
        uncovered=uncovered_share(q, near, idf),
        absent_from_document=uncovered_share(q, document_terms, idf),
    )


@dataclass(frozen=True)
class DeclineModel:
    """p(answerable) = sigmoid(bias + Σ weight·signal); without a fitted file, the reader's
    own probability (weights 1 on its logit, 0 elsewhere)."""

    weights: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 0.0)
    bias: float = 0.0

    def probability(self, s: Signals) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, s.vector(), strict=True))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    @classmethod
    def load(cls, path: Path = DECLINE_FILE) -> DeclineModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            weights = tuple(float(data["weights"][f]) for f in FEATURES)
            return cls(weights, float(data["bias"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()
