"""Pure presentation helpers for the page: text in, Markdown or escaped HTML out.

Nothing here imports Streamlit, so every function is unit-tested directly. Two rules hold
throughout, because articles, questions and quotes are data a stranger may have written:

- Markdown bodies pass every piece of such text through ``escape_markdown``;
- the one HTML body (the article with cited spans highlighted) passes every piece of article
  text through ``html.escape`` and adds only the tags built here;
- both show invisible formatting characters (bidi overrides, zero-width) as ``<U+XXXX>``
  (``assistant.invisible``), after the offsets are applied, so highlights stay where they are.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from urllib.parse import urlsplit

from assistant.conversation import escape_markdown as _markdown_literal
from assistant.conversation import paragraph_spans
from assistant.invisible import reveal_invisible
from assistant.settings import Settings
from assistant.types import Answer, Citation, Passage

__all__ = [
    "ARTICLE_PAGE_CHARS",
    "ARTICLE_WINDOW_CHARS",
    "Span",
    "answer_markdown",
    "article_facts",
    "article_pages",
    "article_window",
    "blockquote",
    "citation_caption",
    "escape_markdown",
    "highlight_html",
    "llm_endpoint_label",
    "passage_caption",
    "short_answer_markdown",
    "short_span_in",
    "where_label",
]

MARK_STYLE = "background:#fde68a;color:inherit;padding:0 .1em;border-radius:.2em"
SUP_STYLE = "color:#1d4ed8;font-weight:600;font-size:.72em;margin-left:.1em"
ARTICLE_STYLE = (
    "font-family:Georgia,'Times New Roman',serif;font-size:1rem;line-height:1.65;"
    "max-height:28rem;overflow-y:auto;padding:.25rem .75rem .25rem 0"
)
# Bounds on the article text one run sends. Every rerun sends the whole page again, an article
# view under each answer of the chat included: a view of a 20 MB article sent twice per rerun
# froze the browser tab. An answer's view shows its quote amid the neighbouring paragraphs;
# the whole article is read on demand, one page at a time.
ARTICLE_WINDOW_CHARS = 6_000
ARTICLE_PAGE_CHARS = 30_000
ELLIPSIS_STYLE = "margin:0 0 .8em 0;opacity:.6"


def escape_markdown(text: str) -> str:
    """``text`` made literal for Markdown, its invisible formatting characters (bidi
    overrides, zero-width) shown as ``<U+XXXX>`` markers, so nothing reads reversed or hidden.

    Every piece of untrusted text on the page goes through here (or ``_escape_html``); the
    values themselves (quotes, offsets) are left exact.
    """
    return _markdown_literal(reveal_invisible(text))


@dataclass(frozen=True, slots=True)
class Span:
    """A cited span of a document: offsets into ``Document.text`` and its marker ``n``."""

    start: int
    end: int
    n: int


def answer_markdown(answer: Answer) -> str:
    """The answer text, escaped, with each ``[n]`` that has a citation card shown as a marker.

    Why escape first: an LLM's answer (or a quote inside an extractive one) is untrusted text;
    only the markers are turned back into emphasis after escaping, so nothing else can render.
    """
    body = escape_markdown(answer.text)
    known = {c.n for c in answer.citations}

    def marker(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f":blue[**\\[{n}\\]**]" if n in known else m.group(0)

    return re.sub(r"\\\[(\d+)\\\]", marker, body)


def removed_claims_markdown(answer: Answer) -> str:
    """One bullet per claim the checks left out: the model's words, escaped (they are
    untrusted), then the judge's reason in italics, and under it the sentences it cited, so
    the reader can see for themselves why it was left out."""
    lines: list[str] = []
    for c in answer.removed_claims:
        lines.append(f"- {escape_markdown(c.text) or '(no words)'} — _{escape_markdown(c.reason)}_")
        lines += [f"    - cited: “{escape_markdown(s)}”" for s in c.sentences]
    return "\n".join(lines)


def short_answer_markdown(answer: Answer) -> str | None:
    """The short answer as the headline of an extractive answer ("**30 NATO allies** [1]"),
    so the sentence is shown once, in its citation card; None when there is none."""
    short = answer.short_answer
    if answer.mode != "extractive" or short is None or not short.text.strip():
        return None
    return f"**{escape_markdown(short.text.strip())}** :blue[**\\[{short.citation}\\]**]"


def short_span_in(answer: Answer, citation: Citation) -> tuple[int, int] | None:
    """The short answer's offsets inside ``citation.quote``, when it stands there."""
    short = answer.short_answer
    if short is None or short.citation != citation.n or short.doc_id != citation.doc_id:
        return None
    if not (citation.start <= short.start < short.end <= citation.end):
        return None
    return short.start - citation.start, short.end - citation.start


