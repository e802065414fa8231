"""WordLlama's static word vectors: the dense embedding, and "a word of the same meaning".

Kept apart from ``index.embedding`` (the Chroma embedding function) so that code without
Chroma, such as the reader's training, loads the same vectors the same way.
"""

from __future__ import annotations

import logging
import pathlib
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

_lock = threading.Lock()
_models: dict[str, Any] = {}


def load_wordllama(dim: int = 256) -> Any:
    """The WordLlama model, once per process.

    ``WordLlama.load()`` looks for its tokenizer under ``tokenizer/`` and downloads it when absent;
    the wheel ships it under ``tokenizers/``, so point the cache at the package and forbid
    downloads. ``import wordllama`` calls ``logging.basicConfig(level=INFO)``: undo that.
    """
    key = f"wordllama/{dim}"
    with _lock:
        if key not in _models:
            root = logging.getLogger()
            level, handlers = root.level, list(root.handlers)
            import wordllama
            from wordllama import WordLlama

            root.setLevel(level)
            for h in list(root.handlers):
                if h not in handlers:
                    root.removeHandler(h)
            _models[key] = WordLlama.load(
                cache_dir=pathlib.Path(wordllama.__file__).parent,
                disable_download=True,
                dim=dim,
            )
        return _models[key]


class WordVectors:
    """Unit vectors of single words, each embedded once per process (a question's words and
    the words of the documents it is asked about repeat from one question to the next)."""

    def __init__(self, dim: int = 256, limit: int = 200_000) -> None:
        self.dim = dim
        self.limit = limit
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def of(self, words: Sequence[str]) -> np.ndarray:
        """A (len(words), dim) array of unit vectors."""
        missing = [w for w in dict.fromkeys(words) if w not in self._vectors]
        if missing:
            vecs = np.asarray(load_wordllama(self.dim).embed(missing, norm=True), np.float32)
            with self._lock:
                if len(self._vectors) + len(missing) > self.limit:
                    self._vectors.clear()
                self._vectors.update(zip(missing, vecs, strict=True))
        if not words:
            return np.zeros((0, self.dim), np.float32)
        got = self._vectors
        return np.stack([got[w] if w in got else self.of([w])[0] for w in words])

    def best_similarity(self, words: Sequence[str], pool: Iterable[str]) -> np.ndarray:
        """For each of ``words``, its highest cosine with a word of ``pool`` (0 for none)."""
        pool = list(dict.fromkeys(pool))
        if not words or not pool:
            return np.zeros(len(words), np.float32)
        return (self.of(words) @ self.of(pool).T).max(axis=1)


shared_word_vectors = WordVectors()
