"""Training, calibration and eval pairs for the reader, from the shared SQuAD files.

The reader judges one (question, sentence) pair at a time, so every example is a pair:
- positive: the sentence that holds a SQuAD answer, with the answer's character span;
- hard negatives: the same paragraph's other sentences (the most word-sharing first), and other
  paragraphs' questions against the sentence of this one that shares most words with them;
- edited negatives, made the way SQuAD 2.0's writers made unanswerable questions
  (``training.reader.edits``), each paired with the sentence that answered the original
  question, so it still "looks right";
- SQuAD 2.0's own unanswerable questions against their ``plausible_answers`` sentence.

Whole articles are held out (Spectre with its real unanswerables, and 30 SQuAD 1.1 articles),
split by article into a calibration part and a test part. SQuAD 2.0 *dev* is never read.
No torch here: the eval-set builder and the tests import this module.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index.sentences import sentence_spans
from index.text import tokens
from training.reader.edits import article_vocab, edit_question, entities

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
