"""The plain baseline: LangChain's default recipe over the same corpus.

``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)``,
dense top-4 through ``langchain_chroma.Chroma`` with the product's WordLlama embeddings, no
lexical side, no sentence selection: its "answer" is the top-1 chunk, cited whole.

The collection is created through chromadb with the registered embedding function in cosine
space, then wrapped (``langchain_chroma`` would otherwise create a "legacy" collection).
``langchain-chroma`` is needed by this module alone: it comes with the ``bench`` extra.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from index.embedding import WordLlamaEmbeddingFunction

COLLECTION = "baseline-langchain"
CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 4


class WordLlamaEmbeddings(Embeddings):
    """The product's WordLlama model as a LangChain ``Embeddings``, so the recipe embeds with
    the same model as the product and the comparison is about everything else.

    Only the baseline needs this face: the product embeds through its Chroma embedding function.
    """

    def __init__(self, fn: WordLlamaEmbeddingFunction | None = None) -> None:
        # imported here, not at the top: the baseline's cold start counts importing chromadb
        # (which this brings) as opening the store, as it did for every earlier run
        from index.embedding import WordLlamaEmbeddingFunction

        self.fn = fn or WordLlamaEmbeddingFunction()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.fn.embed(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.fn.embed([text])[0].tolist()


def client(data_dir: Path) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    path = data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
    )


def create_store(data_dir: Path) -> Any:
    from langchain_chroma import Chroma

    from index.embedding import WordLlamaEmbeddingFunction

    c = client(data_dir)
    c.create_collection(
        COLLECTION,
        embedding_function=WordLlamaEmbeddingFunction(),
        metadata={"hnsw:space": "cosine"},
    )
    return Chroma(
        client=c,
        collection_name=COLLECTION,
        embedding_function=WordLlamaEmbeddings(),
        create_collection_if_not_exists=False,
    )


def open_store(data_dir: Path) -> Any:
    from langchain_chroma import Chroma

    return Chroma(
        client=client(data_dir),
        collection_name=COLLECTION,
        embedding_function=WordLlamaEmbeddings(),
        create_collection_if_not_exists=False,
    )


def load_documents(corpus: Path) -> list[Any]:
    import json

    from langchain_core.documents import Document

    out = []
    with corpus.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                o = json.loads(line)
                out.append(
                    Document(
                        page_content=o["text"], metadata={"doc_id": o["id"], "title": o["title"]}
                    )
                )
    return out


def split(docs: Sequence[Any]) -> list[Any]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True
    )
    return splitter.split_documents(list(docs))


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def add(store: Any, chunks: Sequence[Any]) -> None:
    """Add in the batches ``Chroma.from_documents`` uses (the client's max batch size)."""
    size = store._client.get_max_batch_size()
    for batch in batches(chunks, size):
        store.add_documents(list(batch))


def retrieve(store: Any, question: str, k: int = TOP_K) -> list[tuple[str, int, int]]:
    """(doc_id, start, end) of the top-k chunks."""
    out = []
    for d in store.similarity_search(question, k=k):
        start = int(d.metadata.get("start_index", -1))
        out.append((str(d.metadata.get("doc_id")), start, start + len(d.page_content)))
    return out
