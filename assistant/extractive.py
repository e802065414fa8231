"""The offline answerer: quote the sentence(s) of the retrieved passages that answer.

Each candidate sentence is scored on signals measured to matter on news text:
- coverage: the share of the question's idf weight whose (stemmed) terms the sentence holds —
  rare terms ("Brussels", "pipeline") count far more than common ones;
- dense: WordLlama cosine between question and sentence (carries synonyms a little);
- type: what the question asks for against what the sentence holds (how many → a number,
  when → a time expression, who → a name, where → a place), and negation for yes/no questions;
- the passage's retrieval rank, as a small prior.

The decline decision uses ``confidence``, a calibrated blend of coverage and dense similarity of
the best sentence, compared with ``Settings.decline_threshold`` (written by ``assistant eval
calibrate``). Fused retrieval scores are never used for it: they saturate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.types import Answer, Citation, Passage
from index.embedding import WordLlamaEmbeddingFunction
from index.lexical import LexicalIndex
from index.sentences import sentence_spans
from index.text import NEGATIONS, tokens, words

DECLINE_TEXT = "The article does not say."

_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|hundred|thousand|million|billion|dozen)\b",
    re.I,
)
_TIME = re.compile(
    r"\b(\d{4}|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|"
    r"yesterday|tomorrow|week|weeks|month|months|year|years|january|february|march|"
    r"april|may|june|july|august|september|october|november|december|earlier|"
    r"ago|since|era|past|recently|now)\b",
    re.I,
)
_PLACE = re.compile(r"\b(in|at|to|from|near|on|between)\s+(the\s+)?[A-Z]", re.U)
_NAME = re.compile(
    r"[A-Z][a-z]+\s+[A-Z][a-z]+|\b(President|Chancellor|Secretary|leader|chief|"
    r"minister|ministry|allies|Russia|NATO)\b"
)
_YESNO = re.compile(
    r"^\s*(is|are|was|were|did|does|do|has|have|had|will|would|can|could|"
    r"should|shall)\b",
    re.I,
)


def query_terms(question: str) -> dict[str, str]:
    """Stem → surface word for the question's content words (question scaffolding dropped)."""
    out: dict[str, str] = {}
    for w in words(question):
        if w in _SCAFFOLD:
            continue
        t = tokens(w)
        if t and t[0] not in out:
            out[t[0]] = w
    return out


_SCAFFOLD = {
    "many",
    "much",
    "long",
    "happen",
    "happened",
    "mention",
    "mentioned",
    "mentions",
    "anything",
    "something",
    "know",
    "way",
    "kind",
    "exactly",
    "state",
    "stated",
}


def question_type(question: str) -> str:
    """What kind of thing the question asks for; the sentence must hold one to answer it."""
    q = question.lower().strip()
    if re.search(r"\b(what|which) year\b", q):
        return "year"
    if re.search(r"\bhow long\b(?! ago)", q):
        return "duration"
    if re.search(r"\bhow (many|much|long|large|big|old)\b|\bwhat (number|amount|sum)\b", q):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (day|date|year|month|time)\b|\bhow long ago\b", q):
        return "time"
    if re.search(r"\bwhere\b|\bwhich (country|city|region|place)\b", q):
        return "place"
    if re.search(r"\bwho\b|\bwhom\b|\bwhose\b", q):
        return "person"
    if _YESNO.match(q):
        return "yesno"
    return "other"


_BACKREF = re.compile(r"^\W*(he|she|it|they|this|that|these|those|his|her|their)\b", re.I)
_COSTS = re.compile(r"\b(cost|costs|price|paid|pay|spend|spent|worth|budget)\b", re.I)
_MONEY_WORDS = {"money", "cash", "funding", "funds", "aid", "dollars", "euros", "support"}
_MONEY = re.compile(r"[$€£]\s?\d|\b(billion|million|dollars?|euros?)\b", re.I)
_COUNTED = re.compile(r"\bhow (?:many|much)\s+([a-z]+)", re.I)


_YEAR = re.compile(r"\b(1[89]|20)\d{2}\b")
# a length of time or of a thing: a number (or number word) with a unit, e.g. "two-hour"
_DURATION = re.compile(
    r"\b(\d[\d,.]*|a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|few|many)"
    r"[\s-]+(second|minute|hour|day|week|month|year|decade|kilomet|km|mile|met(er|re))s?\b",
    re.I,
)


