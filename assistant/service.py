"""The assistant as one object: open (or build) the index, then answer questions.

Heavy parts (embedder, Chroma client, BM25) are built once here; the page keeps one instance in
``st.cache_resource`` and the CLI one per run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import ConfigError, IndexUnavailableError, LLMError, QuestionError
from assistant.extractive import ExtractiveAnswerer
from assistant.followup import standalone_query
from assistant.retrieval import HybridRetriever, Retrieved
from assistant.settings import Settings, load_settings
from assistant.types import Answer, Mode, Turn
from index.chunking import ChunkSettings, chunk_document
from index.errors import IndexLayerError, StoreUnavailableError
from index.lexical import LexicalIndex
from index.sources import load_default, load_sources, shipped_article_path
from index.store import StoreConfig, SyncReport, VectorStore, corpus_hash
from index.types import Document

if TYPE_CHECKING:
    from assistant.llm import Health, LLMAnswerer


log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


def check_question(question: str, settings: Settings) -> str:
    q = (question or "").strip()
    if not q:
        raise QuestionError("Please type a question; this one is empty.")
    if len(q) > settings.max_question_chars:
        raise QuestionError(
            f"The question is {len(q):,} characters long; the limit is "
            f"{settings.max_question_chars:,}. Please ask something shorter."
        )
    return q


def store_config(settings: Settings) -> StoreConfig:
    return StoreConfig(
        data_dir=Path(settings.data_dir),
        chroma_url=settings.chroma_url,
        collection_prefix=settings.collection,
        embedder=settings.embedder,
        chunking=ChunkSettings(settings.chunk_size, settings.chunk_overlap),
    )


CORPUS_FILE = "corpus.json"


def remember_sources(settings: Settings, sources: Sequence[str | Path]) -> None:
    """Record what ``assistant index PATH ...`` indexed, so later runs (ask, chat, the page)
    answer from that corpus instead of quietly re-indexing the shipped article over it."""
    path = Path(settings.data_dir) / CORPUS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"sources": [str(Path(s).resolve()) for s in sources]}
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def remembered_sources(settings: Settings) -> list[Path] | None:
    try:
        data = json.loads((Path(settings.data_dir) / CORPUS_FILE).read_text(encoding="utf-8"))
        return [Path(p) for p in data["sources"]] or None
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Assistant:
    def __init__(
        self,
        settings: Settings,
        documents: Sequence[Document],
        store: VectorStore,
        lexical: LexicalIndex,
        sync_report: SyncReport,
    ) -> None:
        self.settings = settings
        self.documents = {d.id: d for d in documents}
        self.titles = {d.id: d.title for d in documents}
        self.store = store
        self.lexical = lexical
        self.sync_report = sync_report
        self.retriever = HybridRetriever(store, lexical, store.embedding_function)
        self.extractive = ExtractiveAnswerer(
            store.embedding_function, lexical, threshold=settings.decline_threshold
        )
        self.corpus_hash = corpus_hash(documents)
        self._llm: LLMAnswerer | None = None

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        sources: Sequence[str | Path] | None = None,
        documents: Sequence[Document] | None = None,
        progress: Progress | None = None,
    ) -> Assistant:
        """Open the index for ``sources`` (default: the shipped article), building what is stale.

        Raises ``IndexUnavailableError`` (one sentence) for anything the index layer refuses.
        """
        settings = settings or load_settings()
        try:
            if documents is None:
                sources = sources or remembered_sources(settings)
                if sources:
                    documents = load_sources(sources).documents
                    src_names = [str(s) for s in sources]
                else:
                    documents = load_default()
                    src_names = [str(shipped_article_path())]
            else:
                src_names = sorted({d.source for d in documents})
            if not documents:
                raise IndexUnavailableError("The sources hold no documents to index.")
            store = VectorStore(store_config(settings))
            report = store.sync(documents, src_names, progress=progress)
            lexical = cls._lexical(store, documents, progress)
        except StoreUnavailableError as exc:
            raise IndexUnavailableError(str(exc)) from exc
        except IndexLayerError as exc:
            raise IndexUnavailableError(str(exc)) from exc
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        return cls(settings, documents, store, lexical, report)

    @staticmethod
    def _lexical(
        store: VectorStore, documents: Sequence[Document], progress: Progress | None
    ) -> LexicalIndex:
        folder = (
            Path(store.config.data_dir)
            / "lexical"
            / (f"{store.config.collection_name}-{corpus_hash(documents)[:16]}")
        )
        lex = LexicalIndex.load(folder)
        if lex is not None:
            return lex
        if progress:
            progress("lexical", 0, 1)
        # chunk ids are derived from doc id and offsets, so chunking the documents in memory
        # gives exactly the collection's chunks without reading 100k records back from Chroma
        lex = LexicalIndex.build(
            [c for d in documents for c in chunk_document(d, store.config.chunking)]
        )
        try:
            for old in folder.parent.glob(f"{store.config.collection_name}-*"):
                if old != folder and old.is_dir():
                    import shutil

                    shutil.rmtree(old, ignore_errors=True)
            lex.save(folder)
        except OSError as exc:  # a cache that cannot be written is rebuilt next time
            log.warning("could not save the lexical index to %s: %s", folder, exc)
        if progress:
            progress("lexical", 1, 1)
        return lex

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
            from assistant.llm import LLMAnswerer, LLMClient

            self._llm = LLMAnswerer(LLMClient.from_settings(self.settings), self.settings)
        return self._llm

    def llm_health(self) -> Health | None:
        """A real round trip to the endpoint; None when no endpoint is configured."""
        if not self.settings.llm_base_url:
            return None
        return self.llm.client.health()

    def _mode(self, mode: Mode | None) -> Mode:
        return mode or self.settings.effective_mode

    # -- answering --------------------------------------------------------------------------
    def _prepare(
        self,
        question: str,
        history: Sequence[Turn],
        mode: Mode,
        k: int | None,
        doc_id: str | None,
    ) -> tuple[str, Retrieved, dict[str, float]]:
        t0 = time.perf_counter()
        q = check_question(question, self.settings)
        if doc_id is not None and doc_id not in self.documents:
            raise QuestionError(f"There is no document with the id {doc_id!r} in this index.")
        query = standalone_query(q, history)
        if mode == "llm" and history:
            query = self._llm_rewrite(q, history, query)
        t1 = time.perf_counter()
        try:
            got = self.retriever.retrieve(query, k or self.settings.top_k, doc_id=doc_id)
        except IndexLayerError as exc:
            raise IndexUnavailableError(str(exc)) from exc
        t2 = time.perf_counter()
        return query, got, {"rewrite_ms": (t1 - t0) * 1000, "retrieve_ms": (t2 - t1) * 1000}

    def _llm_rewrite(self, question: str, history: Sequence[Turn], fallback: str) -> str:
        """The model rewrites a follow-up; if that call fails, the offline rewrite stands."""
        from assistant.llm import clean_rewrite, rewrite_messages

        try:
            reply = self.llm.client.complete(rewrite_messages(question, history), max_tokens=120)
        except LLMError as exc:
            log.warning("LLM rewrite failed, using the offline rewrite: %s", exc)
            return fallback
        return clean_rewrite(reply.text, question)

    def _extractive(self, query: str, got: Retrieved) -> Answer:
        return self.extractive.answer(query, got.passages, self.titles, qvec=got.query_vector)

    def _fallback(self, query: str, got: Retrieved, exc: Exception) -> Answer:
        log.warning("LLM answer failed, falling back to extractive: %s", exc, exc_info=exc)
        answer = self._extractive(query, got)
        answer.fallback_reason = (
            f"The LLM endpoint failed ({exc}); this is the offline extractive answer."
        )
        return answer

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        mode: Mode | None = None,
        k: int | None = None,
        doc_id: str | None = None,
    ) -> Answer:
        """One answer. In LLM mode a failing endpoint falls back to the extractive answer, with
        ``fallback_reason`` saying what failed; nothing is raised for it."""
        mode = self._mode(mode)
        t0 = time.perf_counter()
        query, got, timings = self._prepare(question, history, mode, k, doc_id)
        t2 = time.perf_counter()
        if mode == "llm":
            llm = self.llm
            try:
                answer = llm.answer(query, got.passages, self.documents)
            except LLMError as exc:
                answer = self._fallback(query, got, exc)
        else:
            answer = self._extractive(query, got)
        t3 = time.perf_counter()
        answer.query = query
        answer.timings = {
            **answer.timings,
            **timings,
            "answer_ms": (t3 - t2) * 1000,
            "total_ms": (t3 - t0) * 1000,
        }
        return answer

    def ask_stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        mode: Mode | None = None,
        k: int | None = None,
        doc_id: str | None = None,
    ) -> StreamedAnswer:
        """Text as it is written (LLM mode streams; extractive comes in one piece), then the
        verified ``Answer`` in ``.answer``. Validation errors raise here, before any text."""
        mode = self._mode(mode)
        query, got, timings = self._prepare(question, history, mode, k, doc_id)
        if mode != "llm":
            answer = self._extractive(query, got)
            answer.query, answer.timings = query, {**answer.timings, **timings}
            return StreamedAnswer(iter([answer.text]), lambda: answer)
        stream = self.llm.stream(query, got.passages, self.documents)
        state: dict[str, Answer] = {}

        def deltas() -> Iterator[str]:
            try:
                yield from stream
                state["answer"] = stream.answer
            except LLMError as exc:
                state["answer"] = self._fallback(query, got, exc)
                yield "\n\n"
                yield state["answer"].text
            state["answer"].query = query
            state["answer"].timings = {**state["answer"].timings, **timings}

        return StreamedAnswer(deltas(), lambda: state["answer"])


class StreamedAnswer:
    """Iterate for text deltas; ``.answer`` holds the final, verified answer afterwards."""

    def __init__(self, deltas: Iterator[str], final: Callable[[], Answer]) -> None:
        self._deltas = deltas
        self._final = final

    def __iter__(self) -> Iterator[str]:
        return self._deltas

    @property
    def answer(self) -> Answer:
        return self._final()
