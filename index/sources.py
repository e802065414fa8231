"""Turning files on disk into ``Document``s.

Plain text and Markdown are kept as decoded, with one change: line endings become ``\n``
(``\r\n`` and a lone ``\r`` alike), so every later step — sentences, paragraphs, the page's
HTML view, where a stray ``\r`` once ended an HTML block and let Markdown through — sees one
kind of line break. Offsets are exact against ``Document.text``, the text the index stores.
HTML is reduced to its visible text first (that text is then the document). JSONL holds one
``{id, title, text}`` object per line; other fields are ignored.

A file named explicitly must load or raise; inside a folder, a bad file is skipped and reported,
so one stray binary does not stop a newsroom's worth of articles from being indexed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from index.errors import DuplicateDocumentError, SourceError
from index.files import printable
from index.html import html_to_text
from index.types import Document

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
FOLDER_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES


@dataclass
class LoadResult:
    documents: list[Document]
    skipped: list[str] = field(default_factory=list)  # one sentence per skipped file


def shipped_article_path() -> Path:
    """The article that ships with the product: the default corpus."""
    return Path(str(resources.files("index") / "data" / "article.txt"))


def load_default() -> list[Document]:
    return load_sources([shipped_article_path()]).documents


def load_sources(paths: Iterable[str | Path]) -> LoadResult:
    """Load files, folders (recursively) and JSONL files into documents with unique ids."""
    result = LoadResult(documents=[])
    seen: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if child.suffix.lower() not in FOLDER_SUFFIXES or child.name.startswith("."):
                    continue
                try:
                    docs = list(_load_file(child, base=path))
                except SourceError as exc:
                    log.warning("skipped %s: %s", printable(child), exc)
                    result.skipped.append(str(exc))
                    continue
                _add(result, docs, seen)
        else:
            _add(result, list(_load_file(path, base=path.parent)), seen)
    return result


def _add(result: LoadResult, docs: list[Document], seen: dict[str, str]) -> None:
    for doc in docs:
        if doc.id in seen:
            raise DuplicateDocumentError(
                f"Two documents have the id {doc.id!r}: {seen[doc.id]} and {doc.source}."
            )
        seen[doc.id] = doc.source
        result.documents.append(doc)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise SourceError(f"Source file not found: {printable(path)}.") from exc
    except IsADirectoryError as exc:
        raise SourceError(
            f"Source is a folder where a file was expected: {printable(path)}."
        ) from exc
    except OSError as exc:
        raise SourceError(
            f"Cannot read source file {printable(path)}: {exc.strerror or exc}."
        ) from exc
    return decode_text(data, printable(path))


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 text of a source, or a ``SourceError`` naming it (binary, not UTF-8, empty)."""
    if b"\x00" in data[:8192]:
        raise SourceError(f"Source file {name} looks binary, not text.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"Source file {name} is not valid UTF-8 (bad byte at position {exc.start})."
        ) from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    text = normalise_newlines(text)
    if not text.strip():
        raise SourceError(f"Source file {name} is empty.")
    return text


def normalise_newlines(text: str) -> str:
    """``\r\n`` and lone ``\r`` as ``\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def document_from_bytes(name: str, data: bytes, doc_id: str | None = None) -> Document:
    """One document from an upload or pasted text (.txt, .md, .html by the name's suffix)."""
    suffix = Path(name).suffix.lower()
    if suffix not in TEXT_SUFFIXES | HTML_SUFFIXES:
        raise SourceError(f"{name} is not a .txt, .md or .html file.")
    text = decode_text(data, name)
    title = ""
    if suffix in HTML_SUFFIXES:
        title, text = html_to_text(text)
        if not text.strip():
            raise SourceError(f"Source file {name} has no visible text.")
    doc_id = doc_id or _slug(Path(name), Path("."))
    return Document(
        id=doc_id, title=title or _title_from_text(text, doc_id), text=text, source=f"upload:{name}"
    )


def _slug(path: Path, base: Path) -> str:
    try:
        rel = path.relative_to(base)
    except ValueError:
        rel = Path(path.name)
    stem = rel.with_suffix("").as_posix()
    readable = re.sub(r"[^A-Za-z0-9_/.-]+", "-", stem).strip("-")
    if readable and readable == stem:
        return readable
    # the readable part lost characters (北京 and 東京 both became ""): a short hash of the
    # relative path keeps ids unique and stable whatever the file holds
    digest = hashlib.sha1(rel.as_posix().encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{readable or 'doc'}-{digest}"


def _title_from_text(text: str, fallback: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line.rstrip(" –-").strip()[:200]
    return fallback


def _load_file(path: Path, base: Path) -> Iterator[Document]:
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        yield from _load_jsonl(path)
        return
    text = _read_text(path)
    if suffix in HTML_SUFFIXES:
        title, text = html_to_text(text)
        if not text.strip():
            raise SourceError(f"Source file {printable(path)} has no visible text.")
        doc_id = _slug(path, base)
        yield Document(
            id=doc_id,
            title=title or _title_from_text(text, doc_id),
            text=text,
            source=printable(path),
        )
        return
    doc_id = _slug(path, base)
    yield Document(
        id=doc_id, title=_title_from_text(text, doc_id), text=text, source=printable(path)
    )


def _has_surrogate(text: str) -> bool:
    """JSON may escape a lone surrogate (``"\\udcff"``); no UTF-8 file or index can hold one."""
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _load_jsonl(path: Path) -> Iterator[Document]:
    text = _read_text(path)
    name = printable(path)
    count = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceError(f"{name}, line {lineno}: not valid JSON ({exc.msg}).") from exc
        if not isinstance(obj, dict):
            raise SourceError(f"{name}, line {lineno}: expected an object with id, title, text.")
        doc_id, body = obj.get("id"), obj.get("text")
        if not isinstance(body, str) or not body.strip():
            raise SourceError(f"{name}, line {lineno}: 'text' is missing or empty.")
        if doc_id is None or str(doc_id).strip() == "":
            raise SourceError(f"{name}, line {lineno}: 'id' is missing.")
        title = obj.get("title")
        if any(_has_surrogate(str(v)) for v in (doc_id, body, title or "")):
            raise SourceError(
                f"{name}, line {lineno}: holds an escaped lone surrogate (such as \\udcff), "
                "which is not text."
            )
        count += 1
        yield Document(
            id=str(doc_id),
            title=str(title) if title else _title_from_text(body, str(doc_id)),
            text=normalise_newlines(body),
            source=f"{name}:{lineno}",
        )
    if count == 0:
        raise SourceError(f"Source file {name} holds no documents.")
