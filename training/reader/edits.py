"""Unanswerable questions made the way SQuAD 2.0's writers made them, for the reader's negatives.

Each edit changes a SQuAD question so the sentence that answered it no longer does, while it
still "looks right" beside it: a common word swapped for another word of the same article that
the paragraph never uses (the most frequent edit in SQuAD 2.0), an entity, number or date
swapped, a negation added, an antonym, a modifier or a year from elsewhere in the article
("something not mentioned"). ``training.reader.data`` pairs each edited question with the
original's answering sentence. No torch here: the tests import this module.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from index.text import STOPWORDS, tokens

_ANTONYMS = {
    "first": "last",
    "largest": "smallest",
    "biggest": "smallest",
    "highest": "lowest",
    "most": "least",
    "before": "after",
    "earliest": "latest",
    "increase": "decrease",
    "increased": "decreased",
    "north": "south",
    "east": "west",
    "older": "younger",
    "oldest": "youngest",
    "maximum": "minimum",
    "won": "lost",
    "win": "lose",
    "major": "minor",
    "early": "late",
    "longest": "shortest",
    "best": "worst",
    "more": "less",
    "above": "below",
    "inside": "outside",
    "start": "end",
    "began": "ended",
    "success": "failure",
    "positive": "negative",
    "public": "private",
    "allowed": "banned",
    "accepted": "rejected",
    "supported": "opposed",
    "male": "female",
    "rich": "poor",
    "strong": "weak",
}
_ANTONYMS |= {v: k for k, v in _ANTONYMS.items()}
_AUX = re.compile(r"\b(is|was|are|were|did|does|do|has|have|had|can|could|will|would)\s+(?!not\b)")
_ENTITY = re.compile(r"(?<!^)(?<![.?!]\s)\b([A-Z][\w'’-]+(?:\s+(?:of\s+|the\s+)?[A-Z][\w'’-]+)*)")
_NUMBER = re.compile(r"\b\d[\d,]*(?:\.\d+)?\b")


def entities(text: str) -> list[str]:
    return [m.group(1) for m in _ENTITY.finditer(text)]


# words a question is made of rather than about: never swapped
_QUESTION_WORDS = STOPWORDS | {
    "many",
    "much",
    "name",
    "named",
    "type",
    "kind",
    "also",
    "often",
    "long",
    "year",
    "years",
    "called",
    "known",
    "used",
    "make",
    "made",
    "take",
    "took",
    "give",
    "gave",
    "time",
    "times",
    "percent",
    "percentage",
    "number",
    "first",
    "last",
    "people",
    "person",
    "part",
    "become",
    "became",
    "whose",
    "another",
    "every",
    "within",
    "without",
    "among",
    "along",
    "since",
}
_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z][a-z-]{3,}(?![\w'’-])")
_YEAR = re.compile(r"\b1[5-9]\d\d\b|\b20[0-2]\d\b")
_DET = r"(?:the|a|an|its|his|her|their)"
# a lowercase word between a determiner and another word, shaped like an adjective
_MODIFIER = re.compile(rf"\b{_DET}\s+([a-z]{{4,}})\s+[a-z]{{3,}}\b")
_ADJ_END = (
    "al",
    "ic",
    "ous",
    "ive",
    "ful",
    "less",
    "ern",
    "ish",
    "able",
    "ible",
    "ian",
    "ary",
    "ese",
    "est",
    "ent",
    "ant",
    "ular",
    "ior",
    "ile",
)
_ORDINALS = {"first", "second", "third", "fourth", "fifth", "final", "former", "original", "later"}


_NUMBER_WORDS = {"one", "two", "three", "four", "five", "seven", "nine", "eleven", "twelve"}
_AFTER_DET = re.compile(r"\b(?:the|a|an|its|his|her|their|this|these|those)\s+([a-z]{4,})\b")


def _shape(word: str, nouns: frozenset[str] | set[str] = frozenset()) -> str:
    """A crude part-of-speech class from the ending (and, for ``nouns``, from having been seen
    after a determiner), so a swap keeps the question grammatical."""
    if word.endswith("ly"):
        return "ly"
    if word.endswith("ing") and word in nouns:  # "the king", "the building"
        return "noun"
    for end in ("ing", "ed"):
        if word.endswith(end):
            return end
    plural = word.endswith("s") and not word.endswith("ss")
    if word in nouns:
        return "noun-s" if plural else "noun"
    if word.endswith(_ADJ_END) and not word.endswith("ment"):
        return "adj"
    return "s" if plural else ""


@dataclass
class Vocab:
    """What one article offers the word-level edits: its lowercase content words by
    :func:`_shape` (used at least twice, so they are what the article is about), its
    adjective-like modifiers and its years."""

    words: dict[str, list[str]] = field(default_factory=dict)
    modifiers: list[str] = field(default_factory=list)
    years: list[str] = field(default_factory=list)
    nouns: set[str] = field(default_factory=set)


def article_vocab(paragraphs: list[str]) -> Vocab:
    counts: dict[str, int] = {}
    mods: set[str] = set()
    years: set[str] = set()
    nouns: set[str] = set()
    for par in paragraphs:
        nouns.update(_AFTER_DET.findall(par))
        for w in _LOWER_WORD.findall(par):
            if w not in _QUESTION_WORDS and not w.endswith("ly") and "-" not in w.strip("-"):
                counts[w] = counts.get(w, 0) + 1
        for m in _MODIFIER.finditer(par):
            w = m.group(1)
            if w in _ORDINALS or (
                w not in _QUESTION_WORDS | _NUMBER_WORDS
                and w.endswith(_ADJ_END)
                and not w.endswith("ment")
            ):
                mods.add(w)
        years.update(_YEAR.findall(par))
    nouns -= mods | _QUESTION_WORDS
    words: dict[str, list[str]] = {}
    for w in sorted(w for w, c in counts.items() if c >= 2):
        words.setdefault(_shape(w, nouns), []).append(w)
    return Vocab(words, sorted(mods), sorted(years), nouns)


def _par_stems(paragraph: str) -> set[str]:
    return set(tokens(paragraph))


def swap_word(
    question: str, sentence: str, paragraph: str, vocab: Vocab, rng: random.Random
) -> str | None:
    """Swap a lowercase content word of the question (one the answer sentence uses, when there
    is one) for a word of the same shape from the article that the paragraph never uses:
    "What did the king build?" -> "What did the bishop build?"."""
    low_sent = set(tokens(sentence))
    mine = [
        m
        for m in _LOWER_WORD.finditer(question)
        if m.group(0) not in _QUESTION_WORDS and _shape(m.group(0), vocab.nouns) != "ly"
    ]
    if not mine:
        return None
    key = [m for m in mine if set(tokens(m.group(0))) & low_sent]
    m = rng.choice(key or mine)
    old = m.group(0)
    stems = _par_stems(paragraph) | set(tokens(question))
    cands = [
        w
        for w in vocab.words.get(_shape(old, vocab.nouns), [])
        if w != old and not set(tokens(w)) & stems and w not in paragraph.lower()
    ]
    if not cands:
        return None
    return question[: m.start()] + rng.choice(cands) + question[m.end() :]


def insert_unmentioned(
    question: str, paragraph: str, vocab: Vocab, rng: random.Random
) -> str | None:
    """Something the paragraph never mentions: an adjective-like modifier of the article before
    a noun of the question ("the king" -> "the northern king"), or else a year of the article
    the paragraph lacks, as a qualifier at the end ("... in 1204?")."""
    stems = _par_stems(paragraph) | set(tokens(question))
    mods = [w for w in vocab.modifiers if not set(tokens(w)) & stems]
    slots = [
        m
        for m in re.finditer(rf"\b({_DET})\s+([a-z]{{3,}})\b", question)
        if m.group(2) not in _QUESTION_WORDS and m.group(2) not in vocab.modifiers
    ]
    if mods and slots:
        m = rng.choice(slots)
        new = rng.choice(mods)
        det = m.group(1)
        if det == "a" and new[0] in "aeiou":
            det = "an"
        elif det == "an" and new[0] not in "aeiou":
            det = "a"
        return question[: m.start()] + f"{det} {new} {m.group(2)}" + question[m.end() :]
    years = [y for y in vocab.years if y not in paragraph]
    asks_time = re.search(r"\b(?:when|years?|date|century|decade)\b", question, re.I)
    if years and not asks_time and not _YEAR.search(question) and question.rstrip().endswith("?"):
        return question.rstrip()[:-1].rstrip() + f" in {rng.choice(years)}?"
    return None


_BASE_EDITS = {"entity": 4.0, "number": 4.0, "antonym": 3.0, "foreign": 2.0, "negation": 1.0}
_WORD_EDITS = {"swap": 6.0, "unmentioned": 3.0}


def edit_question(
    question: str,
    sentence: str,
    paragraph: str,
    own: list[str],
    foreign: list[str],
    rng: random.Random,
    vocab: Vocab | None = None,
) -> tuple[str, str] | None:
    """An unanswerable twin of ``question`` whose old answer sentence still looks right, with
    the kind of edit; None when no edit applies. ``own`` are entities of the same article (not
    in this paragraph), ``foreign`` entities of other articles; ``vocab`` (the article's
    :func:`article_vocab`) enables the word swap and the unmentioned modifier. Without it the
    edits (and the random draws) are exactly the earlier ones, which keeps the held-out pairs
    the training curve is measured on comparable across runs."""
    low_par = paragraph.lower()
    # weighted order without replacement: negation applies to almost every question, so it is
    # tried last most of the time or it would crowd out the subtler edits
    weights = _BASE_EDITS | (_WORD_EDITS if vocab is not None else {})
    kinds = sorted(weights, key=lambda k: rng.random() ** (1.0 / weights[k]), reverse=True)
    for kind in kinds:
        if kind == "swap" and vocab is not None:
            new = swap_word(question, sentence, paragraph, vocab, rng)
            if new and new != question:
                return new, kind
        elif kind == "unmentioned" and vocab is not None:
            new = insert_unmentioned(question, paragraph, vocab, rng)
            if new and new != question:
                return new, kind
        elif kind == "entity":
            ents = entities(question)
            cands = [e for e in own if e.lower() not in low_par]
            if ents and cands:
                old = rng.choice(ents)
                new = rng.choice(cands)
                if new != old:
                    return question.replace(old, new, 1), kind
        elif kind == "foreign":
            ents = entities(question)
            cands = [e for e in foreign if e.lower() not in low_par]
            if ents and cands:
                return question.replace(rng.choice(ents), rng.choice(cands), 1), kind
        elif kind == "number":
            nums = _NUMBER.findall(question)
            if nums:
                old = rng.choice(nums)
                digits = old.replace(",", "")
                try:
                    val = float(digits)
                except ValueError:
                    continue
                if len(digits) == 4 and 1000 < val < 2100:
                    new = str(int(val) + rng.choice([-1, 1]) * rng.randint(2, 40))
                else:
                    new = str(int(val * rng.choice([2, 3, 10]) + rng.randint(1, 9)))
                if new not in paragraph:
                    return re.sub(rf"\b{re.escape(old)}\b", new, question, count=1), kind
        elif kind == "negation":
            m = _AUX.search(question)
            if m and " not " not in question and "n't" not in question:
                return question[: m.end()] + "not " + question[m.end() :], kind
        elif kind == "antonym":
            ws = re.findall(r"[A-Za-z]+", question)
            hits = [w for w in ws if w.lower() in _ANTONYMS]
            if hits:
                w = rng.choice(hits)
                ant = _ANTONYMS[w.lower()]
                if ant not in low_par:
                    return re.sub(rf"\b{w}\b", ant, question, count=1), kind
    return None


# ---------------------------------------------------------------- training pairs
