"""Training, calibration and eval pairs for the reader, from the shared SQuAD files.

The reader judges one (question, sentence) pair at a time, so every example is a pair:
- positive: the sentence that holds a SQuAD answer, with the answer's character span;
- hard negatives: the same paragraph's other sentences (the most word-sharing first), and other
  paragraphs' questions against the sentence of this one that shares most words with them;
- edited negatives, made the way SQuAD 2.0's writers made unanswerable questions: a common
  word of the question swapped for another word of the same article that the paragraph never
  uses (the most frequent edit in SQuAD 2.0), an entity, number or date swapped, a negation
  added, an antonym, a modifier or a year from elsewhere in the article ("something not
  mentioned") — each paired with the sentence that answered the original question, so it still
  "looks right";
- SQuAD 2.0's own unanswerable questions against their ``plausible_answers`` sentence.

Whole articles are held out (Spectre with its real unanswerables, and 30 SQuAD 1.1 articles),
split by article into a calibration part and a test part. SQuAD 2.0 *dev* is never read.
No torch here: the eval-set builder and the tests import this module.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index.sentences import sentence_spans
from index.text import STOPWORDS, tokens

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SQUAD11 = "squad11-train.json.gz"
SQUAD2 = "squad2-train-first10.json.gz"
SEED = 20261201
HELD_OUT_SQUAD11 = 30  # whole SQuAD 1.1 articles kept out of training
SPECTRE = "Spectre_(2015_film)"


@dataclass
class Pair:
    """One reader example; ``span`` is the answer's character span inside ``sentence``."""

    question: str
    sentence: str
    context: str  # the sentence before, for "He said …" sentences
    label: int
    kind: str
    span: tuple[int, int] | None = None
    article: str = ""


@dataclass
class Question:
    """A question over a whole held-out article (for calibration and the eval set)."""

    id: str
    article: str
    question: str
    answers: list[str]
    evidence: list[str]  # the sentence(s) holding the answer; empty when unanswerable
    answerable: bool
    tags: list[str] = field(default_factory=list)


def load(name: str, data_dir: Path = DATA) -> list[dict]:
    with gzip.open(data_dir / name, "rt", encoding="utf-8") as fh:
        return json.load(fh)["data"]


