"""The assistant as one object: open (or build) the index, then answer questions.

Heavy parts (embedder, Chroma client, BM25) are built once, in ``index.Index``; the page keeps
one ``Assistant`` in ``st.cache_resource`` and the CLI one per run. This module decides what the
index layer does not: which corpus to index, how Settings become the index's configuration, and
how the index layer's errors reach users (as ``assistant.errors``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.answerers import Answerer, AnswerStream, FallbackAnswerer
from assistant.endpoint import EndpointStatus, EndpointWatch
from assistant.errors import ConfigError, IndexUnavailableError, LLMError, QuestionError
from assistant.extractive import ExtractiveAnswerer
from assistant.followup import standalone_query
from assistant.reader.decline import DeclineModel
from assistant.reader.model import shared_reader
from assistant.reader.ranking import RankModel
from assistant.retrieval import HybridRetriever, Retrieved
from assistant.settings import Settings, load_settings
from assistant.types import Answer, Document, Mode, Turn
from index.chunking import ChunkSettings
from index.errors import IndexLayerError, SourceError
from index.files import printable, write_whole
from index.index import Index, folder_lock
from index.sources import document_from_bytes, load_default, load_sources, shipped_article_path
from index.store import StoreConfig, SyncReport, server_documents

if TYPE_CHECKING:
    from assistant.llm import Health, LLMAnswerer


log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


def check_question(question: str, settings: Settings) -> str:
    q = (question or "").strip()
    if not q:
        raise QuestionError("Please type a question; this one is empty.")
    if any("\ud800" <= ch <= "\udfff" for ch in q):  # undecodable bytes (surrogateescape)
        raise QuestionError("The question is not valid UTF-8 text; please type it again.")
    if len(q) > settings.max_question_chars:
        raise QuestionError(
            f"The question is {len(q):,} characters long; the limit is "
            f"{settings.max_question_chars:,}. Please ask something shorter."
        )
    return q


def index_config(settings: Settings) -> StoreConfig:
    """The index layer's configuration from the settings (the index never reads Settings)."""
    return StoreConfig(
        data_dir=Path(settings.data_dir),
        chroma_url=settings.chroma_url,
        collection_prefix=settings.collection,
        embedder=settings.embedder,
        chunking=ChunkSettings(settings.chunk_size, settings.chunk_overlap),
    )


def read_upload(name: str, data: bytes, doc_id: str | None = None) -> Document:
    """A pasted or uploaded article as a ``Document``; ``SourceError`` (re-exported by
    ``assistant.errors``) in one sentence when it cannot be read. Here so that the page reaches
    sources through ``assistant`` alone."""
    return document_from_bytes(name, data, doc_id)


CORPUS_FILE = "corpus.json"
SNAPSHOT_FILE = "documents.jsonl"


def remember_sources(
    settings: Settings, sources: Sequence[str | Path], documents: Sequence[Document] = ()
) -> None:
    """Record what ``assistant index PATH ...`` indexed, so later runs (ask, chat, the page)
    answer from that corpus instead of quietly re-indexing the shipped article over it, and
    keep the documents themselves beside the index (``keep_documents``). Both files are
    written whole, then renamed in."""
    keep_documents(settings, documents, sources=[str(Path(s).resolve()) for s in sources])


