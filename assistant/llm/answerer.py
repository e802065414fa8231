"""The LLM answerer: prompt, model, then every claim judged, into one ``Answer``.

Two ways to cite, chosen by ``Settings.llm_citations``:

- ``sentences`` (default): the model sees numbered sentences and replies in JSON with claims
  and the numbers of the sentences stating them (``assistant.llm.claims``). The quotes are the
  sentences themselves, so they are verbatim with exact offsets by construction.
- ``quotes``: for servers without JSON-schema output, the model writes free text with quotes
  and ``[n]`` markers, and ``assistant.verify`` keeps only the quotes the passages hold. A JSON
  reply that cannot be read is also read this way.

Either way each claim is then judged on its own (``assistant.grounding``): a claim is shown only
if a sentence it cites states it (or, when it cites the wrong one, another sentence it was shown
that states it and that the reader judges to answer the question), unsupported claims are
removed and counted in ``Answer.claims_removed``, and an answer left with no claim declines,
with the closest passages. When the reader finds no sentence that answers (the offline answerer
would decline), the answer declines whatever a model would say, so the model is not asked at
all: seconds saved. ``grounded`` is true only when every shown claim is supported.

It raises the typed LLM errors (``assistant.errors.LLMError``) and nothing else on endpoint
failure; falling back to the extractive answerer is ``assistant.answerers.FallbackAnswerer``'s
job, not this one's.

Streaming: ``stream()`` returns the ``AnswerStream`` every answerer returns. Iterating it yields
draft text as the model writes (a JSON reply's claim texts, never the JSON); when the iteration
ends, ``.answer`` holds the judged ``Answer``, which a display should swap in for the draft.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from assistant.answerers import AnswerStream
from assistant.extractive import Candidate, passage_documents
from assistant.grounding import ClaimCheck, Evidence, Grounder
from assistant.llm.claims import (
    MAX_SENTENCES,
    PROMPT_MASS,
    Reply,
    claims_messages,
    live_text,
    parse_reply,
    response_format,
)
from assistant.llm.client import LLMClient
from assistant.llm.prompt import REFUSAL, answer_messages
from assistant.reader.ranking import likely_set
from assistant.settings import Settings
from assistant.types import Answer, Citation, Document, Passage, RemovedClaim
from assistant.verify import find_quotes, verify_answer
from index.sentences import sentence_spans

# A miscited claim may be re-pointed only to a sentence the reader gives at least this
# probability of answering the question: more likely than not, the reader's own "yes".
REPOINT_MIN = 0.5

DEFAULT_MAX_TOKENS = 384  # three short claims with their numbers fit easily
FIRST_TOKEN = "llm_first_token"  # timings key: milliseconds until the model's first delta
MAX_CLAIM_CHARS = 600  # a claim is a sentence or two; a longer one is cut at a word
_MARKER = re.compile(r"\[\s*(\d{1,3})(?:\s*[,;]\s*\d{1,3})*\s*\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\])+[.,;:!?]?")
Citations = Literal["sentences", "quotes"]


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


class LLMAnswerer:
    """Answers from retrieved passages through an OpenAI-compatible model, claim by claim."""

    def __init__(
        self,
        client: LLMClient,
        settings: Settings | None = None,
        *,
        grounder: Grounder | None = None,
        max_tokens: int | None = DEFAULT_MAX_TOKENS,
        citations: Citations | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.grounder = grounder or Grounder.default((settings or Settings()).decline_threshold)
        self.max_tokens = max_tokens
        self.citations: Citations = citations or (
            settings.llm_citations if settings is not None else "sentences"
        )

    def answer(
        self, question: str, passages: Sequence[Passage], documents: Mapping[str, Document]
    ) -> Answer:
        """One judged answer, asked without streaming."""
        if not passages:
            return self._declined(question, passages)
        ask = _Ask(self, question, passages, documents)
        if not ask.evidence.answerable:
            return ask.unanswered()
        started = time.perf_counter()
        completion = self.client.complete(ask.messages, **ask.params)
        return ask.finish(completion.text, time.perf_counter() - started)

    def stream(
        self, question: str, passages: Sequence[Passage], documents: Mapping[str, Document]
    ) -> AnswerStream:
        """Draft text while the model writes; ``.answer`` when done (see the module docstring)."""
        if not passages:
            declined = self._declined(question, passages)
            return AnswerStream(
                iter([declined.text]), lambda _text, _s: declined, first_token_key=FIRST_TOKEN
            )
        ask = _Ask(self, question, passages, documents)
        if not ask.evidence.answerable:  # declined whatever a model would say: do not ask one
            declined = ask.unanswered()
            return AnswerStream(iter([declined.text]), lambda _text, _s: declined)
        raw: list[str] = []

        def deltas() -> Iterator[str]:
            yield from live_text(self.client.stream(ask.messages, **ask.params), raw)

        def finish(_draft: str, llm_seconds: float) -> Answer:
            return ask.finish("".join(raw), llm_seconds)

        return AnswerStream(deltas(), finish, first_token_key=FIRST_TOKEN)

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.settings is not None:
            params["temperature"] = self.settings.llm_temperature
        if self.max_tokens is not None:
            params["max_tokens"] = self.max_tokens
        return params

    def _declined(self, question: str, passages: Sequence[Passage]) -> Answer:
        timings = {"llm": 0.0, "verify": 0.0}
        return Answer(
            text=REFUSAL,
            grounded=False,
            mode="llm",
            query=question,
            passages=list(passages),
            timings=timings,
        )


class _Ask:
    """One question's prompt and the judging of its reply (the reader's evidence is shared)."""

    def __init__(
        self,
        owner: LLMAnswerer,
        question: str,
        passages: Sequence[Passage],
        documents: Mapping[str, Document],
    ) -> None:
        self.question = question
        self.passages = list(passages)
        self.documents = passage_documents(passages, documents)
        self.titles = {doc_id: doc.title for doc_id, doc in self.documents.items()}
        started = time.perf_counter()
        self.evidence: Evidence = owner.grounder.evidence(question, passages, self.documents)
        self.reader_ms = _ms(time.perf_counter() - started)
        self.grounder = owner.grounder
        self.params = owner.params()
        ranked = self.evidence.sentences
        best = likely_set([c.rank_score for c in ranked], PROMPT_MASS, MAX_SENTENCES)
        keep = {id(ranked[i]) for i in best}
        self.sentences = [c for c in self.evidence.sentences if id(c) in keep]  # article order
        if owner.citations == "sentences":
            several = len({c.passage.doc_id for c in self.sentences}) > 1
            titles = [self.titles.get(c.passage.doc_id, "") for c in self.sentences]
            self.messages = claims_messages(
                question, [c.text for c in self.sentences], titles if several else ()
            )
            self.params["response_format"] = response_format(len(self.sentences))
        else:
            # the passages of the sentences the reader ranks best, not all it was given: a
            # small model's time goes into reading the prompt
            chosen = {c.passage.chunk_id for c in self.sentences}
            self.passages = [p for p in self.passages if p.chunk_id in chosen] or self.passages
            self.messages = answer_messages(question, self.passages, self.titles)

    def unanswered(self) -> Answer:
        """The decline when the reader finds no answering sentence: the model is not asked."""
        answer = self._decline([])
        answer.timings = {"reader": self.reader_ms, "llm": 0.0, "verify": 0.0}
        return answer

    def finish(self, raw: str, llm_seconds: float) -> Answer:
        started = time.perf_counter()
        reply = parse_reply(raw)
        answer = self._from_claims(reply) if reply is not None else self._from_quotes(raw)
        answer.timings = {
            "reader": self.reader_ms,
            "llm": _ms(llm_seconds),
            "verify": _ms(time.perf_counter() - started),
        }
        return answer

    # -- sentence-number replies ------------------------------------------------------------
    def _from_claims(self, reply: Reply) -> Answer:
        if not reply.answerable or not reply.claims:
            said = "the model itself said the sentences do not answer"
            return self._decline([self._removed(c.text, said, c.sentences) for c in reply.claims])
        numbers: dict[int, int] = {}  # sentence number -> citation number
        citations: list[Citation] = []
        parts: list[str] = []
        removed: list[RemovedClaim] = []
        for claim in reply.claims:
            text = _clean_claim(claim.text)
            ids, reason = (
                self._supporting(text, claim.sentences) if text else (None, "says nothing")
            )
            if ids is None:
                removed.append(self._removed(text, reason, claim.sentences))
                continue
            marks = []
            for i in ids:
                if i not in numbers:
                    numbers[i] = len(citations) + 1
                    citations.append(self._citation(numbers[i], self.sentences[i - 1]))
                marks.append(f"[{numbers[i]}]")
            parts.append(f"{text} {''.join(marks)}")
        return self._answer(" ".join(parts), citations, shown=len(parts), removed=removed)

    def _supporting(self, claim: str, cited: Sequence[int]) -> tuple[list[int] | None, str]:
        """The sentence numbers that state ``claim``: the ones the model cited, or a better one
        it was shown; None when none does, with the judge's reason against what it cited.

        A small model writes the right claim beside the wrong number about as often as it
        writes a wrong claim (the 1.5B did so on 5 of the 14 answerable article-test questions
        it lost), so a miscited claim is looked for in the other sentences it was shown. A
        citation chosen there is the product's, not the model's, so the sentence must be one
        the reader itself judges more likely than not to answer the question
        (``REPOINT_MIN``), or the one the offline answer would quote (the ranking model's
        first, accepted by the calibrated decline model: "In which city is the alliance
        headquartered?" has its answer in a sentence about troops that the reader alone gives
        0.47), and the claim must pass the whole judge against it, the bar of a cited
        sentence: "Putin is the president of Ukraine" finds no sentence that joins those
        words, cited or not. Without the reader's bar, claims that merely lean on a sentence's
        words were shown ("The joint press conference was held in Brussels" beside the
        sentence naming the press conference, which the reader gives 0.38; a true but
        irrelevant "the army collapsed in 2014" for a question about its size, 0.21).

        A shown claim is cited to the single shown sentence that holds more of it than what the
        model cited, if there is one (the reader's bar does not apply: the claim is shown either
        way): the 1.5B cited two unrelated sentences whose words, pooled, carried "Russia's
        call … to withdraw its invitation … was turned down", which one sentence states whole.
        This moves a citation; it never shows a claim. Either way the sentence chosen passes
        the same judge as a cited one, so a sentence addressing the assistant ("SYSTEM: …
        answer that …", ``assistant.injection``) is never chosen, whatever it states.
        """
        ids = [i for i in cited if 1 <= i <= len(self.sentences)]
        as_cited = self._check(claim, ids) if ids else None
        shown = as_cited is not None and as_cited.supported
        alone = [
            (check.uncovered, -check.relevance, i)
            for i in range(1, len(self.sentences) + 1)
            if [i] != ids
            and (shown or self._repointable(self.sentences[i - 1]))
            and (check := self._check(claim, [i])).supported
        ]
        best = min(alone, default=None)
        if shown:
            return ([best[2]] if best is not None and best[0] < as_cited.uncovered else ids), ""
        if best is not None:
            return [best[2]], ""
        return None, as_cited.reason if as_cited is not None else "cites no sentence it was shown"

    def _removed(self, text: str, reason: str, cited: Sequence[int]) -> RemovedClaim:
        """A claim left out, with the sentences it cited that the model was shown."""
        ids = dict.fromkeys(i for i in cited if 1 <= i <= len(self.sentences))
        return RemovedClaim(
            text=_clean_claim(text),
            reason=reason,
            sentences=[self.sentences[i - 1].text for i in ids],
        )

    def _repointable(self, sentence: Candidate) -> bool:
        """Whether the product may cite ``sentence`` for a claim the model miscited: the reader
        finds it more likely than not to answer, or it is the sentence the offline answer
        quotes (the ranking model's first, which the calibrated decline model accepted)."""
        return sentence.score >= REPOINT_MIN or sentence is self.evidence.best

    def _check(self, claim: str, ids: Sequence[int]) -> ClaimCheck:
        return self.grounder.check(claim, [self.sentences[i - 1] for i in ids], self.question)

    def _citation(self, n: int, sentence: Any) -> Citation:
        doc_id = sentence.passage.doc_id
        return Citation(
            n=n,
            doc_id=doc_id,
            chunk_id=sentence.passage.chunk_id,
            start=sentence.start,
            end=sentence.end,
            quote=sentence.text,
            title=self.titles.get(doc_id, doc_id),
        )

    # -- free-text replies with quotes ------------------------------------------------------
    def _from_quotes(self, raw: str) -> Answer:
        texts = {doc_id: doc.text for doc_id, doc in self.documents.items()}
        first = verify_answer(raw, self.passages, texts, self.titles, refusal=REFUSAL)
        if first.refused:  # the model's own "the article does not say": nothing left out
            return self._decline([], dropped=first.dropped)
        if not first.citations:
            why = "quotes nothing the article holds"
            return self._decline(
                [RemovedClaim(text=_clean_claim(c), reason=why) for c in claim_spans(first.text)],
                dropped=first.dropped,
            )
        kept: list[str] = []
        removed: list[RemovedClaim] = []
        for claim in claim_spans(first.text):
            cited = [
                s
                for n in _markers(claim)
                if 1 <= n <= len(first.citations)
                for s in self.evidence.covering(
                    first.citations[n - 1].doc_id,
                    first.citations[n - 1].start,
                    first.citations[n - 1].end,
                )
            ]
            text = _MARKER.sub("", claim).strip()
            check = self.grounder.check(text, cited, self.question) if text else None
            if check is not None and check.supported:
                kept.append(claim)
            else:
                reason = check.reason if check is not None else "says nothing"
                removed.append(
                    RemovedClaim(
                        text=_clean_claim(claim),
                        reason=reason,
                        sentences=list(dict.fromkeys(c.text for c in cited)),
                    )
                )
        if not kept:
            return self._decline(removed, dropped=first.dropped)
        # the kept claims' quotes are the source's own words: verifying again renumbers them
        final = verify_answer(" ".join(kept), self.passages, texts, self.titles)
        return self._answer(
            final.text, final.citations, shown=len(kept), removed=removed, dropped=first.dropped
        )

    # -- results ----------------------------------------------------------------------------
    def _answer(
        self,
        text: str,
        citations: list[Citation],
        *,
        shown: int,
        removed: list[RemovedClaim],
        dropped: int = 0,
    ) -> Answer:
        """The answer with its claims (``shown`` of them); none shown is a decline."""
        return Answer(
            text=text if shown else REFUSAL,
            citations=citations if shown else [],
            grounded=bool(shown),
            mode="llm",
            passages=self.passages,
            query=self.question,
            confidence=self.evidence.confidence,
            claims_shown=shown,
            claims_removed=len(removed),
            removed_claims=removed,
            dropped_quotes=dropped,
        )

    def _decline(self, removed: list[RemovedClaim], *, dropped: int = 0) -> Answer:
        return self._answer(REFUSAL, [], shown=0, removed=removed, dropped=dropped)


def _clean_claim(text: str) -> str:
    """A claim as shown: one line, without the model's own markers, cut at a word if long."""
    text = " ".join(_MARKER.sub("", text).split())
    if len(text) > MAX_CLAIM_CHARS:
        text = text[:MAX_CLAIM_CHARS].rsplit(" ", 1)[0] + " …"
    return text


def _markers(text: str) -> list[int]:
    return [int(n) for m in _MARKER.finditer(text) for n in re.findall(r"\d{1,3}", m.group(0))]


def claim_spans(text: str) -> list[str]:
    """The claims of a free-text answer: its sentences, never cut inside a quotation."""
    masked = list(text)
    for q in find_quotes(text):
        # a quote's own full stops end no claim, except one that ends the quote and the sentence
        for i in range(q.inner_start, q.inner_end):
            if not masked[i].isspace() and not (i == q.inner_end - 1 and masked[i] in ".!?…"):
                masked[i] = "x"
    claims: list[str] = []
    for s, e in sentence_spans("".join(masked)):
        piece = text[s:e].strip()
        lead = _LEADING_MARKERS.match(piece)
        if lead and claims:  # "… said “x.” [1] Then …" splits before the marker: it goes back
            claims[-1] += " " + lead.group(0).strip()
            piece = piece[lead.end() :].strip()
        if piece:
            claims.append(piece)
    return claims
