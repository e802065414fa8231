"""What replicas sharing one Chroma server coordinate through: build claims and kept documents.

Replicas on different machines each have their own data folder, so the folder lock
(``index.lock``) cannot keep them from building the same corpus at once, nor from deleting each
other's work. The server is the one thing they share, and creating a collection there is atomic
(a second ``create_collection`` of a name fails), so:

- a build *claims* its corpus by creating ``<collection>-build-<corpus hash>``; the claim is the
  build collection itself (renamed into place when complete) and carries its owner and a
  heartbeat timestamp in its metadata, refreshed as batches are written;
- another replica wanting the same corpus finds the claim taken and waits (bounded), then adopts
  the finished collection instead of building it again; it takes a claim over only when its
  heartbeat has not moved for ``stale_after`` seconds of the waiter's own clock (no trust in the
  clocks of two machines agreeing);
- leftovers are dropped only when their heartbeat is older than ``DROP_AFTER_S``, so a build in
  progress on another machine is never deleted.

The documents themselves (text, title, source) are kept on the server too, in
``<collection>-docs-<corpus hash>``, written before the vectors are marked complete: a replica
with an empty data folder and no source files can then answer from the server alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from index.errors import StoreError, StoreUnavailableError
from index.types import Document

log = logging.getLogger(__name__)

BUILD_INFIX = "-build-"
DOCS_INFIX = "-docs-"
STALE_AFTER_S = 120.0  # a claim whose heartbeat stood still this long (watched) is dead
DROP_AFTER_S = 3600.0  # a leftover whose heartbeat is older than this (wall clock) is dropped
WAIT_TIMEOUT_S = 600.0
POLL_S = 0.5
DOCS_BATCH_CHARS = 4_000_000  # well under the server's request size limit
DOCS_PAGE = 500
# the kept documents are never searched: each gets this one constant vector
_DOC_VECTOR = [1.0]

Wait = Callable[[str], None]  # told who is being waited for, each time that changes


def owner_name() -> str:
    """Who holds a claim, for the waiters' progress line: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_name(collection: str, chash: str) -> str:
    return f"{collection}{BUILD_INFIX}{chash[:16]}"


def docs_name(collection: str, chash: str) -> str:
    return f"{collection}{DOCS_INFIX}{chash[:16]}"


def _get(client: Any, name: str, ef: Any) -> Any | None:
    try:
        return client.get_collection(name, embedding_function=ef)
    except Exception:
        return None


@dataclass
class Claim:
    """This process's claim on building one corpus; ``collection`` is the build collection."""

    client: Any
    ef: Any
    collection: Any
    name: str
    owner: str
    base: dict[str, Any]  # the user metadata the heartbeat is written with

    def beat(self) -> None:
        """Say the build is alive (best effort: a missed beat only makes waiters wait)."""
        with contextlib.suppress(Exception):
            self.collection.modify(metadata={**self.base, "heartbeat": time.time()})

    def release(self) -> None:
        """Delete the claim if it is still ours (a full build renamed it away already)."""
        held = _get(self.client, self.name, self.ef)
        if held is not None and (held.metadata or {}).get("owner") == self.owner:
            with contextlib.suppress(Exception):
                self.client.delete_collection(self.name)


def claim(
    client: Any,
    ef: Any,
    name: str,
    metadata: dict[str, Any],
    user_metadata: dict[str, Any],
    done: Callable[[], bool],
    *,
    stale_after: float = STALE_AFTER_S,
    timeout: float = WAIT_TIMEOUT_S,
    waiting: Wait | None = None,
) -> Claim | None:
    """Claim ``name``, or wait while another process holds it; None once ``done()`` says the
    other process finished (the caller adopts its collection).

    ``metadata`` is the build collection's full metadata at creation, ``user_metadata`` what
    heartbeats rewrite (Chroma forbids changing ``hnsw:*`` keys later).
    """
    me = owner_name()
    base = {**user_metadata, "owner": me}
    deadline = time.monotonic() + timeout
    seen: tuple[Any, Any] | None = None
    since = time.monotonic()
    announced: Any = None
    failures = 0
    while True:
        try:
            col = client.create_collection(
                name,
                embedding_function=ef,
                metadata={**metadata, "owner": me, "heartbeat": time.time()},
            )
        except Exception as exc:
            error = exc
        else:
            mine = Claim(client, ef, col, name, me, base)
            if not done():
                return mine
            mine.release()  # the other process finished between our look and our claim
            return None
        if done():
            return None
        held = _get(client, name, ef)
        if held is None:  # released between our create and get: try again, a few times
            failures += 1
            if failures >= 3:
                raise StoreError(f"Could not claim the index build {name}: {error}.") from error
            continue
        failures = 0
        beat = _beat(held)
        now = time.monotonic()
        if beat != seen:
            seen, since = beat, now
            if waiting and beat[0] != announced:
                announced = beat[0]
                waiting(str(beat[0] or "another process"))
        elif now - since >= stale_after:
            log.warning("the build %s of %s stopped beating; taking it over", name, beat[0])
            _drop_if_unchanged(client, name, ef, beat)
            seen = None
            continue
        if now > deadline:
            raise StoreUnavailableError(
                f"{beat[0]} has been building the index on the server for over "
                f"{timeout:.0f} s; try again when it is done."
            )
        time.sleep(POLL_S)


