"""Chunks with exact offsets that never cut a sentence in two.

Sentences are packed greedily up to ``chunk_size`` characters, with whole sentences repeated as
overlap. Only a sentence longer than a chunk is cut, by LangChain's recursive splitter, whose
offsets are checked here because peers have seen them go wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.errors import IndexLayerError
from index.sentences import sentence_spans
from index.types import Chunk, Document


@dataclass(frozen=True, slots=True)
class ChunkSettings:
    chunk_size: int = 480
    chunk_overlap: int = 0

    def fingerprint(self) -> str:
        return f"sentences-v1/{self.chunk_size}/{self.chunk_overlap}"


class OffsetError(IndexLayerError):
    """A chunk's text does not match its offsets: a bug, never to be papered over."""


def _long_sentence_pieces(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=0,
        add_start_index=True,
        strip_whitespace=True,
        separators=[", ", "; ", " ", ""],
        keep_separator="end",
    )
    pieces = []
    for piece in splitter.create_documents([text[start:end]]):
        s = start + int(piece.metadata["start_index"])
        e = s + len(piece.page_content)
        if s < start or text[s:e] != piece.page_content:
            raise OffsetError(f"Text splitter gave a wrong offset ({s}) inside a long sentence.")
        pieces.append((s, e))
    return pieces


def chunk_document(doc: Document, settings: ChunkSettings | None = None) -> list[Chunk]:
    settings = settings or ChunkSettings()
    size = settings.chunk_size
    units: list[tuple[int, int]] = []
    for s, e in sentence_spans(doc.text):
        units.extend(_long_sentence_pieces(doc.text, s, e, size) if e - s > size else [(s, e)])

    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j = i
        start = units[i][0]
        while j + 1 < len(units) and units[j + 1][1] - start <= size:
            j += 1
        end = units[j][1]
        text = doc.text[start:end]
        chunks.append(
            Chunk(
                id=Chunk.make_id(doc.id, start, end), doc_id=doc.id, start=start, end=end, text=text
            )
        )
        if j + 1 >= len(units):
            break
        # step back over whole sentences that fit in the overlap budget
        nxt = j + 1
        while nxt - 1 > i and units[j][1] - units[nxt - 1][0] <= settings.chunk_overlap:
            nxt -= 1
        i = nxt
    for c in chunks:
        if doc.text[c.start : c.end] != c.text:
            raise OffsetError(f"Chunk {c.id} does not match its offsets in {doc.id}.")
    return chunks
