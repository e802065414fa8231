"""Which candidate sentence answers? The reader's verdict, weighed with what retrieval knows.

The reader reads one sentence at a time; over a whole article it puts a wrong sentence first
more often than it should (it never sees the rest of the article). Retrieval saw the whole
corpus: how strongly the sentence's passage matched (BM25, relative to the best passage of the
question, and the dense similarity) and how much of the question's idf mass the sentence itself
holds, where a word is held, by degrees, by a word of about the same meaning
(``decline.unmatched_share``: a question asked in other words still finds its sentence). A
linear model over these orders the candidates; it is fitted listwise (softmax over
each question's candidates, the gold sentence as target) on the dev parts of both shipped eval
sets by ``python -m training.reader.ranking`` and shipped in ``model/ranking.json``. None of the
signals names anything in any article.

Reading is the cost (a few milliseconds a sentence), so the reader reads only the ``read``
sentences that the retrieval signals alone rank best (``prefilter``, fitted the same way). Over
8 passages rather than 4 the right sentence is among the candidates far more often in a long
article (79% → 87% of the held-out encyclopedia questions), and the best 10 of them by the
retrieval signals keep nearly all of that gain for the reading time of 4 passages.

Measured on the test parts (held-out articles), right sentence first: see ``ranking.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.reader.decline import Similarity, logit, unmatched_share

RANKING_FILE = Path(__file__).with_name("model") / "ranking.json"
FEATURES = ("reader_logit", "covered", "lexical", "dense")
RETRIEVAL_FEATURES = FEATURES[1:]  # what is known before the reader reads


def retrieval_features(
    question_words: Sequence[str],
    sentence_words: Sequence[str],
    idf: Callable[[str], float],
    lexical: float | None,
    best_lexical: float,
    dense: float | None,
    similarity: Similarity | None = None,
) -> tuple[float, ...]:
    """One candidate's signals but the reader's, in ``RETRIEVAL_FEATURES`` order. The words are
    content words as written (``decline.content_words``); ``lexical`` is its passage's BM25
    score and ``best_lexical`` the best of the question's passages (BM25 has no fixed scale)."""
    return (
        1.0 - unmatched_share(question_words, sentence_words, idf, similarity),
        (lexical or 0.0) / best_lexical if best_lexical > 0 else 0.0,
        dense or 0.0,
    )


def features(score: float, retrieval: Sequence[float]) -> tuple[float, ...]:
    """All of a candidate's signals, in ``FEATURES`` order: the reader's, then retrieval's."""
    return (logit(score), *retrieval)


@dataclass(frozen=True)
class RankModel:
    """score = Σ weight·feature (a constant would not change the order). ``read``: how many
    candidates the reader reads, the best by ``prefilter`` (weights on ``RETRIEVAL_FEATURES``);
    None reads them all. Without a fitted file: the reader's own verdict alone, on every
    candidate."""

    weights: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0)
    prefilter: tuple[float, ...] = (0.0, 0.0, 0.0)
    read: int | None = None

    def score(self, x: Sequence[float]) -> float:
        return sum(w * v for w, v in zip(self.weights, x, strict=True))

    def retrieval_score(self, x: Sequence[float]) -> float:
        return sum(w * v for w, v in zip(self.prefilter, x, strict=True))

    @classmethod
    def load(cls, path: Path = RANKING_FILE) -> RankModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            weights = tuple(float(data["weights"][f]) for f in FEATURES)
        except (OSError, ValueError, KeyError, TypeError):
            return cls()
        try:
            prefilter = tuple(float(data["prefilter"][f]) for f in RETRIEVAL_FEATURES)
            read = int(data["read"])
        except (KeyError, TypeError, ValueError):  # a file from before the prefilter
            return cls(weights)
        return cls(weights, prefilter, read if read > 0 else None)


def likely_set(scores: Sequence[float], mass: float, most: int) -> list[int]:
    """Indices of the fewest best-scored candidates whose share of the ranking model's softmax
    reaches ``mass`` (at most ``most``), best first.

    The ranking model is fitted as a softmax over each question's candidates, so its scores
    are log-odds of "this one is the answering sentence": where it is sure, one or two
    sentences carry nearly all of the mass and the rest are noise to whoever reads them next.
    """
    order = sorted(range(len(scores)), key=lambda i: -scores[i])[: max(1, most)]
    if not order:
        return []
    top = scores[order[0]]
    total = sum(math.exp(s - top) for s in scores)
    out, seen = [], 0.0
    for i in order:
        out.append(i)
        seen += math.exp(scores[i] - top) / total
        if seen >= mass:
            break
    return out
