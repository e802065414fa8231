"""Questions reworded with other words of the same meaning: positives that teach the reader a
paraphrase from a trap.

SQuAD questions borrow most of their words from the sentence that answers them, and the edited
negatives (a question word swapped for one the sentence lacks) look, word for word, like a
question asked in other words. Trained on those alone, the cheapest rule a reader can learn is
"a word the sentence lacks means no". So each reworded positive takes a question word that its
answer sentence also holds and puts a word of the same meaning in its place (the sentence
then lacks it), with the same answer span: only a change of *meaning* may mean no.

Words of the same meaning come from WordLlama's static vectors (already a product dependency):
its nearest neighbours above ``MIN_SIMILARITY`` are mostly synonyms or near-synonyms
("troops"/"soldiers" 0.66, "purchased"/"bought" 0.77, "located"/"situated" 0.67), while
antonyms and co-hyponyms sit below it ("increase"/"decrease" 0.08, "accept"/"reject" 0.39,
"troops"/"tanks" 0.07). The known antonym pairs of the question edits are excluded outright.
Names, numbers and the answer's own words are never replaced.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from index.text import STOPWORDS, _stemmer, words

MIN_SIMILARITY = 0.65
MIN_FREQUENCY = 20  # a replacement must be a word the corpus uses, not a rare token
_WORD = re.compile(r"(?<![\w'’-])[a-z][a-z]{3,}(?![\w'’-])")
_SUFFIXES = ("ing", "ed", "ly", "s")
# words that frame a question rather than carry its content: replaced, they change its kind
# ("how often" → "how every", "how many" → "how much")
_FUNCTION = frozenset(
    [
        "often",
        "many",
        "much",
        "more",
        "most",
        "back",
        "every",
        "each",
        "some",
        "other",
        "such",
        "also",
        "only",
        "very",
        "same",
        "then",
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "last",
        "next",
        "later",
        "still",
        "even",
        "ever",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "hundred",
        "thousand",
        "million",
        "billion",
    ]
)


def _suffix(word: str) -> str:
    return next((s for s in _SUFFIXES if word.endswith(s)), "")


class Synonyms:
    """Nearest neighbours of a corpus's words by WordLlama cosine, built once."""

    def __init__(self, texts: Iterable[str], antonyms: dict[str, str] | None = None) -> None:
        from index.wordvectors import load_wordllama

        counts = Counter(w for t in texts for w in words(t) if w.isalpha() and len(w) > 3)
        self.words = sorted(
            w for w, n in counts.items() if n >= MIN_FREQUENCY and w not in STOPWORDS
        )
        self.index = {w: i for i, w in enumerate(self.words)}
        wl = load_wordllama()
        self.vectors = np.asarray(wl.embed(self.words, norm=True), dtype=np.float32)
        self.antonyms = antonyms or {}
        self.stem = _stemmer().stemWord

    @lru_cache(maxsize=100_000)  # noqa: B019 - one instance per training run
    def of(self, word: str) -> tuple[str, ...]:
        """Words of about the same meaning as ``word``, best first (none when unknown)."""
        i = self.index.get(word)
        if i is None:
            return ()
        sims = self.vectors @ self.vectors[i]
        order = np.argsort(-sims)[:12]
        stem, suffix = self.stem(word), _suffix(word)
        out = []
        for j in order:
            v = self.words[j]
            if sims[j] < MIN_SIMILARITY:
                break
            # WordLlama averages sub-word tokens, so words sharing their first letters
            # ("torch"/"torque", "destruction"/"destroy") look alike without meaning alike
            if self.stem(v) == stem or v[:3] == word[:3]:
                continue
            if self.antonyms.get(word) == v or _suffix(v) != suffix:
                continue
            out.append(v)
        return tuple(out)


def reword(
    question: str, sentence: str, answer: str, synonyms: Synonyms, rng: random.Random
) -> str | None:
    """``question`` with one or two of the words it shares with ``sentence`` replaced by words
    of the same meaning; None when no word can be replaced. The answer's words and capitalised
    words (names) stay."""
    stem = synonyms.stem
    held = {stem(w) for w in words(sentence)}
    keep = {stem(w) for w in words(answer)}
    spots = [
        m
        for m in _WORD.finditer(question)
        if m.group() not in STOPWORDS
        and m.group() not in _FUNCTION
        and stem(m.group()) in held
        and stem(m.group()) not in keep
        and synonyms.of(m.group())
    ]
    if not spots:
        return None
    rng.shuffle(spots)
    chosen = sorted(spots[: rng.choice((1, 2))], key=lambda m: m.start())
    out, at = [], 0
    for m in chosen:
        options = synonyms.of(m.group())
        out += [question[at : m.start()], rng.choice(options[:3])]
        at = m.end()
    out.append(question[at:])
    return "".join(out)
