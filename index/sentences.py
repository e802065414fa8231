"""Sentence spans with exact offsets.

The extractive answerer quotes whole sentences and the chunker never cuts one, so both use these
spans. News copy has quotes that close after the full stop (``.»``, ``.’``), paragraphs without
final punctuation (headlines), and abbreviations (``U.S.``, ``Mr.``); all are handled here.
"""

from __future__ import annotations

import re

_PARAGRAPH = re.compile(r"\n\s*\n|\n")
# End punctuation, optional closing quotes/brackets, whitespace, then something that can open a
# sentence (capital, digit, opening quote or bracket, dash).
_BOUNDARY = re.compile(
    r"(?<=[.!?…])[»”’\"')\]]*(?=\s+[«“‘\"'(\[\-–—]*[A-Z0-9À-ÖØ-ÞА-ЯЁ\u0370-\u03ff\u4e00-\u9fff])"
)
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "sr",
    "jr",
    "st",
    "gen",
    "col",
    "lt",
    "sgt",
    "gov",
    "sen",
    "rep",
    "pres",
    "inc",
    "ltd",
    "co",
    "corp",
    "no",
    "vs",
    "etc",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "u.s",
    "u.k",
    "e.g",
    "i.e",
    "a.m",
    "p.m",
    "approx",
    "fig",
}


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the full stop at ``dot`` ends an abbreviation or an initial, not a sentence."""
    if text[dot] != ".":
        return False
    j = dot
    while j > 0 and (text[j - 1].isalpha() or text[j - 1] == "."):
        j -= 1
    word = text[j:dot].lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha() and text[j].isupper())


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence in ``text[start:end]``, whitespace trimmed, never empty."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    para_start = start
    for m in [*_PARAGRAPH.finditer(text, start, end), None]:
        para_end = m.start() if m else end
        _split_paragraph(text, para_start, para_end, spans)
        if m:
            para_start = m.end()
    return spans


def _split_paragraph(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    seg_start = start
    for m in _BOUNDARY.finditer(text, start, end):
        # the character just before the closing quotes is the end punctuation
        punct = m.start() - 1
        if _is_abbreviation(text, punct):
            continue
        _emit(text, seg_start, m.end(), out)
        seg_start = m.end()
    _emit(text, seg_start, end, out)


def _emit(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append((start, end))