def blockquote(text: str, mark: tuple[int, int] | None = None) -> str:
    """``text`` as a Markdown blockquote, escaped, its line breaks kept; ``mark`` (offsets
    into ``text``) is shown bold — the short answer inside its sentence.

    Guillemets and curly quotes are not ASCII, so they come through untouched.
    """
    if mark and 0 <= mark[0] < mark[1] <= len(text) and "\n" not in text[mark[0] : mark[1]]:
        s, e = mark
        inner = text[s:e].strip()
        s += text[s:e].index(inner) if inner else 0
        e = s + len(inner)
        if inner:
            body = (
                _escape_keeping_spaces(text[:s])
                + "**"
                + escape_markdown(inner)
                + "**"
                + _escape_keeping_spaces(text[e:])
            ).strip()
            lines = body.split("\n")
            return "\n".join(f"> {line}  " if line.strip() else ">" for line in lines)
    lines = escape_markdown(text.strip()).split("\n")
    return "\n".join(f"> {line}  " if line.strip() else ">" for line in lines)


def _escape_keeping_spaces(text: str) -> str:
    """``escape_markdown`` trims; around a bold span the spaces are part of the sentence."""
    core = text.strip()
    if not core:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return lead + escape_markdown(core) + trail


@lru_cache(maxsize=4)
def _paragraph_starts(text: str) -> tuple[int, ...]:
    """Where each paragraph starts; cached, as each caption asks and an article can be long
    (the same ``Document`` text object comes back on every rerun, so a hit costs nothing)."""
    return tuple(start for start, _ in paragraph_spans(text))


@lru_cache(maxsize=4)
def article_facts(text: str) -> tuple[int, int]:
    """(paragraphs, words) of an article, for the header; cached like ``_paragraph_starts``."""
    return len(_paragraph_starts(text)), len(text.split())


def _paragraph_number(text: str, offset: int) -> int:
    return max(1, bisect.bisect_right(_paragraph_starts(text), offset))


def where_label(doc_text: str, start: int, end: int | None = None) -> str:
    """Where a span stands, for a reader: "paragraph 3 of 20" or "paragraphs 1–3 of 20"."""
    total = len(_paragraph_starts(doc_text))
    first = _paragraph_number(doc_text, start)
    last = _paragraph_number(doc_text, end - 1) if end is not None and end > start else first
    if last > first:
        return f"paragraphs {first}–{last} of {total}"
    return f"paragraph {first} of {total}"


