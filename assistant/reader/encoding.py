"""How a (question, sentence) pair becomes the reader's input — one function for training and
run time, so the model never meets a layout it was not trained on.

Layout: ``[CLS] question [SEP] sentence [SEP] context [SEP]``. The sentence comes before its
context so that truncation eats the context first; the context is the tail of the sentence
before, which is what "He said …" needs. A sentence longer than the window is cut into
overlapping windows; the caller scores each and keeps the best (its most relevant part), while
the quote stays the whole sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

MAX_LEN = 128
QUESTION_MAX = 40
CONTEXT_MAX = 24


@dataclass(frozen=True, slots=True)
class Window:
    """One model input; ``offsets[i]`` is the sentence character span of token
    ``first + i`` (tokens ``first`` .. ``first + len(offsets) - 1`` are the sentence's)."""

    ids: list[int]
    type_ids: list[int]
    first: int
    offsets: list[tuple[int, int]]


def load_tokenizer(path: str) -> Tokenizer:
    tok = Tokenizer.from_file(path)
    tok.no_truncation()
    tok.no_padding()
    return tok


def windows(
    tok: Tokenizer, question: str, sentence: str, context: str = "", *, max_len: int = MAX_LEN
) -> list[Window]:
    """The model inputs for one pair (one, unless the sentence is longer than the window)."""
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    q = tok.encode(question or "?", add_special_tokens=False).ids[:QUESTION_MAX]
    s = tok.encode(sentence, add_special_tokens=False)
    c = tok.encode(context, add_special_tokens=False).ids[-CONTEXT_MAX:] if context else []
    room = max_len - len(q) - 3  # [CLS] q [SEP] … [SEP]
    s_ids, s_off = s.ids, s.offsets
    if len(s_ids) + len(c) + 1 <= room:
        parts = [(s_ids, s_off, c)]
    else:
        c_room = max(0, min(len(c), room - len(s_ids) - 1))
        ctx = c[len(c) - c_room :] if c_room else []
        width = room - (len(ctx) + 1 if ctx else 0)
        stride = max(1, width // 2)
        parts = []
        start = 0
        while True:
            parts.append((s_ids[start : start + width], s_off[start : start + width], ctx))
            if start + width >= len(s_ids):
                break
            start += stride
    out = []
    first = len(q) + 2
    for ids, offs, ctx in parts:
        tail = [*ctx, sep] if ctx else []
        body = [cls, *q, sep, *ids, sep, *tail]
        types = [0] * first + [1] * (len(body) - first)
        out.append(Window(body, types, first, list(offs)))
    return out


def batch(items: list[Window]) -> dict[str, np.ndarray]:
    """Pad windows to one array each (int64, as the exported graph takes them)."""
    n = max(len(w.ids) for w in items)
    ids = np.zeros((len(items), n), dtype=np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for i, w in enumerate(items):
        ids[i, : len(w.ids)] = w.ids
        types[i, : len(w.ids)] = w.type_ids
        mask[i, : len(w.ids)] = 1
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}


def sentence_mask(items: list[Window], width: int) -> np.ndarray:
    """True where a token belongs to the window's sentence (where a short answer may stand)."""
    m = np.zeros((len(items), width), dtype=bool)
    for i, w in enumerate(items):
        m[i, w.first : w.first + len(w.offsets)] = True
    return m
