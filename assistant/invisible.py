"""Invisible formatting characters shown as visible markers, for every display of text.

An article or a model can carry characters that draw nothing yet change what a reader sees:
bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) make text read reversed
("Trojan Source"), zero-width characters and Unicode tags hide words from the eye. A display
(the terminal, the page) shows each one as ``<U+202E>``, so the reader sees that it is there and
the text around it in its real order. Only displays do this: quotes, offsets and exports keep
the source's exact characters, so a citation still equals the article.

Kept as they are: the zero-width joiner and non-joiner (U+200D, U+200C), which emoji and
Persian or Indic script need to be written correctly, and do not reorder anything.
"""

from __future__ import annotations

import re

__all__ = ["INVISIBLE", "reveal_invisible"]

INVISIBLE = re.compile(
    "["
    "\u061c"  # Arabic letter mark
    "\u180e"  # Mongolian vowel separator
    "\u200b"  # zero-width space
    "\u200e\u200f"  # left-to-right and right-to-left marks
    "\u202a-\u202e"  # bidi embeddings, pop and overrides
    "\u2060-\u2064"  # word joiner and invisible operators
    "\u2066-\u2069"  # bidi isolates
    "\u206a-\u206f"  # deprecated format characters
    "\ufeff"  # zero-width no-break space (a byte-order mark inside text)
    "\ufff9-\ufffb"  # interlinear annotation controls
    "\U000e0000-\U000e007f"  # tags: invisible copies of ASCII, read by models, not by people
    "]"
)


def reveal_invisible(text: str) -> str:
    """``text`` with every invisible formatting character written as ``<U+XXXX>``."""
    return INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)
