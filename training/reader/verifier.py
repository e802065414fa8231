"""(claim, sentence) pairs for the claim verifier: does this sentence state this claim?

The verifier is a second head on the reader's encoder. It judges what a model wrote against
the one sentence the user is shown, so its examples are made from SQuAD sentences and their
edits, in general language, never from any shipped article:

- supported: the sentence itself, one of its clauses (a claim usually states part of a
  sentence), the sentence with words of the same meaning put in (``paraphrase.reword``);
- not supported: a name of the sentence swapped for another name of its article (subject,
  object or speaker alike), a number changed, a negation added or dropped, the statement
  reversed in words a negation test does not list ("X denied that …", "It is false that …",
  "… away from …"), a speaker the sentence never names ("X said that …"), a known antonym put
  in, and another sentence of the same paragraph (on topic, but not this statement).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from training.reader.data import paragraph_sentences
from training.reader.edits import _ANTONYMS, _AUX, _NUMBER, entities
from training.reader.paraphrase import Synonyms, reword

_CLAUSE = re.compile(r";\s+|,\s+(?:and|but|while|whereas)\s+")
# sentence openers that are not names, lower-cased when the sentence goes after "that"
_OPENERS = frozenset(
    [
        "the",
        "a",
        "an",
        "in",
        "on",
        "at",
        "it",
        "he",
        "she",
        "they",
        "we",
        "this",
        "these",
        "those",
        "there",
        "during",
        "after",
        "before",
        "since",
        "when",
        "while",
        "by",
        "for",
        "from",
        "with",
        "as",
        "its",
        "his",
        "her",
        "their",
        "some",
        "many",
        "most",
    ]
)
_NOT = re.compile(r"\b(is|was|are|were|did|does|do|has|have|had|can|could|will|would) not\b")
_TO = re.compile(r"\b(moved|sent|went|returned|came|travelled|traveled|fled|migrated) to\b")
_REVERSALS = (
    "It is false that {s}",
    "It is not true that {s}",
    "{e} denied that {s}",
    "Reports that {s} were later shown to be untrue.",
    "{e} rejected claims that {s}",
)
_ATTRIBUTIONS = ("{e} said that {s}", "According to {e}, {s}", "{e} announced that {s}")


@dataclass
class ClaimPair:
    claim: str
    sentence: str
    label: int  # 1: the sentence states the claim
    kind: str


def _lower_first(s: str) -> str:
    s = s.rstrip(" .")
    first = s.split(" ", 1)[0]
    return s[:1].lower() + s[1:] if first.lower() in _OPENERS else s


def clauses(sentence: str) -> list[str]:
    """Parts of the sentence of five words or more, as a claim would state them."""
    parts = [p.strip(" ,;.") for p in _CLAUSE.split(sentence)]
    if len(parts) < 2:
        return []
    return [p[:1].upper() + p[1:] + "." for p in parts if len(p.split()) >= 6]


def _swap_name(sentence: str, others: list[str], rng: random.Random) -> str | None:
    names = [e for e in set(entities(sentence)) if len(e) > 2]
    choices = [o for o in others if o not in sentence]
    if not names or not choices:
        return None
    old = rng.choice(names)
    return sentence.replace(old, rng.choice(choices), 1)


def _change_number(sentence: str, rng: random.Random) -> str | None:
    nums = list(_NUMBER.finditer(sentence))
    if not nums:
        return None
    m = rng.choice(nums)
    digits = m.group().replace(",", "")
    try:
        value = float(digits)
    except ValueError:
        return None
    new = value + rng.choice((1, 2, 3, 5, 10)) * (1 if rng.random() < 0.5 else -1)
    if value >= 1000 and value == int(value) and not 1500 < value < 2100:
        new = value * rng.choice((2, 3, 10))
    text = str(int(new)) if new == int(new) else f"{new:.1f}"
    return sentence[: m.start()] + text + sentence[m.end() :]


def _negate(sentence: str) -> str | None:
    if _NOT.search(sentence):
        return _NOT.sub(r"\1", sentence, count=1)
    m = _AUX.search(sentence)
    return sentence[: m.end(1)] + " not" + sentence[m.end(1) :] if m else None


def _antonym(sentence: str, rng: random.Random) -> str | None:
    spots = [m for m in re.finditer(r"\b[a-z]+\b", sentence) if m.group() in _ANTONYMS]
    if not spots:
        return None
    m = rng.choice(spots)
    return sentence[: m.start()] + _ANTONYMS[m.group()] + sentence[m.end() :]


def claim_pairs(
    sentence: str,
    paragraph_sentences_: list[str],
    article_names: list[str],
    synonyms: Synonyms | None,
    rng: random.Random,
) -> Iterator[ClaimPair]:
    """About two supported and three unsupported claims for one sentence."""
    s = sentence.strip()
    outsider = [e for e in article_names if e not in s]
    supported = [s, *clauses(s)]
    if synonyms is not None:
        r = reword(s, s, "", synonyms, rng)
        if r and r != s:
            supported.append(r)
    for c in rng.sample(supported, min(2, len(supported))):
        yield ClaimPair(c, s, 1, "supported")
    base = rng.choice(supported)
    edits = []
    for kind, make in (
        ("name", lambda: _swap_name(base, outsider, rng)),
        ("number", lambda: _change_number(base, rng)),
        ("negation", lambda: _negate(base)),
        ("antonym", lambda: _antonym(base, rng)),
        (
            "direction",
            lambda: _TO.sub(r"\1 away from", base, count=1) if _TO.search(base) else None,
        ),
    ):
        e = make()
        if e and e != base:
            edits.append((kind, e))
    if outsider:
        e = rng.choice(outsider)
        edits.append(("reversal", rng.choice(_REVERSALS).format(e=e, s=_lower_first(base))))
        edits.append(("speaker", rng.choice(_ATTRIBUTIONS).format(e=e, s=_lower_first(base))))
    others = [o for o in paragraph_sentences_ if o.strip() != s and len(o.split()) >= 5]
    if others:
        edits.append(("other-sentence", rng.choice(others)))
    for kind, e in rng.sample(edits, min(3, len(edits))):
        yield ClaimPair(e, s, 0, f"claim-{kind}")


def verifier_pairs(
    squad11: list[dict],
    titles: list[str],
    synonyms: Synonyms | None,
    rng: random.Random,
    sentences_per_article: int = 60,
) -> Iterator[ClaimPair]:
    """Claim pairs from the answer sentences of the given articles."""
    keep = set(titles)
    for a in squad11:
        if a["title"] not in keep:
            continue
        names = sorted({e for p in a["paragraphs"] for e in entities(p["context"])})
        picks = []
        for p in a["paragraphs"]:
            par = p["context"]
            sents = [par[s:e] for s, e in paragraph_sentences(par)]
            picks += [(x, sents) for x in sents if 6 <= len(x.split()) <= 60]
        for sent, sents in rng.sample(picks, min(sentences_per_article, len(picks))):
            yield from claim_pairs(sent, sents, names, synonyms, rng)