def _beat(col: Any) -> tuple[Any, Any]:
    """A claim's (owner, heartbeat): it moves while its build is alive."""
    meta = col.metadata or {}
    return meta.get("owner"), meta.get("heartbeat")


def _drop_if_unchanged(client: Any, name: str, ef: Any, beat: tuple[Any, Any]) -> None:
    """Delete a dead claim, unless another waiter took it over first (its beat differs)."""
    held = _get(client, name, ef)
    if held is not None and _beat(held) == beat:
        with contextlib.suppress(Exception):
            client.delete_collection(name)


def drop_leftovers(client: Any, collection: str, keep: set[str], exclusive: bool) -> None:
    """Drop build and docs collections of ``collection`` that nobody is writing any more.

    ``exclusive``: this process is known to be the only writer (embedded store under the folder
    lock), so every leftover is dead. Otherwise only those whose heartbeat is older than
    ``DROP_AFTER_S`` are: another replica may be building right now.
    """
    cutoff = time.time() - DROP_AFTER_S
    try:
        for c in client.list_collections():
            cname = c if isinstance(c, str) else c.name
            if cname in keep or not cname.startswith(
                (collection + BUILD_INFIX, collection + DOCS_INFIX)
            ):
                continue
            meta = {} if isinstance(c, str) else (c.metadata or {})
            if exclusive or float(meta.get("heartbeat") or 0.0) < cutoff:
                client.delete_collection(cname)
    except Exception as exc:  # best effort: a leftover costs disk, not correctness
        log.debug("could not drop leftover collections: %s", exc)


def _batches(docs: Sequence[Document]) -> Iterator[list[Document]]:
    batch: list[Document] = []
    size = 0
    for d in docs:
        if batch and (size + len(d.text) > DOCS_BATCH_CHARS or len(batch) >= DOCS_PAGE):
            yield batch
            batch, size = [], 0
        batch.append(d)
        size += len(d.text)
    if batch:
        yield batch


def keep_documents(
    client: Any, ef: Any, collection: str, chash: str, docs: Sequence[Document], beat: Any
) -> None:
    """Store ``docs`` on the server for ``collection`` (idempotent: a finished copy is kept)."""
    name = docs_name(collection, chash)
    col = client.get_or_create_collection(
        name,
        embedding_function=ef,
        metadata={"corpus_hash": chash, "complete": False, "heartbeat": time.time()},
    )
    if (col.metadata or {}).get("complete"):
        return
    for batch in _batches(docs):
        col.upsert(
            ids=[d.id for d in batch],
            documents=[d.text for d in batch],
            metadatas=[{"title": d.title, "source": d.source} for d in batch],
            embeddings=[_DOC_VECTOR] * len(batch),
        )
        beat()
    col.modify(metadata={"corpus_hash": chash, "complete": True, "heartbeat": time.time()})


def kept_documents(client: Any, ef: Any, collection: str, chash: str) -> list[Document] | None:
    """The documents kept on the server for corpus ``chash``, or None when they are missing
    or incomplete. The caller checks them against ``chash`` before trusting them."""
    col = _get(client, docs_name(collection, chash), ef)
    if col is None or not (col.metadata or {}).get("complete"):
        return None
    docs: list[Document] = []
    offset = 0
    while True:
        got = col.get(include=["documents", "metadatas"], limit=DOCS_PAGE, offset=offset)
        for i, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
            docs.append(Document(id=i, title=meta["title"], text=text, source=meta["source"]))
        if len(got["ids"]) < DOCS_PAGE:
            return docs
        offset += len(got["ids"])
