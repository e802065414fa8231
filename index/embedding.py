"""The embedding function: WordLlama by default, loaded from its own wheel with no network.

Registered with Chroma so a collection opened later rebuilds this function from its config
instead of falling back to Chroma's default model (which would try to download weights).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from index.wordvectors import load_wordllama


@register_embedding_function
class WordLlamaEmbeddingFunction(EmbeddingFunction[Documents]):
    """Static token embeddings averaged per text, L2-normalised (cosine space)."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embed(list(input)))

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = load_wordllama(self.dim).embed(texts, norm=True, batch_size=256)
        return np.asarray(vectors, dtype=np.float32)

    @staticmethod
    def name() -> str:
        return "article-assistant-wordllama"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def supported_spaces(self) -> list[str]:  # type: ignore[override]
        return ["cosine"]

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> WordLlamaEmbeddingFunction:
        return WordLlamaEmbeddingFunction(dim=int(config.get("dim", 256)))

    def fingerprint(self) -> str:
        return f"wordllama-l2supercat/{self.dim}"


def get_embedding_function(name: str = "wordllama") -> WordLlamaEmbeddingFunction:
    if name == "wordllama":
        return WordLlamaEmbeddingFunction()
    raise ValueError(f"Unknown embedder {name!r}; this build offers 'wordllama'.")
