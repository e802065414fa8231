"""Which candidate sentence answers? The reader's verdict, weighed with what retrieval knows.

The reader reads one sentence at a time; over a whole article it puts a wrong sentence first
more often than it should (it never sees the rest of the article). Retrieval saw the whole
corpus: how strongly the sentence's passage matched (BM25, relative to the best passage of the
question, and the dense similarity) and how much of the question's idf mass the sentence itself
holds. A linear model over these orders the candidates; it is fitted listwise (softmax over
each question's candidates, the gold sentence as target) on the dev parts of both shipped eval
sets by ``python -m training.reader.ranking`` and shipped in ``model/ranking.json``. None of the
signals names anything in any article.

Measured on the test parts (held-out articles), right sentence first: see ``ranking.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.reader.decline import logit, uncovered_share

RANKING_FILE = Path(__file__).with_name("model") / "ranking.json"
FEATURES = ("reader_logit", "covered", "lexical", "dense")


def features(
    score: float,
    question_terms: Sequence[str],
    sentence_terms: set[str],
    idf: Callable[[str], float],
    lexical: float | None,
    best_lexical: float,
    dense: float | None,
) -> tuple[float, ...]:
    """One candidate's signals, in ``FEATURES`` order. ``lexical`` is its passage's BM25 score
    and ``best_lexical`` the best of the question's passages (BM25 has no fixed scale)."""
    return (
        logit(score),
        1.0 - uncovered_share(question_terms, sentence_terms, idf),
        (lexical or 0.0) / best_lexical if best_lexical > 0 else 0.0,
        dense or 0.0,
    )


@dataclass(frozen=True)
class RankModel:
    """score = Σ weight·feature (a constant would not change the order); without a fitted
    file, the reader's own verdict alone."""

    weights: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0)

    def score(self, x: Sequence[float]) -> float:
        return sum(w * v for w, v in zip(self.weights, x, strict=True))

    @classmethod
    def load(cls, path: Path = RANKING_FILE) -> RankModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(tuple(float(data["weights"][f]) for f in FEATURES))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()
