"""Quote verification: no quote reaches the user unless the source holds it word for word.

A model answer quotes passages and marks each quote with the passage number, ``"..." [2]``.
Each quote is looked up in the cited passage, then in the other retrieved passages (the marker
is then re-pointed), after normalising what typing changes without changing the words:
whitespace runs, quote marks (« » “ ” „ " and ‘ ’ ' ‚), apostrophes, dashes, compatibility forms
(NFKC: "…" is "...") and invisible characters. A quote found nowhere is removed from the answer
with its marker. A found quote is shown as the SOURCE text at its offsets, never in the model's
spelling, so ``Citation.quote == document_text[start:end]`` holds by construction.

The comparison runs on a normalised copy of each passage that keeps, for every character, the
span of the original it came from; a match in the copy maps back to exact source offsets.

Pure functions, no I/O: the LLM answerer uses it, and so can anything else that quotes.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from assistant.types import Citation, Passage

log = logging.getLogger(__name__)

_DOUBLE_QUOTES = '«»“”„‟"〝〞＂'
_SINGLE_QUOTES = "‘’‚‛'`´′‹›"
_DASHES = "‐‑‒–—―−"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_TRANSLATE = str.maketrans(
    {
        **dict.fromkeys(_DOUBLE_QUOTES, '"'),
        **dict.fromkeys(_SINGLE_QUOTES, "'"),
        **dict.fromkeys(_DASHES, "-"),
        **dict.fromkeys(_INVISIBLE, None),
    }
)

# Quote openers and the closers that end them. Double-type quotes are always quotes; a
# single-type quote counts only when a [n] marker follows it, since ’ and ' are also apostrophes.
_DOUBLE_PAIRS = {"“": "”“", "„": "“”", "«": "»", '"': '"', "＂": "＂"}
_SINGLE_PAIRS = {"‘": "’'", "'": "'’", "‚": "‘’"}
_MARKERS = re.compile(r"(?:[ \t]*\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\])+")
_MARKER_NUMBERS = re.compile(r"\d{1,3}")
_TRAILING_MARKERS = re.compile(r"(?:\s*\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\])+\s*$")
_EDGE_PUNCT = ".,;:!?-'\" "
_MAX_QUOTES = 200  # an answer with more quoted spans than this is not an answer


@dataclass(frozen=True, slots=True)
class Normalised:
    """A normalised copy of a text; ``starts[i]:ends[i]`` is the original span of char ``i``."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original_span(self, a: int, b: int) -> tuple[int, int]:
        """Original offsets of the normalised slice ``[a:b]`` (``b > a``)."""
        return self.starts[a], self.ends[b - 1]


def normalise(text: str, *, fold_case: bool = False) -> Normalised:
    """Collapse whitespace, unify quote marks and dashes, NFKC, drop invisibles; keep a map."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        cluster = text[i:j]
        if cluster[0].isspace():
            if out and out[-1] == " ":
                ends[-1] = j
            else:
                out.append(" ")
                starts.append(i)
                ends.append(j)
        else:
            piece = unicodedata.normalize("NFKC", cluster).translate(_TRANSLATE)
            if fold_case:
                piece = piece.lower()
            for ch in piece:
                if ch.isspace():  # NFKC turned it into a space
                    if out and out[-1] == " ":
                        ends[-1] = j
                        continue
                    ch = " "
                out.append(ch)
                starts.append(i)
                ends.append(j)
        i = j
    return Normalised("".join(out), tuple(starts), tuple(ends))


def normalise_quote(quote: str, *, fold_case: bool = False) -> str:
    """The model's quote in the form it is compared in (no offsets needed)."""
    return normalise(unicodedata.normalize("NFC", quote), fold_case=fold_case).text.strip()


