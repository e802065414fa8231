"""The Chroma store, its manifest, and keeping both in step with the corpus.

One collection per index configuration (chunking + embedder), named from its fingerprint, so a
settings change can never mix vectors of two models. A full build writes into a new collection
and swaps it in only when complete, so Ctrl-C or a crash leaves the previous index usable. When
only some documents changed, just their chunks are replaced (by per-document content hash).

The manifest (``manifest-<collection>.json`` in the data folder, and the same facts in the
collection's metadata for a shared server) records the corpus hash, the settings and each
document's hash and title. It carries a checksum of its own content, and its corpus hash must
be the hash of the documents it lists: a damaged manifest, or one of another corpus, is not
trusted and the index is rebuilt. On a server, builds are claimed and documents kept there
(``index.shared``), so replicas on other machines neither race nor need the source files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from index import shared
from index.chunking import ChunkSettings, chunk_document
from index.embedding import WordLlamaEmbeddingFunction, get_embedding_function
from index.errors import IndexChangingError, StoreError, StoreUnavailableError
from index.files import printable, write_whole
from index.types import Chunk, Document
from index.urls import display_url

log = logging.getLogger(__name__)

# 2: no chunk text in Chroma; 3: only doc_id as chunk metadata; 4: a checksummed manifest,
# claimed builds and the documents kept on a server
MANIFEST_VERSION = 4
ADD_BATCH = 2000
GET_PAGE = 10_000
# a search that fails while another process swaps the collection is retried this often
RACE_TRIES = 4
RACE_WAIT_S = 0.1
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class StoreConfig:
    data_dir: Path
    chroma_url: str | None = None
    collection_prefix: str = "article"
    embedder: str = "wordllama"
    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    # how long another replica's build may show no heartbeat before it is taken over
    stale_build_s: float = shared.STALE_AFTER_S

    def fingerprint(self) -> str:
        fn = get_embedding_function(self.embedder)
        raw = f"v{MANIFEST_VERSION}|{self.chunking.fingerprint()}|{fn.fingerprint()}"
        return hashlib.sha256(raw.encode()).hexdigest()[:12]

    @property
    def collection_name(self) -> str:
        return f"{self.collection_prefix}-{self.fingerprint()}"


@dataclass
class SyncReport:
    """What a sync did, for the CLI summary and the page's progress."""

    collection: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    chunks_written: int = 0
    rebuilt: bool = False
    seconds: float = 0.0
    # seconds per stage of the work (embedding, chroma_add, chroma_delete), for the bench
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.rebuilt)


def get_all(col: Any, include: list[str]) -> Iterator[tuple[str, Any, Any]]:
    """Every record of a collection, in pages: one ``get`` of everything fails on embedded
    Chroma above 32,766 records ("too many SQL variables"), about 3,200 articles."""
    offset = 0
    while True:
        got = col.get(include=include, limit=GET_PAGE, offset=offset)
        ids = got["ids"]
        docs = got.get("documents") or [None] * len(ids)
        metas = got.get("metadatas") or [None] * len(ids)
        yield from zip(ids, docs, metas, strict=True)
        if len(ids) < GET_PAGE:
            return
        offset += len(ids)


def corpus_hash(docs: Sequence[Document]) -> str:
    return _corpus_digest((d.id, d.title, d.content_hash) for d in docs)


def _corpus_digest(entries: Iterable[tuple[str, str, str]]) -> str:
    """The corpus hash from (id, title, content hash) triples, as a manifest lists them too."""
    h = hashlib.sha256()
    for doc_id, title, content in sorted(entries):
        h.update(f"{doc_id}\x00{title}\x00{content}\x00".encode())
    return h.hexdigest()


