"""A chat conversation as data: export it (Markdown, JSON) and record feedback on its answers.

The page only presents; what a conversation *is* on disk lives here, so the CLI chat or any
other edge can export and collect feedback the same way. Feedback lines use the eval-set format
(see DESIGN.md), so ``assistant eval --dataset DATA_DIR/feedback.jsonl`` replays what users
judged; the extra fields (``verdict``, ``answer``, ``citations``, ``mode``) are kept by the
eval loader and ignored.
"""

from __future__ import annotations

import bisect
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.types import Answer, Turn
from index.types import Document

Verdict = Literal["up", "down"]
FEEDBACK_FILE = "feedback.jsonl"

# Every ASCII character that Markdown (CommonMark + GFM) or Streamlit's extensions give a meaning:
# emphasis, links and images, raw HTML and autolinks, headings, lists, tables, strikethrough,
# math ($), emoji / colour / icon directives (:), entities (&), setext underlines (=).
# A backslash before ASCII punctuation always means "this character, literally" in CommonMark,
# so escaping a few harmless ones too costs nothing on screen.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=&@^])")


def escape_markdown(text: str) -> str:
    """``text`` made literal for a Markdown renderer: no link, image, HTML or markup survives.

    Why: quotes, questions and uploaded articles are data. ``[click](http://evil)`` or
    ``<script>`` in them must show as those characters, never become a link or markup. Lines are
    also stripped of leading indentation, which Markdown would turn into a code block.
    """
    lines = [_MD_SPECIAL.sub(r"\\\1", line.lstrip(" \t")) for line in text.split("\n")]
    return "\n".join(lines)


def unescape_markdown(text: str) -> str:
    """The inverse of :func:`escape_markdown` for the characters it escapes (for tests, search)."""
    return re.sub(r"\\([\\`*_{}\[\]()<>#+\-.!|~$:=&@^])", r"\1", text)


# Paragraphs are blocks of text separated by blank lines (a line holding only spaces counts).
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every paragraph of ``text``, in order, without the blank lines.

    Why offsets: a citation is located by its ``start`` in the document, so the paragraph it
    stands in is found by offset, never by searching for the quote (which may occur twice).
    """
    spans: list[tuple[int, int]] = []
    pos = len(text) - len(text.lstrip())
    for m in _PARAGRAPH_BREAK.finditer(text, pos):
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    end = len(text.rstrip())
    if end > pos:
        spans.append((pos, end))
    return spans


def paragraph_number(text: str, start: int) -> int:
    """The 1-based number of the paragraph that holds offset ``start`` (1 for the first).

    An offset in the blank lines between two paragraphs belongs to the next one.
    """
    starts = [s for s, _ in paragraph_spans(text)]
    return max(1, bisect.bisect_right(starts, start))


class Exchange(BaseModel):
    """One question and the answer it got, with the history it was asked with."""

    question: str
    answer: Answer
    history: list[Turn] = Field(default_factory=list)


class ArticleRef(BaseModel):
    """Which article a conversation was about (enough to name it in an export)."""

    id: str
    title: str
    source: str = ""


# -- export ----------------------------------------------------------------------------------


def export_json(
    exchanges: Sequence[Exchange], article: ArticleRef, *, now: datetime | None = None
) -> str:
    """The whole conversation as JSON: every answer with its citations, passages and timings.

    Why everything: a JSON export is for debugging and for turning a conversation into eval
    items, so nothing the assistant decided on is left out.
    """
    payload = {
        "article": article.model_dump(),
        "exported_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "turns": [
            {"question": ex.question, "answer": ex.answer.model_dump(mode="json")}
            for ex in exchanges
        ],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def export_markdown(
    exchanges: Sequence[Exchange],
    article: ArticleRef,
    documents: Mapping[str, Document] | None = None,
    *,
    now: datetime | None = None,
) -> str:
    """The conversation as a readable Markdown file: questions, answers, numbered quotes.

    With ``documents`` (id -> Document) each quote says which paragraph it stands in, as the
    page does. All text from the article or the user is escaped, so a Markdown viewer shows it
    literally.
    """
    documents = documents or {}
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f"# Conversation about “{escape_markdown(article.title)}”",
        "",
        f"_Exported {stamp}. Every quote is verbatim from the article._",
        "",
    ]
    for i, ex in enumerate(exchanges, start=1):
        out += [f"## {i}. {escape_markdown(ex.question)}", ""]
        answer = ex.answer
        if answer.fallback_reason:
            out += [f"_Note: {escape_markdown(answer.fallback_reason)}_", ""]
        note = answer.left_out()
        left_out = [f"_{escape_markdown(note)}_", ""] if note else []
        for c in answer.removed_claims:
            left_out.append(f"- _{escape_markdown(c.text)}_ ({escape_markdown(c.reason)})")
            left_out += [f"    - cited: “{escape_markdown(s)}”" for s in c.sentences]
        left_out += [""] if answer.removed_claims else []
        if not answer.grounded and not answer.hedged:
            out += ["The article does not say.", "", *left_out]
            continue
        out += [escape_markdown(answer.text), ""]
        for c in answer.citations:
            doc = documents.get(c.doc_id)
            place = f", paragraph {paragraph_number(doc.text, c.start)}" if doc else ""
            title = escape_markdown(c.title or (doc.title if doc else article.title))
            out += [f"> **[{c.n}]** {escape_markdown(c.quote)}", ">", f"> — {title}{place}", ""]
        out += left_out
    return "\n".join(out).rstrip() + "\n"


# -- feedback --------------------------------------------------------------------------------


def guess_answerable(verdict: Verdict, grounded: bool) -> bool:
    """Whether the question is answerable from the article, as the thumbs suggest.

    A thumbs-up confirms the assistant's own call (it answered: answerable; it declined: not);
    a thumbs-down flips it. So a replay counts the same behaviour as a miss until it changes.
    """
    return grounded if verdict == "up" else not grounded


def feedback_record(
    *,
    question: str,
    answer: Answer,
    history: Sequence[Turn],
    verdict: Verdict,
    record_id: str | None = None,
    doc_id: str | None = None,
) -> dict[str, Any]:
    """One eval-set item (plus the judged answer) from a thumbs on the page.

    ``evidence`` holds the cited quotes only when the user approved a grounded answer: quotes
    the user rejected are not gold evidence, and an eval set must not learn them as such.
    """
    answerable = guess_answerable(verdict, answer.grounded)
    evidence = [c.quote for c in answer.citations] if verdict == "up" and answer.grounded else []
    record: dict[str, Any] = {
        "id": record_id or f"fb-{uuid.uuid4().hex[:12]}",
        "question": question,
        "answerable": answerable,
        "answers": [],
        "evidence": evidence,
        "history": [t.model_dump() for t in history],
        "tags": ["feedback"],
        "verdict": verdict,
        "answer": answer.text,
        "citations": [c.model_dump() for c in answer.citations],
        "mode": answer.mode,
        "grounded": answer.grounded,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if doc_id is not None:
        record["doc_id"] = doc_id
    return record


def append_feedback(data_dir: Path, record: Mapping[str, Any]) -> Path:
    """Append one record as a JSON line to ``DATA_DIR/feedback.jsonl``; return the file.

    One ``write`` of a whole line in append mode, so concurrent sessions do not interleave.
    """
    path = Path(data_dir) / FEEDBACK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(dict(record), ensure_ascii=False) + "\n"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line)
    return path
