"""The index as one object: the documents, the Chroma store and BM25, opened together.

Why one object: Chroma keeps vectors and chunk ids only, and a chunk's text is its document's
text at the offsets in its id, so answering a search needs the documents. Before, the store
learned them as a side effect of ``sync()`` (a store not synced in this process could not be
searched) and the lexical side chunked the corpus a second time. Here the caller hands over the
documents once, each is chunked at most once per open (only when Chroma or BM25 needs chunks),
and both searches resolve ids against the same documents.

Which corpus to index is the caller's decision (``assistant.service`` picks it); this layer only
indexes what it is given. ``Index.timings`` holds the seconds each stage of opening took and
every ``Hits`` the milliseconds of its search stages, so the bench reads them rather than
patching functions.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.chunking import ChunkSettings, chunk_document
from index.errors import IndexChangingError, StoreError, StoreUnavailableError
from index.lexical import LexicalIndex
from index.store import Progress, StoreConfig, SyncReport, VectorStore, corpus_hash
from index.text import tokens
from index.types import Chunk, Document

log = logging.getLogger(__name__)

__all__ = ["Hits", "Index", "StoreConfig", "folder_lock"]


def _ms(seconds: float) -> float:
    return seconds * 1000.0


@dataclass
class Hits:
    """Both rankings for one query, best first, before fusion; ``timings`` in milliseconds."""

    query_vector: np.ndarray
    dense: list[tuple[str, float]]  # (chunk id, cosine similarity)
    lexical: list[tuple[str, float]]  # (chunk id, BM25 score)
    timings: dict[str, float] = field(default_factory=dict)


class _Chunker:
    """Chunks each document once per open and times it; the store and BM25 both call it."""

    def __init__(self, settings: ChunkSettings) -> None:
        self.settings = settings
        self.seconds = 0.0
        self._done: dict[str, list[Chunk]] = {}

    def __call__(self, doc: Document) -> list[Chunk]:
        found = self._done.get(doc.id)
        if found is None:
            t0 = time.perf_counter()
            found = self._done[doc.id] = chunk_document(doc, self.settings)
            self.seconds += time.perf_counter() - t0
        return found


class Index:
    """Documents, their Chroma collection and their BM25 index, in step with each other."""

    def __init__(
        self,
        config: StoreConfig,
        documents: Sequence[Document],
        store: VectorStore,
        lexical: LexicalIndex,
        sync_report: SyncReport,
        timings: dict[str, float] | None = None,
    ) -> None:
        self.config = config
        self.documents: dict[str, Document] = {d.id: d for d in documents}
        self.titles: dict[str, str] = {d.id: d.title for d in documents}
        self.corpus_hash = corpus_hash(documents)
        self.store = store
        self.lexical = lexical
        self.sync_report = sync_report
        self.timings: dict[str, float] = timings or {}
        # this corpus's chunk ids: dense hits are kept to them, so a search while another
        # process replaces the corpus never returns a chunk of a document this index lacks
        self._own_ids = frozenset(lexical.ids)

    @classmethod
    def open(
        cls,
        config: StoreConfig,
        documents: Sequence[Document],
        *,
        sources: Sequence[str] = (),
        progress: Progress | None = None,
        client: Any | None = None,
    ) -> Index:
        """Open the index of ``documents``, building or refreshing what is stale.

        ``sources`` are recorded in the manifest; ``client`` is an injected chromadb client
        (in-memory in tests). Raises the index layer's errors (``index.errors``).
        """
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        with folder_lock(config, client, progress):
            timings["lock_wait"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            store = VectorStore(config, client=client)
            timings["open_store"] = time.perf_counter() - t0
            chunker = _Chunker(config.chunking)
            report = store.sync(documents, sources, progress=progress, chunker=chunker)
            timings["sync"] = report.seconds  # includes chunking, embedding and chroma_add
            timings.update(report.timings)
            lexical = _lexical(store, documents, chunker, progress, timings)
            timings["chunking"] = chunker.seconds
        return cls(config, documents, store, lexical, report, timings)

    # -- searching --------------------------------------------------------------------------
    @property
    def embedding_function(self) -> Any:
        return self.store.embedding_function

    def embed_query(self, text: str) -> np.ndarray:
        return self.store.embedding_function.embed([text])[0]

    def search(self, query: str, n: int, doc_id: str | None = None) -> Hits:
        """The top ``n`` chunk ids of each side for ``query``, only of ``doc_id`` if given.

        Always of this index's own corpus, even while another process rebuilds the collection
        (``assistant index`` beside a long-lived page): dense hits of another corpus are
        dropped, and if the collection keeps changing under the search, BM25 answers alone.
        """
        t0 = time.perf_counter()
        qvec = self.embed_query(query)
        t1 = time.perf_counter()
        where = {"doc_id": doc_id} if doc_id else None
        try:
            dense = self.store.query(qvec, n, where=where, known=self._own_ids)
        except IndexChangingError as exc:
            log.warning("%s", exc)
            dense = []
        t2 = time.perf_counter()
        lexical = self.lexical.search(tokens(query), n, doc_id=doc_id)
        t3 = time.perf_counter()
        timings = {"embed_ms": _ms(t1 - t0), "dense_ms": _ms(t2 - t1), "lexical_ms": _ms(t3 - t2)}
        return Hits(query_vector=qvec, dense=dense, lexical=lexical, timings=timings)

    def chunk(self, chunk_id: str) -> Chunk:
        """The chunk an id names, its text taken from the document at the id's offsets."""
        doc_id, start, end = Chunk.parse_id(chunk_id)
        try:
            text = self.documents[doc_id].text[start:end]
        except KeyError:
            raise StoreError(
                f"The index holds document {doc_id!r}, which is not in the corpus; re-index."
            ) from None
        return Chunk(id=chunk_id, doc_id=doc_id, start=start, end=end, text=text)

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        return [self.chunk(i) for i in ids]

    def all_chunks(self) -> list[Chunk]:
        """Every chunk the Chroma collection holds (read back from it, not re-chunked)."""
        return self.chunks(self.store.ids())


