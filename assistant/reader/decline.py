"""Should the assistant answer at all? A small calibrated model over general signals.

The reader's best score alone separates answerable from unanswerable questions only so well:
questions written to *look* answerable (an entity or number swapped, SQuAD 2.0 style) still
meet a sentence that shares most of their words. So the decision combines, in a logistic model:
- the reader: its best sentence's logit, the margin to the runner-up, the short answer's score;
- coverage *by meaning*: the idf-weighted share of the question's words that the chosen
  sentence (with the text just before it) does not hold, and the share its whole document does
  not hold, where a word counts as held, by degrees, when the text holds a word of about the
  same meaning (WordLlama cosine: "troops" is held by "soldiers" at 0.66, not by "tanks" at
  0.07). People rarely ask in the article's own words: a feature that punished a word only for
  being absent from the text declined half of the questions asked in other words;
- names and numbers: the share of the question's names (capitalised words past its first) and
  numbers that its document does not hold at all. Unlike other words, a name is not reworded
  when a question is asked in other words, while a name swapped or made up (SQuAD 2.0's
  commonest trap: "the Night of the Dead" where the article has "Day") or a question about
  something else altogether ("Who won the football World Cup?") leaves one unheld.
None of these names anything in any article. The weights are fitted on the dev parts of both
shipped eval sets (news and held-out encyclopedia articles, each weighing the same) by
``python -m training.reader.decline`` and shipped in ``model/decline.json``; the product's
``confidence`` is the model's probability that the question is answerable, and
``assistant eval calibrate`` chooses the decline threshold on it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.text import STOPWORDS, _stemmer, words

DECLINE_FILE = Path(__file__).with_name("model") / "decline.json"
FEATURES = (
    "reader_logit",
    "margin",
    "span",
    "unmatched",
    "unmatched_in_document",
    "names_not_in_document",
)
# a capitalised word past the start of its sentence, or a number
_NAME = re.compile(r"(?<!^)(?<![.?!:]\s)(?<![.?!:])\b(?:[A-Z][\w'’-]*|\d[\d,.]*)")
# cosine below LOW: another meaning (antonyms and co-hyponyms sit at 0.1-0.45); at HIGH and
# above: the same meaning (synonyms at 0.6-0.8); linear in between
MATCH_LOW, MATCH_HIGH = 0.3, 0.6

#: For each word, its highest cosine with a word of the pool (``WordVectors.best_similarity``).
Similarity = Callable[[Sequence[str], Sequence[str]], np.ndarray]


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


def content_words(text: str) -> list[str]:
    """The words a question is about, as written (unstemmed, so their vectors can be looked
    up), once each."""
    return list(
        dict.fromkeys(w for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit()))
    )


def unmatched_share(
    question_words: Sequence[str],
    held_words: Sequence[str],
    idf: Callable[[str], float],
    similarity: Similarity | None,
) -> float:
    """The idf-weighted share of the question's words that ``held_words`` do not match: a word
    held as such (same stem) is matched; otherwise it is matched by degrees by the held word
    closest in meaning. Without ``similarity``, only same-stem words match."""
    if not question_words:
        return 0.0
    stem = _stemmer().stemWord
    held_stems = {stem(w) for w in held_words}
    stems = [stem(w) for w in question_words]
    weights = np.array([idf(s) for s in stems], dtype=float)
    credit = np.array([1.0 if s in held_stems else 0.0 for s in stems])
    todo = [i for i, c in enumerate(credit) if c == 0.0]
    if todo and similarity is not None and held_words:
        sims = similarity([question_words[i] for i in todo], held_words)
        credit[todo] = np.clip((sims - MATCH_LOW) / (MATCH_HIGH - MATCH_LOW), 0.0, 1.0)
    total = weights.sum()
    return float((weights * (1.0 - credit)).sum() / total) if total else 0.0


def question_names(question: str) -> list[str]:
    """The stems of the question's names and numbers ("Where did Olaf Scholz meet in 2022?" →
    olaf, scholz, 2022), once each; words a question opens with are not names."""
    stem = _stemmer().stemWord
    out: list[str] = []
    for m in _NAME.finditer(question.strip()):
        out += [stem(w) for w in words(m.group()) if w not in STOPWORDS]
    return list(dict.fromkeys(out))


def unheld_share(names: Sequence[str], held_stems: set[str] | frozenset[str]) -> float:
    """The share of ``names`` (stems) that ``held_stems`` lacks; 0 for a question with none."""
    return sum(n not in held_stems for n in names) / len(names) if names else 0.0


@dataclass(frozen=True)
class Signals:
    reader_logit: float
    margin: float
    span: float
    unmatched: float
    unmatched_in_document: float
    names_not_in_document: float = 0.0

    def vector(self) -> list[float]:
        return [getattr(self, f) for f in FEATURES]


def signals(
    question: str,
    scores: Sequence[float],
    span_score: float,
    sentence: str,
    context: str,
    document_words: Sequence[str] | None,
    idf: Callable[[str], float],
    similarity: Similarity | None = None,
    document_stems: set[str] | frozenset[str] | None = None,
) -> Signals:
    """The decline signals for the best sentence; ``scores`` are all candidates', best first;
    ``document_words`` the content words of its document (``content_words``), or None to
    leave ``unmatched_in_document`` uncomputed (0.0); ``document_stems`` its stemmed words
    (``index.text.tokens``), or None to leave ``names_not_in_document`` uncomputed."""
    q = content_words(question)
    best = scores[0] if scores else 0.0
    second = scores[1] if len(scores) > 1 else 0.0
    near = content_words(f"{context} {sentence}")
    return Signals(
        reader_logit=logit(best),
        margin=best - second,
        span=span_score,
        unmatched=unmatched_share(q, near, idf, similarity),
        unmatched_in_document=(
            0.0 if document_words is None else unmatched_share(q, document_words, idf, similarity)
        ),
        names_not_in_document=(
            0.0
            if document_stems is None
            else unheld_share(question_names(question), document_stems)
        ),
    )


@dataclass(frozen=True)
class DeclineModel:
    """p(answerable) = sigmoid(bias + Σ weight·signal); without a fitted file, the reader's
    own probability (weights 1 on its logit, 0 elsewhere)."""

    weights: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    bias: float = 0.0

    def weighs(self, feature: str) -> bool:
        """Whether ``feature`` moves the probability at all."""
        return self.weights[FEATURES.index(feature)] != 0.0

    def probability(self, s: Signals) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, s.vector(), strict=True))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    @classmethod
    def load(cls, path: Path = DECLINE_FILE) -> DeclineModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            weights = tuple(float(data["weights"].get(f, 0.0)) for f in FEATURES)
            return cls(weights, float(data["bias"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()
