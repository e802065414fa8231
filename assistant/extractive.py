"""The offline answerer: the learned reader picks the sentence that answers, and says when none
does.

Every sentence of the retrieved passages is a candidate; the best of them by what retrieval
knows (``assistant.reader.ranking``) are read: the reader (``assistant.reader``)
judges each against the question with a little context (the text just before it, for "He
said …" sentences) and marks the short answer inside the best one. The answer quotes that
sentence whole, verbatim, with its offsets, and carries the short answer's document offsets.
It declines when the best sentence's calibrated score is below ``Settings.decline_threshold``
(chosen on held-out data by ``assistant eval calibrate``). No rule here names anything in any
article: what the reader replaced (idf coverage, question-type regexes, hand-set weights) is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from assistant.answerers import AnswerStream
from assistant.injection import addresses_assistant
from assistant.reader.decline import DeclineModel, Signals, Similarity, content_words, signals
from assistant.reader.model import Judgement, Reader
from assistant.reader.ranking import RankModel, features, retrieval_features
from assistant.types import HEDGE_TEXT, Answer, Citation, Document, Passage, ShortAnswer
from index.sentences import sentence_spans
from index.text import tokens, words
from index.wordvectors import shared_word_vectors

DECLINE_TEXT = "The article does not say."
CONTEXT_CHARS = 200  # the encoder keeps the last 24 tokens of it
# The short answer is given only when the reader's span probability reaches this: measured on
# the dev parts of both eval sets (questions whose cited sentence holds the answer), 94% of the
# short answers shown at 0.30 are right and 64% are shown; at 0.10, 85% are right. A wrong
# short answer heading a turn is worse than none (the sentence is then the answer).
SHORT_ANSWER_MIN = 0.30


@dataclass
class Candidate:
    passage: Passage
    start: int  # offsets in the document
    end: int
    text: str
    context: str
    judgement: Judgement | None = None
    rank_features: tuple[float, ...] = ()  # what the ranking model weighs (``ranking.FEATURES``)
    rank_score: float = 0.0  # the ranking model's: what orders the candidates

    @property
    def score(self) -> float:
        return self.judgement.score if self.judgement else 0.0


def context_before(doc_text: str, start: int) -> str:
    """The text before ``start`` in its paragraph: what a pronoun at the start points back to."""
    before = doc_text[max(0, start - CONTEXT_CHARS) : start]
    cut = before.rfind("\n")
    return (before[cut + 1 :] if cut >= 0 else before).strip()


def candidates(
    passages: Sequence[Passage], documents: Mapping[str, Document] | None = None
) -> list[Candidate]:
    """Each sentence of the passages once (passages may overlap), in retrieval order."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for p in passages:
        doc = documents.get(p.doc_id) if documents else None
        for s, e in sentence_spans(p.text):
            key = (p.doc_id, p.start + s, p.start + e)
            if key in seen or not words(p.text[s:e]) or addresses_assistant(p.text[s:e]):
                continue
            seen.add(key)
            ctx = (
                context_before(doc.text, p.start + s)
                if doc is not None
                else context_before(p.text, s)
            )
            out.append(Candidate(p, p.start + s, p.start + e, p.text[s:e], ctx))
    return out


def passage_documents(
    passages: Sequence[Passage], documents: Mapping[str, Document]
) -> dict[str, Document]:
    """The documents the passages come from: all an answer can quote or name. Built from the
    passages, not the corpus: a dict of 10,000 titles cost 1.8 ms an answer (cProfile of
    ``python -m bench.run --profile`` at 10,000 articles)."""
    return {p.doc_id: documents[p.doc_id] for p in passages if p.doc_id in documents}


@lru_cache(maxsize=256)
def _terms(text: str) -> frozenset[str]:
    return frozenset(tokens(text))


def _words(text: str) -> tuple[str, ...]:
    return tuple(content_words(text))


# one function, two caches: a few whole documents, and the many sentences of the candidates
# (sharing one cache, the sentences of a large corpus would push the documents out)
_document_words = lru_cache(maxsize=64)(_words)
_sentence_words = lru_cache(maxsize=4096)(_words)


