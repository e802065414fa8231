"""The assistant's retrieval as a LangChain retriever, so it composes into LCEL chains.

``ArticleRetriever`` returns the same passages the assistant answers from (hybrid dense + BM25,
fused), as ``langchain_core`` documents whose metadata keeps the contract of the rest of the
product: ``document.text[start:end] == page_content``, so whatever a chain cites can still be
checked against the source. Pair it with ``assistant.llm.ChatOpenAICompatible``::

    retriever = ArticleRetriever(assistant=Assistant.open(), k=4)
    chain = (
        {"context": retriever | format_documents, "question": RunnablePassthrough()}
        | prompt | ChatOpenAICompatible.from_settings(settings) | StrOutputParser()
    )

A chain built this way does none of the assistant's own checks (quotes verified, claims judged,
declines): for answers users see, ``Assistant.ask`` remains the way in.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from assistant.service import Assistant
from assistant.settings import Settings
from assistant.types import Passage

__all__ = ["ArticleRetriever", "format_documents", "to_document"]


def to_document(passage: Passage, title: str = "") -> Document:
    """One retrieved passage as a LangChain document; the id is the chunk id (stable)."""
    return Document(
        id=passage.chunk_id,
        page_content=passage.text,
        metadata={
            "doc_id": passage.doc_id,
            "chunk_id": passage.chunk_id,
            "start": passage.start,
            "end": passage.end,
            "rank": passage.rank,
            "dense": passage.dense,
            "lexical": passage.lexical,
            "fused": passage.fused,
            "title": title,
        },
    )


def format_documents(documents: Sequence[Document]) -> str:
    """Passages numbered ``[1]``, ``[2]``... in rank order, for a prompt's context, so a model
    can cite by number and the number leads back to the document's metadata."""
    return "\n\n".join(f"[{n}] {d.page_content}" for n, d in enumerate(documents, start=1))


class ArticleRetriever(BaseRetriever):
    """The assistant's hybrid retriever (dense + BM25, fused by RRF) as a LangChain retriever.

    Wraps an open ``Assistant`` rather than building its own index, so a chain and the
    assistant share one embedder, one Chroma client and one BM25 index.
    """

    assistant: Assistant
    k: int | None = Field(default=None, ge=1)
    """Passages per query; None uses the settings' ``top_k``."""
    doc_id: str | None = None
    """Only passages of this document; None searches every indexed document."""

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        sources: Sequence[str | Path] | None = None,
        **fields: Any,
    ) -> ArticleRetriever:
        """Open (or build) the index like ``Assistant.open`` and wrap it."""
        return cls(assistant=Assistant.open(settings, sources=sources), **fields)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        got = self.assistant.retrieve(query, k=self.k, doc_id=self.doc_id)
        titles = self.assistant.titles
        return [to_document(p, titles.get(p.doc_id, "")) for p in got.passages]
