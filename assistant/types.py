"""Values that cross from ``assistant`` to its callers (page, CLI, evals).

``Citation.quote == document.text[start:end]`` always holds; ``Answer.grounded`` is the one
structured signal that the assistant declined ("the article does not say").
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Role = Literal["user", "assistant"]
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


class Answer(BaseModel):
    text: str
    citations: list[Citation] = Field(default_factory=list)
    grounded: bool
    mode: Mode
    passages: list[Passage] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)  # milliseconds per step
    query: str = ""  # the standalone query actually retrieved with
    confidence: float = 0.0  # the calibrated evidence score the decline decision used
    dropped_quotes: int = 0  # LLM quotes that could not be verified and were removed
    fallback_reason: str | None = None  # set when an LLM answer fell back to extractive
