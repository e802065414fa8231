"""Offsets are the contract: every chunk and every citation equals the source at its offsets."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.chunking import ChunkSettings, chunk_document
from index.sentences import sentence_spans
from index.types import Document

SENTENCES = [
    "NATO’s relationship with Ukraine will be decided by 30 allies.",
    "«We cannot accept that,» Stoltenberg said.",
    "He said: ‘very expensive’ and left.",
    "Das ist ein Satz mit Umlauten: äöü ß.",
    "Это предложение на русском языке.",
    "这是一个中文句子。",
    "Tabs\tinside\ta sentence are kept.",
    "Mr. Smith met Dr. Jones in the U.S. on Monday.",
    "A very long sentence " + "that keeps going and going, " * 40 + "until it ends.",
    "Short.",
]
separators = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", " \n \n"])


@st.composite
def documents(draw: st.DrawFn) -> Document:
    parts = draw(st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=25))
    seps = draw(st.lists(separators, min_size=len(parts), max_size=len(parts)))
    body = "".join(p + s for p, s in zip(parts, seps, strict=True))
    text = draw(st.sampled_from(["", "  ", "\n"])) + body
    return Document(id="d", title="t", text=text, source="mem")


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    doc=documents(),
    size=st.integers(min_value=80, max_value=900),
    overlap=st.integers(min_value=0, max_value=200),
)
def test_chunks_match_their_offsets_and_never_cut_a_short_sentence(
    doc: Document, size: int, overlap: int
) -> None:
    chunks = chunk_document(doc, ChunkSettings(chunk_size=size, chunk_overlap=overlap))
    assert chunks
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert c.text == c.text.strip()
    spans = sentence_spans(doc.text)
    covered = [(c.start, c.end) for c in chunks]
    for s, e in spans:
        if e - s <= size:  # a sentence that fits in a chunk lies wholly inside one
            assert any(cs <= s and e <= ce for cs, ce in covered), doc.text[s:e]
    # ids are stable: the same text gives the same ids
    again = chunk_document(doc, ChunkSettings(chunk_size=size, chunk_overlap=overlap))
    assert [c.id for c in again] == [c.id for c in chunks]


@settings(max_examples=100, deadline=None)
@given(doc=documents())
def test_sentence_spans_are_exact_trimmed_and_ordered(doc: Document) -> None:
    spans = sentence_spans(doc.text)
    last = -1
    for s, e in spans:
        assert s >= last and e > s
        piece = doc.text[s:e]
        assert piece == piece.strip() and piece
        last = e


def test_abbreviations_and_closing_quotes() -> None:
    text = "Mr. Smith went to the U.S. today. «It is done.» Then he left! Did he? Yes."
    got = [text[s:e] for s, e in sentence_spans(text)]
    assert got == [
        "Mr. Smith went to the U.S. today.",
        "«It is done.»",
        "Then he left!",
        "Did he?",
        "Yes.",
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=documents(),
    question=st.sampled_from(
        ["Who decided?", "How many allies?", "What did Stoltenberg say?", "Was it long?"]
    ),
)
def test_citations_equal_the_source_at_their_offsets(doc: Document, question: str) -> None:
    """Extractive citations on generated documents, through a real in-memory Chroma."""
    import chromadb

    from assistant.extractive import ExtractiveAnswerer
    from assistant.reader.model import shared_reader
    from assistant.retrieval import HybridRetriever
    from index.index import Index
    from index.store import StoreConfig

    if not doc.text.strip():
        return
    client = chromadb.EphemeralClient()
    for c in client.list_collections():
        client.delete_collection(c.name if not isinstance(c, str) else c)
    with tempfile.TemporaryDirectory() as tmp:  # manifest and BM25 cache; hypothesis-safe
        index = Index.open(
            StoreConfig(data_dir=Path(tmp), chroma_url="http://unused"), [doc], client=client
        )
    retriever = HybridRetriever(index)
    answerer = ExtractiveAnswerer(shared_reader(), threshold=0.0)
    got = retriever.retrieve(question, 4)
    answer = answerer.answer(question, got.passages, {"d": "t"}, {doc.id: doc})
    for p in got.passages:
        assert doc.text[p.start : p.end] == p.text
    for c in answer.citations:
        assert doc.text[c.start : c.end] == c.quote
    if answer.short_answer is not None:
        s = answer.short_answer
        assert doc.text[s.start : s.end] == s.text
        assert answer.citations[0].start <= s.start < s.end <= answer.citations[0].end