def split_articles(squad11: list[dict]) -> tuple[list[str], list[str], list[str]]:
    """(train, calibration, test) article titles; the held-out ones split by article."""
    titles = [a["title"] for a in squad11]
    rng = random.Random(SEED)
    pool = [t for t in titles if t != SPECTRE]
    held = rng.sample(pool, HELD_OUT_SQUAD11)
    # Zelda holds the only other real unanswerables: it trains
    held = [t for t in held if not t.startswith("The_Legend_of_Zelda")]
    calib, test = held[: len(held) // 2], held[len(held) // 2 :]
    train = [t for t in titles if t not in set(held) | {SPECTRE}]
    return train, calib, test


def paragraph_sentences(context: str) -> list[tuple[int, int]]:
    return sentence_spans(context)


def _sentence_of(spans: list[tuple[int, int]], start: int, end: int) -> int | None:
    for i, (s, e) in enumerate(spans):
        if s <= start and end <= e:
            return i
    return None


def _overlap(q: set[str], text: str) -> int:
    return len(q & set(tokens(text)))


# ---------------------------------------------------------------- question edits (SQuAD 2.0 way)

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


def _context(par: str, spans: list[tuple[int, int]], i: int) -> str:
    return par[spans[i - 1][0] : spans[i - 1][1]] if i > 0 else ""


def training_pairs(
    squad11: list[dict],
    squad2: list[dict],
    train_titles: list[str],
    rng: random.Random,
    questions_per_article: int = 70,
    word_edits: bool = True,
) -> Iterator[Pair]:
    """``word_edits=False`` leaves out the word swap and the unmentioned modifier (the edits as
    they were before them), for held-out pairs comparable with earlier runs."""
    train = set(train_titles)
    by_title = {a["title"]: a for a in squad11 if a["title"] in train}
    all_ents: list[str] = []
    art_ents: dict[str, list[str]] = {}
    for t, a in by_title.items():
        ents = sorted({e for p in a["paragraphs"] for e in entities(p["context"])})
        art_ents[t] = ents
        all_ents.extend(rng.sample(ents, min(40, len(ents))))
    for t, a in by_title.items():
        paras = a["paragraphs"]
        spans_of = [paragraph_sentences(p["context"]) for p in paras]
        sent_tokens = [
            [set(tokens(p["context"][s:e])) for s, e in spans]
            for p, spans in zip(paras, spans_of, strict=True)
        ]
        vocab = article_vocab([p["context"] for p in paras]) if word_edits else None
        qs = [(pi, q) for pi, p in enumerate(paras) for q in p["qas"]]
        rng.shuffle(qs)
        for pi, q in qs[:questions_per_article]:
            par = paras[pi]["context"]
            spans = spans_of[pi]
            ans = q["answers"][0]
            a0, a1 = ans["answer_start"], ans["answer_start"] + len(ans["text"])
            i = _sentence_of(spans, a0, a1)
            if i is None:
                continue
            s0, s1 = spans[i]
            sent = par[s0:s1]
            qtok = set(tokens(q["question"]))
            yield Pair(
                q["question"], sent, _context(par, spans, i), 1, "pos", (a0 - s0, a1 - s0), t
            )
            # hard negative: the paragraph's most word-sharing other sentence, plus a random one
            others = [j for j in range(len(spans)) if j != i]
            others = [j for j in others if ans["text"] not in par[spans[j][0] : spans[j][1]]]
            if others:
                others.sort(key=lambda j: -_overlap(qtok, par[spans[j][0] : spans[j][1]]))
                for j in {others[0], rng.choice(others)}:
                    yield Pair(
                        q["question"],
                        par[spans[j][0] : spans[j][1]],
                        _context(par, spans, j),
                        0,
                        "sibling",
                        None,
                        t,
                    )
            # the article's closest sentence outside this paragraph: what a whole-article
            # search puts beside the right one, so what ranking there has to tell apart
            best = max(
                (
                    (len(qtok & toks), pj, j)
                    for pj, sents in enumerate(sent_tokens)
                    if pj != pi
                    for j, toks in enumerate(sents)
                ),
                default=None,
            )
            if best is not None and best[0] > 0:
                _, pj, j = best
                ospans, opar = spans_of[pj], paras[pj]["context"]
                osent = opar[ospans[j][0] : ospans[j][1]]
                if ans["text"].lower() not in osent.lower():
                    yield Pair(
                        q["question"], osent, _context(opar, ospans, j), 0, "article", None, t
                    )
            # another paragraph's closest sentence
            if rng.random() < 0.3 and len(paras) > 1:
                pj = rng.randrange(len(paras))
                if pj != pi:
                    ospans = spans_of[pj]
                    opar = paras[pj]["context"]
                    j = max(
                        range(len(ospans)),
                        key=lambda k: len(qtok & sent_tokens[pj][k]),
                    )
                    osent = opar[ospans[j][0] : ospans[j][1]]
                    if ans["text"].lower() not in osent.lower():
                        yield Pair(
                            q["question"], osent, _context(opar, ospans, j), 0, "elsewhere", None, t
                        )
            # an edited, unanswerable twin against the sentence that answered the original
            if rng.random() < 0.6:
                own = [e for e in art_ents[t] if e.lower() not in par.lower()]
                edited = edit_question(q["question"], sent, par, own, all_ents, rng, vocab)
                if edited:
                    yield Pair(
                        edited[0], sent, _context(par, spans, i), 0, f"edit-{edited[1]}", None, t
                    )
    # SQuAD 2.0's real unanswerables (training articles only: Spectre is held out)
    for a in squad2:
        if a["title"] not in train:
            continue
        for p in a["paragraphs"]:
            par = p["context"]
            spans = paragraph_sentences(par)
            for q in p["qas"]:
                if not q.get("is_impossible"):
                    continue
                for pa in q.get("plausible_answers", [])[:1]:
                    i = _sentence_of(
                        spans, pa["answer_start"], pa["answer_start"] + len(pa["text"])
                    )
                    if i is None:
                        continue
                    sent = par[spans[i][0] : spans[i][1]]
                    for _ in range(3):  # scarce and the best there are: seen three times
                        yield Pair(
                            q["question"],
                            sent,
                            _context(par, spans, i),
                            0,
                            "squad2-impossible",
                            None,
                            a["title"],
                        )


def question_groups(pairs: list[Pair]) -> list[list[Pair]]:
    """The pairs of one question side by side: ``training_pairs`` yields a question's positive
    and its negatives in a row, and an edited twin (a question of its own) after them."""
    groups: list[list[Pair]] = []
    for p in pairs:
        g = groups[-1] if groups else None
        if g and g[0].question == p.question and g[0].article == p.article:
            if all(x.sentence != p.sentence for x in g):  # SQuAD 2.0's, seen thrice
                g.append(p)
        else:
            groups.append([p])
    return groups


# ---------------------------------------------------------------- held-out questions


def held_out_questions(
    squad11: list[dict],
    squad2: list[dict],
    titles: list[str],
    rng: random.Random,
    per_article: int = 12,
    spectre: str | None = None,
) -> tuple[list[Question], dict[str, str]]:
    """Questions over whole held-out articles, and the article texts (paragraphs joined by a
    blank line). ``spectre`` = "even"/"odd": half of Spectre's paragraphs, all its questions."""
    out: list[Question] = []
    texts: dict[str, str] = {}
    for a in squad11:
        if a["title"] not in titles:
            continue
        texts[a["title"]] = "\n\n".join(p["context"] for p in a["paragraphs"])
        qs = [(p, q) for p in a["paragraphs"] for q in p["qas"]]
        rng.shuffle(qs)
        for p, q in qs[:per_article]:
            out.append(_question(a["title"], p["context"], q, ["squad11"]))
    if spectre:
        a = next(x for x in squad2 if x["title"] == SPECTRE)
        paras = [p for k, p in enumerate(a["paragraphs"]) if (k % 2 == 0) == (spectre == "even")]
        texts[SPECTRE] = "\n\n".join(p["context"] for p in a["paragraphs"])
        for p in paras:
            for q in p["qas"]:
                out.append(_question(SPECTRE, p["context"], q, ["spectre"]))
    return [q for q in out if q is not None], texts


def _question(title: str, par: str, q: dict, tags: list[str]) -> Question | None:
    if q.get("is_impossible"):
        return Question(q["id"], title, q["question"], [], [], False, [*tags, "unanswerable"])
    ans = q["answers"][0]
    a0, a1 = ans["answer_start"], ans["answer_start"] + len(ans["text"])
    spans = paragraph_sentences(par)
    i = _sentence_of(spans, a0, a1)
    if i is None:
        return None
    return Question(
        q["id"],
        title,
        q["question"],
        sorted({x["text"] for x in q["answers"]}),
        [par[spans[i][0] : spans[i][1]]],
        True,
        tags,
    )


def as_dicts(pairs: list[Pair]) -> list[dict]:
    return [asdict(p) for p in pairs]
