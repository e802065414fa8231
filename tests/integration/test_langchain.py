"""The assistant's retriever in LangChain: alone, and in an LCEL chain with the product's chat
model against the scripted OpenAI-compatible server on loopback. Real parts only: an embedded
Chroma index of the shipped article, real HTTP, the product's own classes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document as LCDocument
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough

from assistant.errors import QuestionError
from assistant.langchain import ArticleRetriever, format_documents
from assistant.llm import ChatOpenAICompatible
from assistant.service import Assistant
from assistant.settings import load_settings
from index.sources import load_default
from index.types import Document
from tests.llm_server import LLMServer

QUESTION = "Where is NATO headquartered?"
METADATA = {"doc_id", "chunk_id", "start", "end", "rank", "dense", "lexical", "fused", "title"}


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return Assistant.open(load_settings(data_dir=tmp_path_factory.mktemp("langchain")))


def assert_exact(docs: list[LCDocument], assistant: Assistant) -> None:
    """Every document is a span of its source at its offsets, with the full metadata."""
    assert docs
    for rank, d in enumerate(docs, start=1):
        m = d.metadata
        assert set(m) == METADATA
        source = assistant.documents[m["doc_id"]]
        assert source.text[m["start"] : m["end"]] == d.page_content
        assert d.id == m["chunk_id"] and m["rank"] == rank
        assert m["title"] == source.title and m["fused"] > 0
    fused = [d.metadata["fused"] for d in docs]
    assert fused == sorted(fused, reverse=True)


def test_retriever_returns_exact_passages(assistant: Assistant) -> None:
    docs = ArticleRetriever(assistant=assistant).invoke(QUESTION)
    assert len(docs) == assistant.settings.top_k
    assert_exact(docs, assistant)
    assert any("Brussels" in d.page_content for d in docs)
    # the same passages, in the same order, as the assistant answers from
    answered = assistant.ask(QUESTION).passages
    assert [d.metadata["chunk_id"] for d in docs] == [p.chunk_id for p in answered]


def test_k_sets_the_number_of_passages(assistant: Assistant) -> None:
    docs = ArticleRetriever(assistant=assistant, k=2).invoke(QUESTION)
    assert [d.metadata["rank"] for d in docs] == [1, 2]
    assert_exact(docs, assistant)


def test_bad_input_raises_the_products_errors(assistant: Assistant) -> None:
    with pytest.raises(QuestionError):
        ArticleRetriever(assistant=assistant).invoke("   ")
    with pytest.raises(QuestionError, match="no document with the id 'elsewhere'"):
        ArticleRetriever(assistant=assistant, doc_id="elsewhere").invoke(QUESTION)


def test_doc_id_keeps_to_one_document(tmp_path: Path) -> None:
    article = load_default()[0]
    other = Document(
        id="eu",
        title="The European Commission",
        text="The European Commission has its headquarters in Brussels, in the Berlaymont "
        "building. It proposes laws for the European Union. Its president is elected by "
        "the European Parliament.",
        source="test",
    )
    two = Assistant.open(load_settings(data_dir=tmp_path / "two"), documents=[article, other])
    question = "Which headquarters are in Brussels?"
    both = ArticleRetriever(assistant=two).invoke(question)
    assert {d.metadata["doc_id"] for d in both} == {"article", "eu"}
    for doc_id in ("article", "eu"):
        docs = ArticleRetriever(assistant=two, doc_id=doc_id).invoke(question)
        assert docs and {d.metadata["doc_id"] for d in docs} == {doc_id}
        assert_exact(docs, two)
    [first, *_] = ArticleRetriever(assistant=two, doc_id="eu").invoke(question)
    assert first.metadata["title"] == "The European Commission"


class Retrieved(BaseCallbackHandler):
    """Records what every retriever in a run returned (LangChain's own callback, no mock)."""

    def __init__(self) -> None:
        self.documents: list[list[LCDocument]] = []

    def on_retriever_end(self, documents: Any, **kwargs: Any) -> None:
        self.documents.append(list(documents))


def test_lcel_chain_with_the_chat_model(assistant: Assistant, llm_server: LLMServer) -> None:
    scripted = "NATO is headquartered in Brussels [1]."
    llm_server.set_handler(lambda body: scripted)
    settings = load_settings(llm_base_url=llm_server.base_url, llm_model="scripted")
    model = ChatOpenAICompatible.from_settings(settings, max_tokens=64)
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Answer only from the numbered passages and cite them as [n]."),
            ("user", "Passages:\n\n{context}\n\nQuestion: {question}"),
        ]
    )
    retriever = ArticleRetriever(assistant=assistant)
    chain = (
        {"context": retriever | format_documents, "question": RunnablePassthrough()}
        | prompt
        | model
        | StrOutputParser()
    )
    seen = Retrieved()
    try:
        assert chain.invoke(QUESTION, config={"callbacks": [seen]}) == scripted
        assert "".join(chain.stream(QUESTION)) == scripted
    finally:
        model.client.close()

    [docs] = seen.documents
    assert_exact(docs, assistant)
    assert any("Brussels" in d.page_content for d in docs)
    [system, user] = llm_server.requests[0].json["messages"]
    assert system["role"] == "system" and user["role"] == "user"
    assert QUESTION in user["content"]
    for n, d in enumerate(docs, start=1):
        assert f"[{n}] {d.page_content}" in user["content"]
    assert llm_server.requests[1].json.get("stream") is True