def article_window(
    text: str, spans: Sequence[Span], budget: int = ARTICLE_WINDOW_CHARS
) -> tuple[int, int]:
    """The part of ``text`` to show around ``spans``: all of it when it fits ``budget``, else
    at most ``budget`` characters centred on the spans, cut at line breaks where one lies
    outside them. Spans farther apart than ``budget`` get the first one's neighbourhood."""
    n = len(text)
    if n <= budget:
        return 0, n
    lo = min((s.start for s in spans), default=0)
    hi = min(max((s.end for s in spans), default=lo), lo + budget)
    start = max(0, lo - (budget - (hi - lo)) // 2)
    end = min(n, start + budget)
    start = max(0, end - budget)
    if start > 0 and (cut := text.find("\n", start, lo)) != -1:
        start = cut + 1
    if end < n and (cut := text.rfind("\n", hi, end)) != -1:
        end = cut
    return start, end


def article_pages(text: str, size: int = ARTICLE_PAGE_CHARS) -> list[tuple[int, int]]:
    """``text`` cut into pages of at most ``size`` characters, at a line break in the second
    half of each page where there is one (the whole article, read on demand)."""
    pages: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while start < n:
        end = min(n, start + size)
        if end < n and (cut := text.rfind("\n", start + size // 2, end)) != -1:
            end = cut + 1
        pages.append((start, end))
        start = end
    return pages or [(0, 0)]


def citation_caption(citation: Citation, title: str, doc_text: str | None) -> str:
    """The muted line under a quote: marker, escaped title and paragraph (Markdown)."""
    parts = [f":blue[**\\[{citation.n}\\]**]", f"*{escape_markdown(title)}*"]
    if doc_text is not None:
        parts.append(where_label(doc_text, citation.start, citation.end))
    return " · ".join(parts)


def passage_caption(passage: Passage, title: str, doc_text: str | None) -> str:
    """Rank, the three retrieval scores and the place of a retrieved passage (Markdown)."""

    def num(value: float | None, fmt: str) -> str:
        return "–" if value is None else format(value, fmt)

    parts = [
        f"**#{passage.rank}**",
        f"fused {num(passage.fused, '.4f')}",
        f"dense {num(passage.dense, '.3f')}",
        f"BM25 {num(passage.lexical, '.2f')}",
        f"*{escape_markdown(title)}*",
    ]
    if doc_text is not None:
        parts.append(where_label(doc_text, passage.start, passage.end))
    return " · ".join(parts)


def highlight_html(text: str, spans: Sequence[Span], window: tuple[int, int] | None = None) -> str:
    """The document, or its ``window`` (offsets), as HTML: one ``<p>`` per paragraph, every
    cited span in ``<mark>``, an ellipsis where the window leaves text out.

    Every piece of document text goes through ``html.escape``; the only tags are the ones
    written here. The result holds no newline, because Streamlit's Markdown ends a raw HTML
    block at a blank line and would render the rest as Markdown (links included).
    A span crossing a paragraph break is marked in each paragraph it touches; overlapping
    spans merge, and each span's marker follows its last character.
    """
    total = len(text)
    first, last = window or (0, total)
    if window is not None:
        spans = [
            Span(max(s.start, first) - first, min(s.end, last) - first, s.n)
            for s in spans
            if s.start < last and s.end > first
        ]
        text = text[first:last]
    parts: list[str] = [f'<div class="article-view" style="{ARTICLE_STYLE}">']
    if first > 0:
        parts.append(f'<p style="{ELLIPSIS_STYLE}">…</p>')
    paragraphs = paragraph_spans(text)
    next_starts = [s for s, _ in paragraphs[1:]] + [len(text)]
    for (p_start, p_end), next_start in zip(paragraphs, next_starts, strict=True):
        cuts = {p_start, p_end}
        for s in spans:
            if s.start < p_end and s.end > p_start:
                cuts.update({max(s.start, p_start), min(s.end, p_end)})
        points = sorted(cuts)
        pieces: list[str] = []
        for a, b in pairwise(points):
            chunk = _escape_html(text[a:b])
            covering = sorted({s.n for s in spans if s.start <= a and s.end >= b})
            if covering:
                label = " ".join(f"[{n}]" for n in covering)
                chunk = f'<mark title="{label}" style="{MARK_STYLE}">{chunk}</mark>'
            ending = sorted(
                {
                    s.n
                    for s in spans
                    if s.start < b and min(s.end, p_end) == b and s.end <= next_start
                }
            )
            chunk += "".join(f'<sup style="{SUP_STYLE}">[{n}]</sup>' for n in ending)
            pieces.append(chunk)
        parts.append('<p style="margin:0 0 .8em 0">' + "".join(pieces) + "</p>")
    if last < total:
        parts.append(f'<p style="{ELLIPSIS_STYLE}">…</p>')
    parts.append("</div>")
    return "".join(parts)


# Markdown's active characters as numeric entities: should anything ever end the HTML block
# early (a stray line break did once), what follows is still plain text, never a link or image
_MARKDOWN_ENTITIES = {ord(c): f"&#{ord(c)};" for c in "[]()!*_`#~|\\{}"}


def _escape_html(text: str) -> str:
    """Escaped text (HTML and Markdown) with its line breaks as ``<br>`` (the only newlines a
    paragraph holds; ``\r`` and Unicode line separators count as breaks too)."""
    text = re.sub(r"\r\n|[\r\u2028\u2029\x85\x0b\x0c]", "\n", reveal_invisible(text))
    return html.escape(text, quote=True).translate(_MARKDOWN_ENTITIES).replace("\n", "<br>")


def llm_endpoint_label(settings: Settings) -> str:
    """``model @ host[:port]`` for the sidebar; never the path, query or any key."""
    parts = urlsplit(settings.llm_base_url or "")
    host = parts.hostname or "?"
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{settings.llm_model} @ {host}"
