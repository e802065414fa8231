"""Values that leave the index layer.

Offsets are the contract: ``chunk.text == document.text[chunk.start:chunk.end]`` always holds, so
any citation built from a chunk can be checked against the source itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Document:
    """A source exactly as loaded: ``text`` is the decoded file, nothing else changed."""

    id: str
    title: str
    text: str
    source: str
    # computed once: the manifest, the sync diff and chunk metadata all ask for it
    content_hash: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(self.text.encode("utf-8")).hexdigest()
        object.__setattr__(self, "content_hash", digest)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A span of a document; the id is derived from doc id and offsets, so it is stable."""

    id: str
    doc_id: str
    start: int
    end: int
    text: str

    @staticmethod
    def make_id(doc_id: str, start: int, end: int) -> str:
        digest = hashlib.sha1(f"{doc_id}\x00{start}\x00{end}".encode()).hexdigest()[:16]
        return f"{doc_id}:{start}-{end}:{digest}"

    @staticmethod
    def parse_id(chunk_id: str) -> tuple[str, int, int]:
        """(doc id, start, end) back from an id made by ``make_id``: the offsets live in the id,
        so the store need not keep them as metadata."""
        doc_id, span, _ = chunk_id.rsplit(":", 2)
        start, end = span.split("-")
        return doc_id, int(start), int(end)
