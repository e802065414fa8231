"""The one text analysis shared by BM25 and sentence scoring: lower-case, words, stop words out,
Snowball-stemmed, so "headquartered" meets "headquarters" and "took" stays itself.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+(?:[’'][^\W_]+)*(?:[.,][0-9]+)*", re.UNICODE)
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "s",
        "t",
        "don",
        "doesn",
        "didn",
        "isn",
        "wasn",
        "weren",
        "article",
        "say",
        "says",
        "said",
        "tell",
        "according",
    ]
)
_CLITIC = re.compile(r"[’'](s|d|ll|re|ve|t)$")
# Words whose absence changes a meaning; kept for negation-aware scoring.
NEGATIONS = frozenset({"not", "no", "never", "nor", "without", "neither", "none"})


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased words with apostrophes folded ("Russia’s" → "russia")."""
    out = []
    for w in _WORD.findall(text.lower()):
        if "’" in w or "'" in w:  # most words have none: skip the regex for them
            w = _CLITIC.sub("", w).replace("’", "'")
        out.append(w)
    return out


def tokens(text: str) -> list[str]:
    """Stemmed content words: what BM25 indexes and what sentence scoring compares."""
    stem = _stemmer().stemWord
    return [stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