def keep_documents(
    settings: Settings, documents: Sequence[Document], sources: Sequence[str] | None = None
) -> None:
    """Keep a copy of the documents just indexed, so a source that exists but cannot be read
    for a moment (a file half saved, a permission changed) does not stop every ask.

    Written after every build that changed the corpus, not only by ``assistant index``: the
    copies are the last index, never an older corpus (a file deleted from an indexed folder
    once came back from them). ``sources`` None keeps the remembered ones."""
    folder = Path(settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    snapshot = "".join(
        json.dumps(
            {"id": d.id, "title": d.title, "text": d.text, "source": d.source}, ensure_ascii=False
        )
        + "\n"
        for d in documents
    )
    if sources is None:
        sources = [str(p) for p in remembered_sources(settings) or []]
    data = {
        "sources": list(sources),
        "documents_sha256": hashlib.sha256(snapshot.encode("utf-8")).hexdigest(),
    }
    write_whole(folder / SNAPSHOT_FILE, snapshot)
    write_whole(folder / CORPUS_FILE, json.dumps(data, indent=2))


def remembered_sources(settings: Settings) -> list[Path] | None:
    try:
        data = json.loads((Path(settings.data_dir) / CORPUS_FILE).read_text(encoding="utf-8"))
        return [Path(p) for p in data["sources"]] or None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remembered_documents(settings: Settings) -> list[Document] | None:
    """The documents kept at the last index, if their checksum still matches; else None."""
    folder = Path(settings.data_dir)
    try:
        want = json.loads((folder / CORPUS_FILE).read_text(encoding="utf-8"))["documents_sha256"]
        raw = (folder / SNAPSHOT_FILE).read_bytes()
        if hashlib.sha256(raw).hexdigest() != want:
            log.warning("the kept documents in %s do not match their checksum", folder)
            return None
        rows = [json.loads(line) for line in raw.decode("utf-8").splitlines() if line]
        return [
            Document(id=r["id"], title=r["title"], text=r["text"], source=r["source"]) for r in rows
        ] or None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def pick_corpus(
    settings: Settings, sources: Sequence[str | Path] | None
) -> tuple[list[Document], list[str]]:
    """The documents to index and the source names for the manifest: the given sources, else
    the ones ``assistant index`` remembered, else the corpus a Chroma server already holds (a
    replica on another machine starts with an empty data folder and must not re-index the
    shipped article over it), else the shipped article.

    Remembered sources are read again each time, so an edited article is re-indexed and a file
    deleted from an indexed folder leaves the index. Deleted means deleted: when a remembered
    file or folder no longer exists at all, this is one sentence naming it (``SourceError``),
    not answers from copies of articles the user removed; the index and the kept copies stay
    as they are, so a folder put back (a drive remounted) answers again at once, and
    ``assistant index`` with other sources moves on. A source that exists but cannot be read
    right now (half saved, a permission changed) is answered from the copies kept at the last
    index, else from the server's, since nothing was deleted."""
    if sources:
        return load_sources(sources).documents, [str(s) for s in sources]
    remembered = remembered_sources(settings)
    if remembered:
        gone = [p for p in remembered if not p.exists()]
        if gone:
            raise SourceError(
                f"{printable(gone[0])} no longer exists, so the documents indexed from it are "
                "not answered from; put it back, or run `assistant index` with the sources to "
                "use."
            )
        try:
            return load_sources(remembered).documents, [str(s) for s in remembered]
        except SourceError as exc:
            kept = remembered_documents(settings) or server_documents(index_config(settings))
            if kept is None:
                raise
            log.warning("answering from the documents kept at the last index: %s", exc)
            return kept, [str(s) for s in remembered]
    on_server = server_documents(index_config(settings))
    if on_server:
        return on_server, []
    return load_default(), [str(shipped_article_path())]


class Assistant:
    """Answers questions from an open ``Index``: retrieval, then an answerer per mode."""

    def __init__(
        self, settings: Settings, index: Index, timings: dict[str, float] | None = None
    ) -> None:
        self.settings = settings
        self.index = index
        self.documents = index.documents
        self.titles = index.titles
        self.retriever = HybridRetriever(index)
        self.extractive = ExtractiveAnswerer(
            shared_reader(),
            threshold=settings.decline_threshold,
            hedge_threshold=settings.hedge_threshold,
            idf=index.lexical.idf,
            decline=DeclineModel.load(),
            ranker=RankModel.load(),
        )
        self.timings: dict[str, float] = {**(timings or {}), **index.timings}  # seconds, open
        self._llm: LLMAnswerer | None = None
        self._watch: EndpointWatch | None = None

    @property
    def sync_report(self) -> SyncReport:
        return self.index.sync_report

    @property
    def corpus_hash(self) -> str:
        return self.index.corpus_hash

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        sources: Sequence[str | Path] | None = None,
        documents: Sequence[Document] | None = None,
        progress: Progress | None = None,
        remember: bool = False,
    ) -> Assistant:
        """Open the index for ``documents``, else ``sources``, else the remembered sources or
        the shipped article, building what is stale; ``remember`` makes ``sources`` the corpus
        later runs answer from (``assistant index``).

        The corpus is chosen, and remembered, under the data folder's lock: a process that
        waited for another's build then opens that build instead of rebuilding the corpus it
        would have chosen before waiting.

        Raises ``IndexUnavailableError`` (one sentence) for anything the index layer refuses.
        """
        settings = settings or load_settings()
        timings: dict[str, float] = {}
        config = index_config(settings)
        try:
            with folder_lock(config, progress=progress):
                t0 = time.perf_counter()
                from_remembered = documents is None and not sources and remembered_sources(settings)
                if documents is None:
                    documents, src_names = pick_corpus(settings, sources)
                else:
                    src_names = sorted({d.source for d in documents})
                timings["load_sources"] = time.perf_counter() - t0
                if not documents:
                    raise IndexUnavailableError("The sources hold no documents to index.")
                index = Index.open(config, documents, sources=src_names, progress=progress)
                if remember and sources:
                    remember_sources(settings, sources, documents)
                elif from_remembered and index.sync_report.touched:
                    keep_documents(settings, documents)  # the kept copies follow the index
        except IndexLayerError as exc:
            raise IndexUnavailableError(str(exc)) from exc
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        return cls(settings, index, timings)

    # -- the LLM ----------------------------------------------------------------------------
    @property
    def llm(self) -> LLMAnswerer:
        """The LLM answerer, built on first use (the offline path never imports httpx)."""
        if self._llm is None:
            if not self.settings.llm_base_url:
                raise ConfigError(
                    "LLM mode needs an endpoint: set ASSISTANT_LLM_BASE_URL (and "
                    "ASSISTANT_LLM_MODEL), or use the offline extractive mode."
                )
            from assistant.grounding import Grounder
            from assistant.llm import LLMAnswerer, LLMClient

            self._llm = LLMAnswerer(
                LLMClient.from_settings(self.settings),
                self.settings,
                grounder=Grounder(self.extractive),
            )
        return self._llm

    @property
    def llm_watch(self) -> EndpointWatch:
        """What is known of the endpoint's health, shared by every question to this assistant
        (on the page, by every session): a known-down endpoint is not asked again until a
        background check finds it up (``assistant.endpoint``)."""
        if self._watch is None:
            llm = self.llm  # ConfigError here, not in a background thread, when none is set
            self._watch = EndpointWatch(lambda: llm.client.health())
        return self._watch

    def llm_health(self) -> Health | None:
        """A real round trip to the endpoint, waited for; None when no endpoint is configured."""
        if not self.settings.llm_base_url:
            return None
        return self.llm_watch.check()

    def llm_status(self) -> EndpointStatus | None:
        """The endpoint's health as known now, never waiting (a stale verdict starts a check in
        the background); None when no endpoint is configured."""
        if not self.settings.llm_base_url:
            return None
        return self.llm_watch.status()

    def answerer(self, mode: Mode) -> Answerer:
        """The extractive answerer, or the LLM one falling back to it when the endpoint fails
        or is known to be down."""
        if mode == "llm":
            return FallbackAnswerer(self.llm, self.extractive, self.llm_watch)
        return self.extractive

    # -- retrieving -------------------------------------------------------------------------
    def retrieve(
        self, question: str, *, k: int | None = None, doc_id: str | None = None
    ) -> Retrieved:
        """The passages for a question as asked (no follow-up rewriting), best first.

        Raises ``QuestionError`` for an empty or oversized question or an unknown ``doc_id``,
        ``IndexUnavailableError`` when the index cannot be searched.
        """
        return self._search(self._checked(question, doc_id), k, doc_id)

    def _checked(self, question: str, doc_id: str | None) -> str:
        q = check_question(question, self.settings)
        if doc_id is not None and doc_id not in self.documents:
            raise QuestionError(f"There is no document with the id {doc_id!r} in this index.")
        return q

    def _search(self, query: str, k: int | None, doc_id: str | None) -> Retrieved:
        try:
            return self.retriever.retrieve(query, k or self.settings.top_k, doc_id=doc_id)
        except IndexLayerError as exc:
            raise IndexUnavailableError(str(exc)) from exc

    # -- answering --------------------------------------------------------------------------
    def _prepare(
        self,
        question: str,
        history: Sequence[Turn],
        mode: Mode,
        k: int | None,
        doc_id: str | None,
    ) -> tuple[str, Retrieved, dict[str, float]]:
        """The standalone query and its passages. The user's question is checked, then the
        rewritten query is searched unchecked (a rewrite may run a little longer)."""
        t0 = time.perf_counter()
        q = self._checked(question, doc_id)
        query = standalone_query(q, history)
        if mode == "llm" and history:
            query = self._llm_rewrite(q, history, query)
        t1 = time.perf_counter()
        got = self._search(query, k, doc_id)
        t2 = time.perf_counter()
        timings = {
            "rewrite_ms": (t1 - t0) * 1000,
            "retrieve_ms": (t2 - t1) * 1000,
            **got.timings,
        }
        return query, got, timings

    def _llm_rewrite(self, question: str, history: Sequence[Turn], fallback: str) -> str:
        """The model rewrites a follow-up; if that call fails, the offline rewrite stands."""
        from assistant.llm import clean_rewrite, rewrite_messages

        if self.llm_watch.down_reason() is not None:
            return fallback  # known down: the question does not wait for it
        try:
            reply = self.llm.client.complete(rewrite_messages(question, history), max_tokens=120)
        except LLMError as exc:
            log.warning("LLM rewrite failed, using the offline rewrite: %s", exc)
            self.llm_watch.record(exc)
            return fallback
        self.llm_watch.record(None)
        return clean_rewrite(reply.text, question)

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        mode: Mode | None = None,
        k: int | None = None,
        doc_id: str | None = None,
    ) -> Answer:
        """One answer: ``ask_stream`` read to its end. In LLM mode a failing endpoint falls
        back to the extractive answer, with ``fallback_reason`` saying what failed."""
        return self.ask_stream(question, history, mode=mode, k=k, doc_id=doc_id).drain()

    def ask_stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        mode: Mode | None = None,
        k: int | None = None,
        doc_id: str | None = None,
    ) -> AnswerStream:
        """Text as it is written (LLM mode streams; extractive comes in one piece), then the
        verified ``Answer`` in ``.answer``. Validation errors raise here, before any text."""
        t0 = time.perf_counter()
        mode = mode or self.settings.effective_mode
        query, got, timings = self._prepare(question, history, mode, k, doc_id)
        t1 = time.perf_counter()
        stream = self.answerer(mode).stream(query, got.passages, self.documents)

        def finish(_text: str, _seconds: float) -> Answer:
            answer = stream.answer
            t2 = time.perf_counter()
            answer.query = query
            answer.timings = {
                **answer.timings,
                **timings,
                "answer_ms": (t2 - t1) * 1000,
                "total_ms": (t2 - t0) * 1000,
            }
            return answer

        return AnswerStream(iter(stream), finish)
