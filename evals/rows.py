"""One row of ``results.jsonl`` as a typed value, and reading and writing the file.

The runner writes a ``ResultRow`` per item; the report, ``evals.compare``, calibration and the
judge merge read rows back through the same model, so a field is named once and a row from an
older run (without ``passed``, without judge fields) loads the same way everywhere.

The file format does not change with this model: the field names are the ones runs have always
written. Optional fields (``error``, the ``judge_*`` verdicts, the LLM's ``removed_claims``) are
written only once something set them, so a run without ``--judge`` writes no judge fields, as
before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.types import RemovedClaim
from evals.metrics import ItemScore

__all__ = [
    "RESULTS",
    "CitedQuote",
    "JudgedClaim",
    "ResultRow",
    "ResultsFile",
    "as_rows",
    "read_results",
    "write_results",
]

RESULTS = "results.jsonl"

# Written only when set: a row that was never judged (or never failed) carries none of them.
_OPTIONAL = frozenset(
    {"error", "judge_faithfulness", "judge_claims", "judge_error", "removed_claims"}
)


class CitedQuote(BaseModel):
    """Where one citation of the answer points, and what it quotes."""

    model_config = ConfigDict(extra="ignore")

    n: int | None = None
    doc_id: str = "?"
    start: int | None = None
    end: int | None = None
    quote: str = ""


class JudgedClaim(BaseModel):
    """One claim of the answer as the LLM judge split it, and its decision."""

    claim: str
    supported: bool


class ResultRow(ItemScore):
    """An ``ItemScore`` plus what was asked and answered: enough to read why an item failed."""

    question: str = ""
    answer: str = ""
    grounded: bool | None = None
    query: str | None = None
    mode: str | None = None
    fallback_reason: str | None = None
    cited: list[CitedQuote] = Field(default_factory=list)
    removed_claims: list[RemovedClaim] = Field(default_factory=list)  # LLM claims not shown
    error: str | None = None  # the item could not be run
    judge_faithfulness: float | None = None
    judge_claims: list[JudgedClaim] | None = None
    judge_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The row as written to ``results.jsonl``; unset optional fields left out."""
        unset = _OPTIONAL - self.model_fields_set
        return self.model_dump(mode="json", exclude=set(unset))


def as_rows(rows: Iterable[ResultRow | Mapping[str, Any]]) -> list[ResultRow]:
    """Rows as ``ResultRow`` values, whether already typed or read as plain JSON objects."""
    return [r if isinstance(r, ResultRow) else ResultRow.model_validate(r) for r in rows]


@dataclass
class ResultsFile:
    """The rows of a results file by id order, and what was skipped while reading it."""

    rows: list[ResultRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exists: bool = True


def read_results(path: Path) -> ResultsFile:
    """Rows of ``path``; a line that does not read as a row is skipped with a note.

    A line cut by a crash (at the end of a stopped run) is such a line: the runner re-asks its
    item. A resumed run may hold an id twice; the later row is the one that counts, in the
    place the id first appeared.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ResultsFile(exists=False, notes=[f"{path} is missing."])
    except (OSError, UnicodeDecodeError) as exc:
        return ResultsFile(notes=[f"Cannot read {path}: {exc}."])
    rows: dict[str, ResultRow] = {}
    notes: list[str] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            notes.append(f"{path}:{lineno}: not valid JSON, skipped (a run cut short?).")
            continue
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            notes.append(f"{path}:{lineno}: a row without an 'id', skipped.")
            continue
        try:
            row = ResultRow.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "row"
            notes.append(f"{path}:{lineno}: not a result row ({where}: {first['msg']}), skipped.")
            continue
        rows[row.id] = row
    return ResultsFile(list(rows.values()), notes)


def write_results(path: Path, rows: Sequence[ResultRow]) -> None:
    """Replace ``path`` with these rows in one step (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(row_line(r) for r in rows), encoding="utf-8")
    os.replace(tmp, path)


def row_line(row: ResultRow) -> str:
    """One line of ``results.jsonl``."""
    return json.dumps(row.to_json(), ensure_ascii=False) + "\n"