def _type_match(qtype: str, sentence: str) -> float:
    if qtype == "number":
        return 1.0 if _NUMBER.search(sentence) else 0.0
    if qtype == "year":
        return 1.0 if _YEAR.search(sentence) else 0.0
    if qtype == "duration":
        return 1.0 if _DURATION.search(sentence) else 0.0
    if qtype == "time":
        return 1.0 if _TIME.search(sentence) else 0.0
    if qtype == "place":
        return 1.0 if _PLACE.search(sentence) else 0.0
    if qtype == "person":
        return 1.0 if _NAME.search(sentence) else 0.0
    return 0.0


@dataclass(frozen=True)
class ScoringWeights:
    coverage: float = 1.0
    dense: float = 0.6
    type_match: float = 0.15
    negation: float = 0.1
    rank_prior: float = 0.05
    soft_match_min: float = 0.5
    context_credit: float = 0.5
    type_penalty: float = 0.4
    soft_match_credit: float = 0.8
    second_sentence_ratio: float = 0.92
    adjacent_ratio: float = 0.7
    confidence_coverage: float = 0.6
    confidence_dense: float = 0.4


@dataclass
class Candidate:
    passage: Passage
    start: int  # offsets in the document
    end: int
    text: str
    score: float = 0.0
    coverage: float = 0.0
    dense: float = 0.0
    confidence: float = 0.0
    context: set[str] | None = None  # tokens of the sentence before, when this one opens
    # with a pronoun that points back to it