LOCK_FILE = "index.lock"
LOCK_TIMEOUT_S = 600.0


@contextlib.contextmanager
def folder_lock(
    config: StoreConfig, client: Any | None = None, progress: Progress | None = None
) -> Iterator[None]:
    """One process at a time opens, builds or refreshes an embedded index in a data folder.

    Embedded Chroma (SQLite) fails in many ways when several processes create or write one
    folder at once (measured: 7 of 8 asks started together on a fresh folder failed). The lock
    (``filelock``, released by the OS if its holder dies) makes the others wait, bounded, and
    they then open the index the first one built. With a Chroma server the same lock
    serialises the replicas that share this data folder (one machine); replicas on other
    machines coordinate through claims on the server (``index.shared``). An injected client
    (tests) takes no lock.

    Re-entrant in one thread (one ``FileLock`` per path), so a caller can hold it around more
    than ``Index.open``: ``assistant.service`` chooses the corpus and records what ``assistant
    index`` indexed under it too, or an ask that chose its corpus before waiting would rebuild
    that older corpus over the index it waited for.
    """
    if client is not None:
        yield
        return
    from filelock import FileLock, Timeout

    folder = Path(config.data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"The data folder {folder} is not writable ({exc.strerror}); "
            "set ASSISTANT_DATA_DIR to a folder you can write."
        ) from exc
    lock = FileLock(str(folder / LOCK_FILE), is_singleton=True)
    holder = folder / f"{LOCK_FILE}.holder"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            who = f"process {int(holder.read_text(encoding='utf-8').split()[0])}"
        except (OSError, ValueError, IndexError):
            who = "another process"
        if progress:
            progress(f"waiting for {who} to finish with the index", 0, 1)
        log.info("waiting for %s to release the index lock in %s", who, folder)
        try:
            lock.acquire(timeout=LOCK_TIMEOUT_S)
        except Timeout:
            raise StoreUnavailableError(
                f"Another process has been building the index in {folder} for over "
                f"{LOCK_TIMEOUT_S:.0f} s; try again when it is done."
            ) from None
    try:
        with contextlib.suppress(OSError):  # only a name for the others' progress line
            holder.write_text(f"{os.getpid()}\n", encoding="utf-8")
        yield
    finally:
        lock.release()


def _lexical(
    store: VectorStore,
    documents: Sequence[Document],
    chunker: _Chunker,
    progress: Progress | None,
    timings: dict[str, float],
) -> LexicalIndex:
    """BM25 over the collection's chunks, cached on disk per collection and corpus hash."""
    name = store.config.collection_name
    digest = corpus_hash(documents)
    folder = Path(store.config.data_dir) / "lexical" / f"{name}-{digest[:16]}"
    fingerprint = f"{name}:{digest}"  # what the cache indexes: this collection, this corpus
    t0 = time.perf_counter()
    lex = LexicalIndex.load(folder, fingerprint)
    timings["lexical_load"] = time.perf_counter() - t0
    if lex is not None:
        return lex
    if progress:
        progress("lexical", 0, 1)
    # chunk ids are derived from doc id and offsets, so chunking the documents in memory gives
    # exactly the collection's chunks without reading 100k records back from Chroma
    chunks = [c for d in documents for c in chunker(d)]
    t0 = time.perf_counter()
    lex = LexicalIndex.build(chunks)
    t1 = time.perf_counter()
    timings["lexical_build"] = t1 - t0
    try:
        for old in folder.parent.glob(f"{name}-*"):
            if old != folder and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        lex.save(folder, fingerprint)
    except OSError as exc:  # a cache that cannot be written is rebuilt next time
        log.warning("could not save the lexical index to %s: %s", folder, exc)
    timings["lexical_save"] = time.perf_counter() - t1
    if progress:
        progress("lexical", 1, 1)
    return lex
