"""Eval sets: JSONL files of questions with acceptable answers and verbatim gold evidence.

The format is in DESIGN.md ("Eval set format"). Loading is forgiving line by line and strict about
the whole: a malformed line is reported with its file and line number and skipped (never
silently), unknown fields are kept and ignored, and a set with no usable item is an error, since
a report computed over nothing would look like a result.

Types are checked strictly (``"answerable": "yes"`` is reported, not coerced) because a guessed
flag silently moves an item between the answerable and unanswerable metrics.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from assistant.types import Turn
from evals.errors import DatasetError

Split = Literal["dev", "test", "all"]
SetName = Literal["article", "squad"]
# "article": questions about the shipped news article; "squad": held-out SQuAD-train articles
# the reader never trained on (with SQuAD 2.0's real unanswerables), over their own corpus
SHIPPED_SETS: dict[str, str] = {"article": "article", "squad": "squad"}
SHIPPED_CORPUS: dict[str, str | None] = {"article": None, "squad": "squad.corpus.jsonl"}
SPLITS: dict[str, tuple[str, ...]] = {"dev": ("dev",), "test": ("test",), "all": ("dev", "test")}
# Hand-written rows of a shipped set kept in files of their own, read after each part's main file
# (``squad.test.paraphrase.jsonl`` after ``squad.test.jsonl``): ``training.reader.evalset``
# rewrites the main SQuAD files, and rows written by hand must survive it.
SHIPPED_SUPPLEMENTS: dict[str, tuple[str, ...]] = {"article": (), "squad": ("paraphrase",)}

PathArg = str | Path
PathsArg = PathArg | Iterable[PathArg]


class EvalItem(BaseModel):
    """One question of an eval set; fields beyond these are kept in ``model_extra``."""

    model_config = ConfigDict(extra="allow", strict=True)

    id: str = Field(min_length=1)
    question: str
    answerable: bool
    answers: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    doc_id: str | None = None

    _file: str = PrivateAttr(default="")
    _line: int | None = PrivateAttr(default=None)

    @field_validator("id", "question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @property
    def location(self) -> tuple[str, int | None]:
        """(file, line) the item was read from; ("", None) for items built in code."""
        return self._file, self._line


@dataclass(frozen=True, slots=True)
class DatasetProblem:
    """A line (or an item) that was skipped or is suspect, with where to find it."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}" if where else self.message


@dataclass
class DatasetLoad:
    items: list[EvalItem]
    problems: list[DatasetProblem] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)


def _as_paths(path_or_paths: PathsArg) -> list[Path]:
    if isinstance(path_or_paths, str | Path):
        return [Path(path_or_paths)]
    return [Path(p) for p in path_or_paths]


def _read(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError as exc:
        raise DatasetError(f"Eval set not found: {path}.") from exc
    except IsADirectoryError as exc:
        raise DatasetError(f"Eval set is a folder, expected a JSONL file: {path}.") from exc
    except OSError as exc:
        raise DatasetError(f"Cannot read eval set {path}: {exc.strerror or exc}.") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"Eval set {path} is not valid UTF-8 (bad byte at position {exc.start})."
        ) from exc
    return text.removeprefix("\ufeff")


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "item"
        if err["type"] == "missing":
            parts.append(f"lacks '{loc}'")
        else:
            parts.append(f"'{loc}': {err['msg']}")
    return "; ".join(parts)


def _parse_line(raw: str) -> tuple[EvalItem | None, str | None]:
    try:
        obj: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(obj, dict):
        return None, f"expected a JSON object, got {type(obj).__name__}"
    try:
        return EvalItem.model_validate(obj), None
    except ValidationError as exc:
        return None, _describe(exc)


def load_dataset(path_or_paths: PathsArg) -> DatasetLoad:
    """Read one or more JSONL eval sets; ids must be unique across all of them.

    Raises ``DatasetError`` when a file cannot be read or when no usable item is left.
    """
    paths = _as_paths(path_or_paths)
    if not paths:
        raise DatasetError("No eval set given.")
    result = DatasetLoad(items=[], paths=paths)
    seen: dict[str, str] = {}
    for path in paths:
        # split on "\n" only: str.splitlines() also breaks on U+2028, which JSON allows raw
        for lineno, raw in enumerate(_read(path).split("\n"), start=1):
            if not raw.strip():
                continue
            item, message = _parse_line(raw)
            if item is not None and item.id in seen:
                item, message = None, f"duplicate id {item.id!r} (first at {seen[item.id]})"
            if item is None:
                result.problems.append(DatasetProblem(str(path), lineno, message or "invalid"))
                continue
            item._file, item._line = str(path), lineno
            seen[item.id] = f"{path}:{lineno}"
            result.items.append(item)
    if not result.items:
        names = ", ".join(str(p) for p in paths)
        detail = f" ({len(result.problems)} malformed lines skipped)" if result.problems else ""
        raise DatasetError(f"Eval set {names} holds no usable item{detail}.")
    return result


