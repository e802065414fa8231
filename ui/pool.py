"""Assistants shared by every browser session, one per (settings, corpus).

The page keeps one ``AssistantPool`` in ``st.cache_resource``, so each index is opened (or
built) once per process and reused by every session and rerun. Why a pool object rather than
``@st.cache_resource`` on the opening function itself: building reports progress into page
elements created outside the function, and Streamlit replays element calls made inside a cached
function on every later hit, which fails for elements it did not create. The pool keeps the
build in the page's own script context, so progress bars behave, and still builds only once.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from assistant.service import Assistant
from assistant.settings import Settings
from assistant.types import Document

Progress = Callable[[str, int, int], None]
SHIPPED = "shipped"


def settings_key(settings: Settings) -> str:
    """A stable digest of everything in the settings, the key's secret included (hashed).

    Why hash the secret too: two endpoints that differ only by key must not share a client;
    the digest never reveals it.
    """
    data = settings.model_dump(mode="json")
    secret = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    raw = json.dumps(data, sort_keys=True, default=str) + "\x00" + secret
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def corpus_key(documents: Sequence[Document] | None) -> str:
    """``"shipped"`` for the default article, else a digest of the documents' ids and text."""
    if documents is None:
        return SHIPPED
    h = hashlib.sha256()
    for doc in documents:
        h.update(doc.id.encode("utf-8") + b"\x00" + doc.content_hash.encode("ascii") + b"\x00")
    return h.hexdigest()


def settings_for_corpus(settings: Settings, documents: Sequence[Document] | None) -> Settings:
    """Settings whose Chroma collection belongs to this corpus alone.

    Why: ``VectorStore.sync`` makes a collection hold exactly the given documents. Indexing an
    upload into the shipped article's collection would swap the corpus under every other
    session (and the CLI). An upload gets its own collection prefix, derived from its content.
    """
    if documents is None:
        return settings
    return settings.model_copy(update={"collection": f"upload-{corpus_key(documents)[:12]}"})


class AssistantPool:
    """A bounded, thread-safe map (settings, corpus) -> open ``Assistant``, least recent out.

    Builds are serialised by one lock: two sessions uploading at once wait for each other rather
    than writing the same Chroma folder concurrently.
    """

    def __init__(self, max_size: int = 8) -> None:
        self.max_size = max_size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, str], Assistant] = OrderedDict()

    def get(self, settings: Settings, documents: Sequence[Document] | None) -> Assistant | None:
        """The open assistant for this corpus, or ``None`` when it still has to be built."""
        key = (settings_key(settings_for_corpus(settings, documents)), corpus_key(documents))
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def open(
        self,
        settings: Settings,
        documents: Sequence[Document] | None,
        progress: Progress | None = None,
    ) -> Assistant:
        """The assistant for this corpus, opening (or building) its index on first use."""
        effective = settings_for_corpus(settings, documents)
        key = (settings_key(effective), corpus_key(documents))
        with self._lock:
            found = self._items.get(key)
            if found is None:
                found = Assistant.open(
                    effective,
                    documents=list(documents) if documents is not None else None,
                    progress=progress,
                )
                self._items[key] = found
                while len(self._items) > self.max_size:
                    self._items.popitem(last=False)
            self._items.move_to_end(key)
            return found
