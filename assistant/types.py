"""Values that cross from ``assistant`` to its callers (page, CLI, evals).

``Citation.quote == document.text[start:end]`` always holds; ``Answer.grounded`` is the one
structured signal that the assistant did not answer: it declined ("the article does not say"),
or, with ``Answer.hedged``, showed its closest sentence as a guess.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# Re-exported so the page and other callers reach documents through ``assistant``, not ``index``.
from index.types import Document

__all__ = [
    "HEDGE_TEXT",
    "Answer",
    "Citation",
    "Document",
    "Mode",
    "Passage",
    "RemovedClaim",
    "Role",
    "ShortAnswer",
    "Turn",
]

Role = Literal["user", "assistant"]
#: What a hedged answer says before its one closest sentence (``Answer.hedged``).
HEDGE_TEXT = "The article may not answer this directly. The closest it comes:"
Mode = Literal["extractive", "llm"]


class Turn(BaseModel):
    role: Role
    content: str


class Passage(BaseModel):
    """A retrieved chunk with the scores that ranked it (rank 1 is best)."""

    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str
    rank: int
    dense: float | None = None  # cosine similarity, None when the dense side did not return it
    lexical: float | None = None  # BM25 score, None when the lexical side did not return it
    fused: float = 0.0  # reciprocal rank fusion score


class Citation(BaseModel):
    n: int  # the marker [n] in the answer text
    doc_id: str
    chunk_id: str
    start: int
    end: int
    quote: str
    title: str = ""


class ShortAnswer(BaseModel):
    """The short answer inside a cited sentence: ``document.text[start:end] == text``."""

    doc_id: str
    start: int
    end: int
    text: str
    citation: int  # the [n] of the citation that holds it
    score: float = 0.0  # the reader's span probability


class RemovedClaim(BaseModel):
    """A claim a model wrote that was not shown, and why, in a few words ("says the opposite
    of its sentence"): so a reader of the answer knows what the model said beyond it."""

    text: str
    reason: str
    # the sentences it cited (those the model was shown), verbatim: what the judge read, so
    # a reader can see why, and a replay (``bench.anchors``) can judge the claim again
    sentences: list[str] = Field(default_factory=list)


class Answer(BaseModel):
    text: str
    citations: list[Citation] = Field(default_factory=list)
    grounded: bool
    mode: Mode
    passages: list[Passage] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)  # milliseconds per step
    query: str = ""  # the standalone query actually retrieved with
    confidence: float = 0.0  # the reader's score of the best sentence: what declining compares
    short_answer: ShortAnswer | None = None  # the answer's words inside the first citation
    # not grounded, yet not a plain refusal: the single closest sentence, cited, shown as a
    # guess that may not answer (the reader's confidence fell between the hedge and decline
    # thresholds)
    hedged: bool = False
    dropped_quotes: int = 0  # LLM quotes that could not be verified and were removed
    claims_shown: int = 0  # statements the answer makes (an extractive answer makes one)
    claims_removed: int = 0  # LLM claims not stated by the sentences they cite, not shown
    removed_claims: list[RemovedClaim] = Field(default_factory=list)  # those claims, and why
    fallback_reason: str | None = None  # set when an LLM answer fell back to extractive

    def left_out(self) -> str | None:
        """What the checks removed from a model's answer, in one sentence; None when nothing.
        The page and the CLI both show it, so a user knows the model said more."""
        parts = []
        if self.claims_removed:
            parts.append(f"{self.claims_removed} claim(s) the cited sentences do not state")
        if self.dropped_quotes:
            parts.append(f"{self.dropped_quotes} quote(s) the article does not hold")
        return f"Left out of the model's answer: {' and '.join(parts)}." if parts else None