class ExtractiveAnswerer:
    def __init__(
        self,
        reader: Reader,
        *,
        threshold: float,
        hedge_threshold: float | None = None,
        idf: Callable[[str], float] | None = None,
        decline: DeclineModel | None = None,
        ranker: RankModel | None = None,
        similarity: Similarity | None = shared_word_vectors.best_similarity,
    ) -> None:
        self.reader = reader
        self.similarity = similarity
        self.threshold = threshold
        # at or above the decline threshold (or unset) nothing is hedged
        self.hedge_threshold = threshold if hedge_threshold is None else hedge_threshold
        self.idf = idf or (lambda _term: 1.0)
        self.decline = decline or DeclineModel()
        self.ranker = ranker or RankModel()

    def signals(
        self,
        question: str,
        ranked: Sequence[Candidate],
        documents: Mapping[str, Document] | None = None,
        *,
        every_signal: bool = False,
    ) -> Signals:
        """The decline signals of the best candidate (``ranked`` best first). A signal the
        decline model weighs 0 is not computed (0.0) unless ``every_signal`` (for fitting):
        matching a question against every word of its document is the costly one."""
        best = ranked[0]
        doc_words: Sequence[str] | None = None
        if every_signal or self.decline.weighs("unmatched_in_document"):
            doc = documents.get(best.passage.doc_id) if documents else None
            doc_words = _document_words(doc.text if doc is not None else best.passage.text)
        doc_stems = None
        if every_signal or self.decline.weighs("names_not_in_document"):
            doc = documents.get(best.passage.doc_id) if documents else None
            doc_stems = _terms(doc.text if doc is not None else best.passage.text)
        span = best.judgement.span_score if best.judgement else 0.0
        return signals(
            question,
            [c.score for c in ranked],
            span,
            best.text,
            best.context,
            doc_words,
            self.idf,
            self.similarity,
            doc_stems,
        )

    def judge(
        self,
        question: str,
        passages: Sequence[Passage],
        documents: Mapping[str, Document] | None = None,
    ) -> list[Candidate]:
        """The candidates the reader read, with its verdicts, best first by the ranking model.

        The reader reads the ``ranker.read`` candidates the retrieval signals rank best (all of
        them without a prefilter); the others are not candidates."""
        cands = candidates(passages, documents)
        q = content_words(question)
        best_lexical = max((p.lexical or 0.0 for p in passages), default=0.0)
        known = {
            id(c): retrieval_features(
                q,
                _sentence_words(c.text),
                self.idf,
                c.passage.lexical,
                best_lexical,
                c.passage.dense,
                self.similarity,
            )
            for c in cands
        }
        read = self.ranker.read
        if read is not None and len(cands) > read:
            order = sorted(
                cands,
                key=lambda c: (-self.ranker.retrieval_score(known[id(c)]), c.passage.rank, c.start),
            )
            cands = order[:read]
        verdicts = self.reader.judge(question, [(c.text, c.context) for c in cands])
        for c, v in zip(cands, verdicts, strict=True):
            c.judgement = v
            c.rank_features = features(v.score, known[id(c)])
            c.rank_score = self.ranker.score(c.rank_features)
        # ties (rare with float scores) go to the better-retrieved passage
        return sorted(cands, key=lambda c: (-c.rank_score, c.passage.rank, c.start))

    def stream(
        self, question: str, passages: Sequence[Passage], documents: Mapping[str, Document]
    ) -> AnswerStream:
        """The ``Answerer`` face: the answer is whole at once, so it streams in one piece."""
        cited = passage_documents(passages, documents)
        titles = {doc_id: doc.title for doc_id, doc in cited.items()}
        return AnswerStream.of(self.answer(question, passages, titles, cited))

    def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        titles: Mapping[str, str],
        documents: Mapping[str, Document] | None = None,
    ) -> Answer:
        ranked = self.judge(question, passages, documents)
        confidence = (
            self.decline.probability(self.signals(question, ranked, documents)) if ranked else 0.0
        )
        if ranked and self.hedge_threshold <= confidence < self.threshold:
            return self.hedge(ranked[0], passages, titles, confidence)
        if not ranked or confidence < self.threshold:
            return Answer(
                text=DECLINE_TEXT,
                grounded=False,
                mode="extractive",
                passages=list(passages),
                confidence=confidence,
            )
        best = ranked[0]
        return Answer(
            text=f"“{best.text}” [1]",
            citations=[cite(best, titles)],
            grounded=True,
            mode="extractive",
            passages=list(passages),
            confidence=confidence,
            short_answer=short_answer(best),
            claims_shown=1,
        )

    def hedge(
        self,
        best: Candidate,
        passages: Sequence[Passage],
        titles: Mapping[str, str],
        confidence: float,
    ) -> Answer:
        """Unsure whether the article answers: its one closest sentence, cited, said to be a
        guess. Better than "does not say" above three loose passages when the question was
        asked in other words than the article's, and honest when it is a near miss."""
        return Answer(
            text=f"{HEDGE_TEXT} “{best.text}” [1]",
            citations=[cite(best, titles)],
            grounded=False,
            hedged=True,
            mode="extractive",
            passages=list(passages),
            confidence=confidence,
        )


def cite(c: Candidate, titles: Mapping[str, str]) -> Citation:
    """The candidate sentence as citation [1], verbatim with its document offsets."""
    return Citation(
        n=1,
        doc_id=c.passage.doc_id,
        chunk_id=c.passage.chunk_id,
        start=c.start,
        end=c.end,
        quote=c.text,
        title=titles.get(c.passage.doc_id, c.passage.doc_id),
    )


def short_answer(c: Candidate) -> ShortAnswer | None:
    """The reader's span as document offsets (``document.text[start:end] == text``)."""
    if c.judgement is None or c.judgement.span is None:
        return None
    if c.judgement.span_score < SHORT_ANSWER_MIN:
        return None
    s, e = c.judgement.span
    text = c.text[s:e].strip(" ,;:")
    if not text:
        return None
    s += c.text[s:e].index(text)
    return ShortAnswer(
        doc_id=c.passage.doc_id,
        start=c.start + s,
        end=c.start + s + len(text),
        text=text,
        citation=1,
        score=c.judgement.span_score,
    )