def _checksum(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def make_client(config: StoreConfig) -> Any:
    """A Chroma client: embedded in the data folder, or HTTP when a server URL is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if config.chroma_url:
        parts = urlsplit(config.chroma_url)
        try:
            client = chromadb.HttpClient(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreUnavailableError(
                f"No Chroma server answers at {display_url(config.chroma_url)}; start one with "
                f"`chroma run` or unset ASSISTANT_CHROMA_URL."
            ) from exc
        return client
    path = config.data_dir / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        # a probe of this process's own: a shared name raced between processes starting at once
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StoreError(
            f"The data folder {config.data_dir} is not writable ({exc.strerror}); "
            f"set ASSISTANT_DATA_DIR to a folder you can write."
        ) from exc
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        quarantine = _quarantine(path)
        log.warning("index folder %s was unreadable (%s); moved to %s", path, exc, quarantine)
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()  # chromadb caches the broken system per path
        try:
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except Exception as exc2:
            raise StoreError(f"Cannot open the index in {path}: {exc2}.") from exc2


def _quarantine(path: Path) -> Path:
    """Move a broken folder aside (never delete: nothing is lost) and leave an empty one."""
    target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    shutil.move(str(path), str(target))
    path.mkdir(parents=True, exist_ok=True)
    return target


Chunker = Callable[[Document], list[Chunk]]


class VectorStore:
    """Chroma collection of chunks plus the manifest that says what corpus it holds.

    It deals in chunk ids and vectors only: a chunk's text is its document's text at the
    offsets in its id, and turning ids back into chunks is ``index.Index``'s job, since it holds
    the documents (the store once learned them as a side effect of ``sync``).
    """

    def __init__(self, config: StoreConfig, client: Any | None = None) -> None:
        self.config = config
        self.embedding_function: WordLlamaEmbeddingFunction = get_embedding_function(
            config.embedder
        )
        self.client = client if client is not None else make_client(config)
        self._collection: Any | None = None

    # -- manifest ---------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.config.data_dir / f"manifest-{self.config.collection_name}.json"

    def read_manifest(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning(
                "manifest %s unreadable (%s); the index will be checked", self.manifest_path, exc
            )
            return None
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            return None
        problem = self._manifest_problem(data)
        if problem:
            log.warning("manifest %s %s; the index will be rebuilt", self.manifest_path, problem)
            return None
        return data

    def _manifest_problem(self, data: dict[str, Any]) -> str | None:
        """Why a parsed manifest cannot be trusted, or None: valid JSON is not enough."""
        if data.get("checksum") != _checksum({k: v for k, v in data.items() if k != "checksum"}):
            return "fails its checksum (damaged)"
        if data.get("collection") != self.config.collection_name or (
            data.get("settings") != self._settings()
        ):
            return "describes other settings"
        try:
            entries = [(i, e["title"], e["hash"]) for i, e in data["documents"].items()]
        except (AttributeError, KeyError, TypeError):
            return "lists its documents wrongly"
        if _corpus_digest(entries) != data.get("corpus_hash"):
            return "lists the documents of another corpus"
        return None

    def _settings(self) -> dict[str, str]:
        return {
            "chunking": self.config.chunking.fingerprint(),
            "embedder": self.embedding_function.fingerprint(),
        }

    def _write_manifest(self, docs: Sequence[Document], sources: Sequence[str]) -> None:
        manifest: dict[str, Any] = {
            "version": MANIFEST_VERSION,
            "collection": self.config.collection_name,
            "corpus_hash": corpus_hash(docs),
            "settings": self._settings(),
            "sources": [printable(s) for s in sources],  # a label: JSON takes no lone surrogate
            "documents": {d.id: {"hash": d.content_hash, "title": d.title} for d in docs},
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        manifest["checksum"] = _checksum(manifest)
        write_whole(self.manifest_path, json.dumps(manifest, ensure_ascii=False))

    # -- collection -------------------------------------------------------------------------
    def _metadata(self, chash: str, complete: bool) -> dict[str, Any]:
        return {
            "hnsw:space": "cosine",
            "corpus_hash": chash,
            "complete": complete,
            "hnsw:construction_ef": 64,
            "hnsw:M": 16,
            "hnsw:search_ef": 256,
            "hnsw:batch_size": 1000,
            "hnsw:sync_threshold": 5000,
        }

    @property
    def collection(self) -> Any:
        if self._collection is None:
            try:
                self._collection = self.client.get_collection(
                    self.config.collection_name, embedding_function=self.embedding_function
                )
            except Exception as exc:
                raise StoreError(
                    f"The index collection {self.config.collection_name} is missing."
                ) from exc
        return self._collection

    def _existing(self) -> Any | None:
        try:
            col = self.client.get_collection(
                self.config.collection_name, embedding_function=self.embedding_function
            )
        except Exception:
            return None
        return col

    def sync(
        self,
        docs: Sequence[Document],
        sources: Sequence[str] = (),
        progress: Progress | None = None,
        chunker: Chunker | None = None,
    ) -> SyncReport:
        """Make the collection hold exactly ``docs``; cheap when nothing changed.

        ``chunker`` splits a document (default: ``chunk_document`` with this store's settings);
        ``Index`` passes its own so that a document is chunked once for Chroma and BM25.
        """
        t0 = time.perf_counter()
        chunk = chunker or (lambda d: chunk_document(d, self.config.chunking))
        report = SyncReport(collection=self.config.collection_name)
        chash = corpus_hash(docs)
        held = None if self._adopt(chash) else self._claim(chash, progress)
        if held is None:  # the index of this corpus exists, or another process just built it
            report.unchanged = len(docs)
            report.seconds = time.perf_counter() - t0
            return report
        try:
            col = self._existing()
            meta = (col.metadata or {}) if col is not None else {}
            old_docs = (
                self._stored_doc_hashes(col) if col is not None and meta.get("complete") else None
            )
            if old_docs is None:
                self._full_build(held, docs, chash, report, progress, chunk)
            else:
                self._incremental(col, docs, old_docs, chash, report, progress, chunk, held.beat)
            self._write_manifest(docs, sources)
        finally:
            held.release()
        shared.drop_leftovers(
            self.client,
            self.config.collection_name,
            keep={shared.docs_name(self.config.collection_name, chash)},
            exclusive=self._exclusive,
        )
        report.seconds = time.perf_counter() - t0
        return report

    @property
    def _exclusive(self) -> bool:
        """Whether this process is the only writer: an embedded store is opened under the data
        folder's lock (or injected by a test); a server is shared with other machines."""
        return not self.config.chroma_url

    def _adopt(self, chash: str) -> bool:
        """Take the collection as it is when it completely holds corpus ``chash``.

        An embedded store also wants its manifest to agree (a second witness, kept in the
        folder); on a server the collection's metadata is what every replica shares.
        """
        col = self._existing()
        meta = (col.metadata or {}) if col is not None else {}
        if col is None or not meta.get("complete") or meta.get("corpus_hash") != chash:
            return False
        if self._exclusive:
            manifest = self.read_manifest()
            if not manifest or manifest.get("corpus_hash") != chash:
                return False
        self._collection = col
        return True

    def _claim(self, chash: str, progress: Progress | None) -> shared.Claim | None:
        """Claim the build of ``chash``, waiting while another replica builds it; None when
        that replica finished it meanwhile (then it is adopted, not built twice)."""
        name = self.config.collection_name
        if self._exclusive:  # leftovers of a killed build in this folder: nobody else writes
            shared.drop_leftovers(self.client, name, keep=set(), exclusive=True)

        def waiting(who: str) -> None:
            log.info("waiting for %s to finish building %s on the server", who, name)
            if progress:
                progress(f"waiting for {who} to finish building the index on the server", 0, 1)

        return shared.claim(
            self.client,
            self.embedding_function,
            shared.claim_name(name, chash),
            self._metadata(chash, complete=False),
            self._user_metadata(chash, False),
            done=lambda: self._adopt(chash),
            stale_after=self.config.stale_build_s,
            waiting=waiting,
        )

    def _keep_documents(
        self, docs: Sequence[Document], chash: str, beat: Callable[[], None]
    ) -> None:
        """On a server, keep the documents beside the vectors (before they are marked complete),
        so a replica without the sources answers from the server alone."""
        if self.config.chroma_url:
            shared.keep_documents(
                self.client, self.embedding_function, self.config.collection_name, chash, docs, beat
            )

    def kept_documents(self) -> list[Document] | None:
        """The documents of the complete collection's corpus as kept on the server, checked
        against the collection's corpus hash; None when there are none to trust."""
        col = self._existing()
        meta = (col.metadata or {}) if col is not None else {}
        chash = meta.get("corpus_hash")
        if col is None or not meta.get("complete") or not isinstance(chash, str):
            return None
        docs = shared.kept_documents(
            self.client, self.embedding_function, self.config.collection_name, chash
        )
        if docs is not None and corpus_hash(docs) != chash:
            log.warning("the documents kept on the server do not match the index; ignored")
            return None
        return docs

    def _stored_doc_hashes(self, col: Any) -> dict[str, str] | None:
        manifest = self.read_manifest()
        if manifest and manifest.get("corpus_hash") == (col.metadata or {}).get("corpus_hash"):
            return {k: v["hash"] for k, v in manifest.get("documents", {}).items()}
        # Chunks carry only their doc id (every extra metadata key slows Chroma's writes), so
        # without a manifest for this corpus the per-document diff is unknown: rebuild.
        return None

    def _full_build(
        self,
        held: shared.Claim,
        docs: Sequence[Document],
        chash: str,
        report: SyncReport,
        progress: Progress | None,
        chunk: Chunker,
    ) -> None:
        """Write everything into the claimed build collection, then rename it into place."""
        name = self.config.collection_name
        tmp = held.collection
        try:
            report.chunks_written = self._add_docs(
                tmp, docs, progress, chunk, report.timings, held.beat
            )
            self._keep_documents(docs, chash, held.beat)
            with contextlib.suppress(Exception):
                self.client.delete_collection(name)
            tmp.modify(name=name, metadata=self._user_metadata(chash, True))
        except Exception as exc:
            raise StoreError(f"Could not build the index collection {name}: {exc}.") from exc
        self._collection = self.client.get_collection(
            name, embedding_function=self.embedding_function
        )
        report.added = [d.id for d in docs]
        report.rebuilt = True

    def _user_metadata(self, chash: str, complete: bool) -> dict[str, Any]:
        # hnsw:* keys cannot be changed after creation; only our own keys are modified.
        return {"corpus_hash": chash, "complete": complete}

    def _incremental(
        self,
        col: Any,
        docs: Sequence[Document],
        old: dict[str, str],
        chash: str,
        report: SyncReport,
        progress: Progress | None,
        chunk: Chunker,
        beat: Callable[[], None],
    ) -> None:
        new = {d.id: d for d in docs}
        report.removed = sorted(set(old) - set(new))
        report.changed = sorted(i for i in set(old) & set(new) if old[i] != new[i].content_hash)
        report.added = sorted(set(new) - set(old))
        report.unchanged = len(new) - len(report.changed) - len(report.added)
        try:
            col.modify(metadata=self._user_metadata(chash, False))
            stale = report.removed + report.changed
            t0 = time.perf_counter()
            for i in range(0, len(stale), 500):
                col.delete(where={"doc_id": {"$in": stale[i : i + 500]}})
            report.timings["chroma_delete"] = time.perf_counter() - t0
            todo = [new[i] for i in report.changed + report.added]
            report.chunks_written = self._add_docs(col, todo, progress, chunk, report.timings, beat)
            self._keep_documents(docs, chash, beat)
            col.modify(metadata=self._user_metadata(chash, True))
        except Exception as exc:
            raise StoreError(f"Could not update the index collection {col.name}: {exc}.") from exc
        self._collection = col

    def _add_docs(
        self,
        col: Any,
        docs: Sequence[Document],
        progress: Progress | None,
        chunk: Chunker,
        timings: dict[str, float],
        beat: Callable[[], None],
    ) -> int:
        chunks: list[Chunk] = [c for d in docs for c in chunk(d)]
        total = len(chunks)
        batches = [chunks[i : i + ADD_BATCH] for i in range(0, total, ADD_BATCH)]
        timings.setdefault("embedding", 0.0)
        timings.setdefault("chroma_add", 0.0)

        def embed(batch: list[Chunk]) -> Any:
            t0 = time.perf_counter()
            vectors = self.embedding_function.embed([c.text for c in batch])
            timings["embedding"] += time.perf_counter() - t0  # one worker thread: no race
            return vectors

        # embed the next batch on a thread while Chroma writes this one (both release the GIL
        # for most of their work)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(embed, batches[0]) if batches else None
            done = 0
            for n, batch in enumerate(batches):
                vectors = pending.result()  # type: ignore[union-attr]
                if n + 1 < len(batches):
                    pending = pool.submit(embed, batches[n + 1])
                t0 = time.perf_counter()
                col.add(
                    ids=[c.id for c in batch],
                    embeddings=vectors,
                    metadatas=[{"doc_id": c.doc_id} for c in batch],
                )
                timings["chroma_add"] += time.perf_counter() - t0
                beat()
                done += len(batch)
                if progress:
                    progress("embedding", done, total)
        return total

    # -- reading ----------------------------------------------------------------------------
    def ids(self) -> list[str]:
        """Every chunk id the collection holds, read in pages."""
        return [i for i, _, _ in get_all(self.collection, [])]

    def query(
        self,
        embedding: Sequence[float],
        k: int,
        where: dict[str, Any] | None = None,
        known: Container[str] | None = None,
    ) -> list[tuple[str, float]]:
        """Top-k chunk ids by cosine similarity (1 - distance), best first; only ``known`` ids
        (the caller's own corpus) when given.

        Another process may replace the corpus while this one searches: an in-place update
        writes the new corpus's chunks into the collection, a full build deletes it and renames
        the new one into place (embedded Chroma then fails with "Collection ... does not exist"
        or "Error sending backfill request to compactor"). So ids the caller does not know are
        dropped (they belong to another corpus), and a failed search looks the collection up
        by name again and retries, a few times: ``IndexChangingError`` if it kept failing while
        the collection was being replaced or rewritten, ``StoreError`` otherwise (the store
        does not answer, or fails with nothing changing).
        """
        vector = [list(map(float, embedding))]
        error: Exception | None = None
        changed = False
        for attempt in range(RACE_TRIES):
            col = None
            try:
                col = self.collection
                res = col.query(
                    query_embeddings=vector, n_results=k, where=where, include=["distances"]
                )
            except Exception as exc:
                error = exc
                self._collection = None  # a rebuild may have replaced it: look it up again
                if not self._answers():
                    raise StoreError(f"The index could not be searched: {exc}.") from exc
                changed = changed or col is None or not self._unchanged(col)
                time.sleep(RACE_WAIT_S * (attempt + 1))
                continue
            pairs = zip(res["ids"][0], res["distances"][0], strict=True)
            return [(i, 1.0 - float(d)) for i, d in pairs if known is None or i in known]
        if changed:
            raise IndexChangingError(
                f"The index is being rebuilt by another process ({error}); searched BM25 alone."
            ) from error
        raise StoreError(f"The index could not be searched: {error}.") from error

    def _unchanged(self, col: Any) -> bool:
        """Whether ``col`` is still the complete collection of this name (no rebuild is
        replacing or rewriting it)."""
        now = self._existing()
        return now is not None and now.id == col.id and bool((now.metadata or {}).get("complete"))

    def _answers(self) -> bool:
        """Whether the Chroma client itself still answers (it does while a rebuild runs)."""
        try:
            self.client.heartbeat()
        except Exception:
            return False
        return True


def server_documents(config: StoreConfig, client: Any | None = None) -> list[Document] | None:
    """The corpus a Chroma server holds for ``config``, documents and all; None without a
    server, or when it holds no complete index with documents that match it."""
    if not config.chroma_url:
        return None
    return VectorStore(config, client=client).kept_documents()