class ExtractiveAnswerer:
    def __init__(
        self,
        embedder: WordLlamaEmbeddingFunction,
        lexical: LexicalIndex,
        *,
        threshold: float,
        weights: ScoringWeights | None = None,
    ) -> None:
        self.embedder = embedder
        self.lexical = lexical
        self.threshold = threshold
        self.w = weights or ScoringWeights()
        self._wv: dict[str, np.ndarray] = {}

    def _type_match(self, qtype: str, question: str, sentence: str) -> float:
        """Like ``_type_match``, but "how many troops" wants a number next to troops (or a
        near word, "soldiers"), not any number."""
        base = _type_match(qtype, sentence)
        m = _COUNTED.search(question) if qtype == "number" else None
        if not base or not m:
            return base
        noun = m.group(1).lower()
        if noun in _MONEY_WORDS or _COSTS.search(question):
            return 1.0 if _MONEY.search(sentence) else 0.5
        after = [w for w in re.findall(r"(\d[\d,.]*|[A-Za-z]+)", sentence)]
        near = {
            after[i + j].lower()
            for i, w in enumerate(after)
            if w[0].isdigit()
            for j in (1, 2, 3)
            if i + j < len(after)
        }
        if not near:
            return 0.5
        vectors = self._word_vectors(near | {noun})
        best = max(float(np.dot(vectors[noun], vectors[w])) for w in near)
        return 1.0 if best >= self.w.soft_match_min else 0.5

    def candidates(self, passages: Sequence[Passage]) -> list[Candidate]:
        seen: set[tuple[str, int, int]] = set()
        out = []
        for p in passages:
            prev = ""
            for s, e in sentence_spans(p.text):
                key = (p.doc_id, p.start + s, p.start + e)
                text, before = p.text[s:e], prev
                prev = text
                if key in seen or len(words(text)) < 3:
                    continue
                seen.add(key)
                context = set(tokens(before)) if before and _BACKREF.match(text) else None
                out.append(
                    Candidate(
                        passage=p, start=p.start + s, end=p.start + e, text=text, context=context
                    )
                )
        return out

    def _word_vectors(self, items: set[str]) -> dict[str, np.ndarray]:
        missing = [w for w in items if w not in self._wv]
        if missing:
            for w, v in zip(missing, self.embedder.embed(missing), strict=True):
                self._wv[w] = v
            if len(self._wv) > 50_000:
                self._wv.clear()
        return self._wv

    def _soft_coverage(
        self,
        qterms: dict[str, str],
        weights: dict[str, float],
        sentence: str,
        stoks: set[str],
        context: set[str] | None = None,
    ) -> float:
        """Idf-weighted share of question terms the sentence holds, exactly (stem) or nearly
        (word vectors: "troops" ~ "soldiers" at 0.66, which no stemmer joins)."""
        got = 0.0
        swords = {w for w in words(sentence) if len(w) > 2}
        vectors = None
        for stem, word in qterms.items():
            if stem in stoks:
                got += weights[stem]
                continue
            if len(stem) >= 5 and any(
                t.startswith(stem) or (len(t) >= 5 and stem.startswith(t)) for t in stoks
            ):
                got += weights[stem] * 0.9  # Ukraine ~ Ukrainian, Europe ~ European
                continue
            if context and stem in context:
                got += weights[stem] * self.w.context_credit  # "He did not…" after "Scholz…"
                continue
            if vectors is None:
                vectors = self._word_vectors(swords | set(qterms.values()))
            if not swords:
                continue
            qv = vectors[word]
            best = max(float(np.dot(qv, vectors[w])) for w in swords)
            if best >= self.w.soft_match_min:
                got += weights[stem] * best * self.w.soft_match_credit
        return got

    def score(self, question: str, cands: list[Candidate], qvec: np.ndarray | None = None) -> None:
        qterms = query_terms(question)
        qtoks = list(qterms)
        weights = {t: self.lexical.idf(t) for t in qtoks}
        total = sum(weights.values()) or 1.0
        qtype = question_type(question)
        q_neg = bool(NEGATIONS & set(words(question)))
        if qvec is None:
            qvec = self.embedder.embed([question])[0]
        svecs = self.embedder.embed([c.text for c in cands]) if cands else np.zeros((0, 1))
        for c, v in zip(cands, svecs, strict=True):
            stoks = set(tokens(c.text))
            c.coverage = self._soft_coverage(qterms, weights, c.text, stoks, c.context) / total
            c.dense = float(np.dot(qvec, v))
            tmatch = self._type_match(qtype, question, c.text)
            s_neg = bool(NEGATIONS & set(words(c.text)))
            neg = 1.0 if (qtype == "yesno" and s_neg) or (q_neg and s_neg) else 0.0
            c.score = (
                self.w.coverage * c.coverage
                + self.w.dense * c.dense
                + self.w.type_match * tmatch
                + self.w.negation * neg
                + self.w.rank_prior / c.passage.rank
            )
            c.confidence = self.w.confidence_coverage * c.coverage + self.w.confidence_dense * max(
                c.dense, 0.0
            )
            if qtype in {"number", "time", "year", "duration"}:
                # a "how many" answered without the counted thing next to a number is no answer
                factor = 1.0 - self.w.type_penalty * (1.0 - tmatch)
                c.confidence *= factor
                c.score *= factor

    def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        titles: dict[str, str],
        qvec: np.ndarray | None = None,
    ) -> Answer:
        cands = self.candidates(passages)
        self.score(question, cands, qvec)
        cands.sort(key=lambda c: -c.score)
        if not cands or cands[0].confidence < self.threshold:
            conf = cands[0].confidence if cands else 0.0
            return Answer(
                text=DECLINE_TEXT,
                grounded=False,
                mode="extractive",
                passages=list(passages),
                confidence=conf,
            )
        best = cands[0]
        chosen = [best]
        covered = set(tokens(best.text))
        qtoks = set(tokens(question))
        for c in cands[1:4]:
            adds = (qtoks - covered) & set(tokens(c.text))
            adjacent = c.passage.doc_id == best.passage.doc_id and (
                abs(c.start - best.end) <= 3 or abs(best.start - c.end) <= 3
            )
            ratio = self.w.adjacent_ratio if adjacent else self.w.second_sentence_ratio
            if adds and c.score >= ratio * best.score:
                chosen.append(c)
                break
        chosen.sort(key=lambda c: (c.passage.doc_id, c.start))
        citations = [
            Citation(
                n=i,
                doc_id=c.passage.doc_id,
                chunk_id=c.passage.chunk_id,
                start=c.start,
                end=c.end,
                quote=c.text,
                title=titles.get(c.passage.doc_id, c.passage.doc_id),
            )
            for i, c in enumerate(chosen, start=1)
        ]
        text = " ".join(f"“{c.quote}” [{c.n}]" for c in citations)
        return Answer(
            text=text,
            citations=citations,
            grounded=True,
            mode="extractive",
            passages=list(passages),
            confidence=best.confidence,
        )