@dataclass(frozen=True, slots=True)
class Located:
    """Where a quote stands: the passage (index into the list) and document offsets."""

    passage_index: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Verification:
    """The answer with only verified quotes, their citations, and what was removed."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    dropped: int = 0  # quotes found in no passage, removed with their markers
    repointed: int = 0  # quotes found in another passage than the one cited
    refused: bool = False  # the model said the passages do not answer the question

    @property
    def grounded(self) -> bool:
        """True when the answer stands on at least one verified quote and is no refusal."""
        return not self.refused and bool(self.citations)


class _Candidates:
    """The retrieved passages that can be cited, with their normalised copies made on demand."""

    def __init__(self, passages: Sequence[Passage], texts: Mapping[str, str]) -> None:
        self.passages = list(passages)
        self.usable: list[bool] = []
        for p in self.passages:
            source = texts.get(p.doc_id)
            ok = source is None or source[p.start : p.end] == p.text
            if not ok:
                log.warning("passage %s does not match its document; not citable", p.chunk_id)
            self.usable.append(ok)
        self._cache: dict[tuple[int, bool], Normalised] = {}

    def norm(self, index: int, fold_case: bool) -> Normalised:
        key = (index, fold_case)
        if key not in self._cache:
            self._cache[key] = normalise(self.passages[index].text, fold_case=fold_case)
        return self._cache[key]


def _find(norm: Normalised, needle: str) -> tuple[int, int] | None:
    """First occurrence on word boundaries, else the first occurrence at all."""
    first = None
    pos = norm.text.find(needle)
    while pos != -1:
        end = pos + len(needle)
        first = first or (pos, end)
        before_ok = pos == 0 or not (needle[0].isalnum() and norm.text[pos - 1].isalnum())
        after_ok = end == len(norm.text) or not (needle[-1].isalnum() and norm.text[end].isalnum())
        if before_ok and after_ok:
            return pos, end
        pos = norm.text.find(needle, pos + 1)
    return first


def _locate_in(cands: _Candidates, quote: str, order: list[int]) -> Located | None:
    variants = []
    for fold in (False, True):
        needle = normalise_quote(quote, fold_case=fold)
        variants.append((needle, fold))
    for needle, fold in list(variants):
        trimmed = needle.strip(_EDGE_PUNCT)
        if trimmed and trimmed != needle:
            variants.append((trimmed, fold))
    for needle, fold in variants:
        if not any(ch.isalnum() for ch in needle):
            continue
        for index in order:
            if not cands.usable[index]:
                continue
            norm = cands.norm(index, fold)
            hit = _find(norm, needle)
            if hit is not None:
                a, b = norm.original_span(*hit)
                base = cands.passages[index].start
                return Located(index, base + a, base + b)
    return None


def locate(
    quote: str,
    passages: Sequence[Passage],
    texts: Mapping[str, str] | None = None,
    cited: Sequence[int] = (),
) -> Located | None:
    """Where ``quote`` stands among ``passages``: the cited ones (1-based) first, then the rest."""
    cands = _Candidates(passages, texts or {})
    return _locate_in(cands, quote, _search_order(cited, len(cands.passages)))


def _search_order(cited: Sequence[int], k: int) -> list[int]:
    first = [n - 1 for n in dict.fromkeys(cited) if 1 <= n <= k]
    return first + [i for i in range(k) if i not in first]


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class QuoteSpan:
    """A quotation in the answer: marks at ``[start, inner_start)`` and ``[inner_end, close)``,
    markers up to ``end``; ``cited`` are the passage numbers in those markers."""

    start: int
    inner_start: int
    inner_end: int
    close: int
    end: int
    cited: tuple[int, ...]


def _markers_at(text: str, pos: int) -> tuple[int, tuple[int, ...]]:
    match = _MARKERS.match(text, pos)
    if not match:
        return pos, ()
    return match.end(), tuple(int(d) for d in _MARKER_NUMBERS.findall(match.group()))


def _opens_here(text: str, i: int) -> bool:
    """A single-type mark opens a quote only at a word start (not in "Russia's")."""
    return (i == 0 or not text[i - 1].isalnum()) and i + 1 < len(text) and not text[i + 1].isspace()


def find_quotes(text: str) -> list[QuoteSpan]:
    """The quotations in an answer, outermost only, left to right."""
    spans: list[QuoteSpan] = []
    i, n = 0, len(text)
    while i < n and len(spans) < _MAX_QUOTES:
        ch = text[i]
        span = None
        if ch in _DOUBLE_PAIRS:
            close = _next_of(text, i + 1, _DOUBLE_PAIRS[ch])
            if close is not None:
                span = _span(text, i, close)
        elif ch in _SINGLE_PAIRS and _opens_here(text, i):
            span = _single_span(text, i)
        if span is None:
            i += 1
            continue
        spans.append(span)
        i = span.end
    return spans


def _next_of(text: str, start: int, closers: str) -> int | None:
    for j in range(start, len(text)):
        if text[j] in closers:
            return j
    return None


def _single_span(text: str, i: int) -> QuoteSpan | None:
    """A single-quoted span needs a [n] marker after its closer, within the paragraph."""
    closers = _SINGLE_PAIRS[text[i]]
    limit = text.find("\n\n", i)
    limit = len(text) if limit == -1 else limit
    for j in range(i + 1, limit):
        if text[j] in closers and _MARKERS.match(text, j + 1):
            return _span(text, i, j)
    return None


def _span(text: str, open_at: int, close_at: int) -> QuoteSpan:
    inner_start, inner_end = open_at + 1, close_at
    cited: tuple[int, ...] = ()
    inner_marker = _TRAILING_MARKERS.search(text, inner_start, inner_end)
    if inner_marker:  # "words [2]" with the marker inside the quote marks
        cited = tuple(int(d) for d in _MARKER_NUMBERS.findall(inner_marker.group()))
        inner_end = inner_marker.start()
    end, after = _markers_at(text, close_at + 1)
    return QuoteSpan(open_at, inner_start, inner_end, close_at + 1, end, cited + after)


# --------------------------------------------------------------------------- verification


def is_refusal(text: str, refusal: str) -> bool:
    """The answer is the refusal sentence, or starts like it and quotes nothing."""

    def loose(s: str) -> str:
        return normalise_quote(s, fold_case=True).strip(_EDGE_PUNCT)

    said, expected = loose(text), loose(refusal)
    if not expected:
        return False
    return said == expected or (said.startswith(expected) and not find_quotes(text))


def _tidy(text: str) -> str:
    """Mend the seams left where a quote or a stray marker was cut out."""
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"[ \t]+([.,;:!?)])", r"\1", text)
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"[,;]?[ \t]+(?:and|or|but)(?=[.!?;])", "", text)  # ", and." -> "."
    text = re.sub(r"([,;:])(?=[.,;:!?])", "", text)
    return text


def verify_answer(
    text: str,
    passages: Sequence[Passage],
    texts: Mapping[str, str] | None = None,
    titles: Mapping[str, str] | None = None,
    *,
    refusal: str | None = None,
) -> Verification:
    """Check every quote of ``text`` against ``passages`` (numbered ``[1]..[k]`` in order).

    ``texts`` maps doc id to document text (offsets are checked against it; a passage that does
    not match its document is never cited), ``titles`` doc id to title for the citations.
    ``refusal`` is the sentence the model was told to decline with.
    """
    texts = texts or {}
    titles = titles or {}
    if refusal and is_refusal(text, refusal):
        return Verification(text=text.strip(), refused=True)

    cands = _Candidates(passages, texts)
    numbers: dict[tuple[str, int, int], int] = {}
    citations: list[Citation] = []
    pieces: list[str] = []
    seam: list[str] = []  # plain text since the last kept quote, tidied before it is joined
    dropped = repointed = 0
    pos = 0
    for span in find_quotes(text):
        seam.append(text[pos : span.start])
        pos = span.end
        quote = text[span.inner_start : span.inner_end]
        if not any(ch.isalnum() for ch in quote):
            seam.append(text[span.start : span.end])
            continue
        order = _search_order(span.cited, len(cands.passages))
        found = _locate_in(cands, quote, order)
        if found is None:
            dropped += 1
            continue
        passage = cands.passages[found.passage_index]
        if span.cited and found.passage_index + 1 not in span.cited:
            repointed += 1
        key = (passage.doc_id, found.start, found.end)
        if key not in numbers:
            numbers[key] = len(citations) + 1
            citations.append(_citation(numbers[key], passage, found, texts, titles))
        shown = " ".join(citations[numbers[key] - 1].quote.split())
        pieces.append(_tidy(_strip_markers("".join(seam))))
        seam = []
        opening = text[span.start : span.inner_start]
        closing = text[span.close - 1]
        pieces.append(f"{opening}{shown}{closing} [{numbers[key]}]")
    tail = text[pos:]
    dangling = _dangling_quote(tail)
    if dangling is not None:  # an answer cut off mid-quote (max_tokens): the fragment goes
        tail = tail[:dangling]
        dropped += 1
    seam.append(tail)
    last = _tidy(_strip_markers("".join(seam)))
    if dangling is not None:
        last = re.sub(r"[,;]?\s+(?:and|or|but)\s*$", "", last)
    pieces.append(last)
    cleaned = "".join(pieces).strip()
    return Verification(
        text=cleaned, citations=citations, dropped=dropped, repointed=repointed, refused=False
    )


def _citation(
    n: int,
    passage: Passage,
    found: Located,
    texts: Mapping[str, str],
    titles: Mapping[str, str],
) -> Citation:
    """The citation for a located quote; its text is the source's, sliced at the offsets."""
    source = texts.get(passage.doc_id)
    if source is not None:
        quote = source[found.start : found.end]
    else:
        quote = passage.text[found.start - passage.start : found.end - passage.start]
    return Citation(
        n=n,
        doc_id=passage.doc_id,
        chunk_id=passage.chunk_id,
        start=found.start,
        end=found.end,
        quote=quote,
        title=titles.get(passage.doc_id, passage.doc_id),
    )


def _dangling_quote(tail: str) -> int | None:
    """Where a quotation opens and never closes in the text after the last quote, if it does."""
    for i, ch in enumerate(tail):
        rest = tail[i + 1 :]
        closers = _DOUBLE_PAIRS.get(ch)
        if closers and not any(c in closers for c in rest) and any(c.isalnum() for c in rest):
            return i
    return None


def _strip_markers(text: str) -> str:
    """Markers outside verified quotes point at nothing the user can check: remove them."""
    return _MARKERS.sub("", text)