def check_evidence(
    items: Iterable[EvalItem], corpus_texts: Mapping[str, str]
) -> list[DatasetProblem]:
    """Items whose gold evidence cannot be scored against this corpus.

    Evidence must stand verbatim in the item's ``doc_id`` document when given, else in any
    document: otherwise retrieval and citation metrics would count a miss that no assistant
    could avoid. Answerable items need evidence; unanswerable ones must have none.
    """
    problems: list[DatasetProblem] = []
    for item in items:
        file, line = item.location
        problems.extend(
            DatasetProblem(file, line, f"item {item.id!r}: {message}")
            for message in _evidence_messages(item, corpus_texts)
        )
    return problems


def _evidence_messages(item: EvalItem, corpus_texts: Mapping[str, str]) -> list[str]:
    messages: list[str] = []
    if item.answerable and not item.evidence:
        messages.append("answerable but lists no evidence")
    if not item.answerable and item.evidence:
        messages.append("unanswerable but lists evidence")
    if item.doc_id is None:
        texts, where = list(corpus_texts.values()), "the corpus"
    elif item.doc_id in corpus_texts:
        texts, where = [corpus_texts[item.doc_id]], f"document {item.doc_id!r}"
    else:
        return [*messages, f"doc_id {item.doc_id!r} is not in the corpus"]
    for evidence in item.evidence:
        if not evidence:
            messages.append("has an empty evidence string")
        elif not any(evidence in text for text in texts):
            messages.append(f"evidence not found verbatim in {where}: {evidence!r}")
    return messages


def dataset_hash(paths: PathsArg) -> str:
    """SHA-256 over the files' bytes in order, so a report says which eval set it measured."""
    digest = hashlib.sha256()
    for path in _as_paths(paths):
        data = _read_bytes(path)
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"Cannot read eval set {path}: {exc.strerror or exc}.") from exc


def shipped_dataset_paths(split: Split = "all", name: SetName = "article") -> list[Path]:
    """A shipped eval set's parts: ``dev`` for tuning, ``test`` held out; each part's main file
    first, then its hand-written supplements."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, not {split!r}")
    if name not in SHIPPED_SETS:
        raise ValueError(f"the eval set must be one of {sorted(SHIPPED_SETS)}, not {name!r}")
    folder = resources.files("evals") / "data"
    suffixes = ["", *(f".{extra}" for extra in SHIPPED_SUPPLEMENTS.get(name, ()))]
    return [
        Path(str(folder / f"{SHIPPED_SETS[name]}.{part}{suffix}.jsonl"))
        for part in SPLITS[split]
        for suffix in suffixes
    ]


def shipped_corpus(name: SetName = "article") -> Path | None:
    """The corpus a shipped eval set is about; None for the shipped article (the default)."""
    file = SHIPPED_CORPUS.get(name)
    return Path(str(resources.files("evals") / "data" / file)) if file else None


def eval_collection(name: str, corpus: Path | None) -> dict[str, str]:
    """Settings overrides for a shipped set's own corpus: its own collection, so evaluating
    never replaces the index the user built in the same data folder. None: the shipped article,
    which is the default index anyway."""
    return {"collection": f"eval-{name}"} if corpus else {}


@dataclass(frozen=True)
class EvalSources:
    """What one ``assistant eval`` asks: eval set files, the corpus to open, its settings."""

    datasets: list[Path]
    corpus: list[Path] | None
    overrides: dict[str, str]


def resolve_sources(
    *,
    eval_set: SetName = "article",
    split: Split = "all",
    datasets: Sequence[Path] | None = None,
    corpus: Sequence[Path] | None = None,
) -> EvalSources:
    """Given eval sets and corpus win; else the shipped set's parts over its own corpus.

    A shipped set that brings a corpus (squad) is opened in its own collection, unless the user
    gave eval sets or a corpus of their own.
    """
    overrides: dict[str, str] = {}
    sources = list(corpus) if corpus else None
    own = shipped_corpus(eval_set)
    if not datasets and not corpus and own:
        sources, overrides = [own], eval_collection(eval_set, own)
    paths = list(datasets) if datasets else shipped_dataset_paths(split, eval_set)
    return EvalSources(paths, sources, overrides)
