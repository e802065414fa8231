"""Hostile input, generated: questions, ``--doc`` values, file names and source bytes never
produce a traceback, and every answer keeps its offset invariants."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from assistant.cli import app
from assistant.errors import QuestionError
from assistant.service import Assistant
from assistant.settings import load_settings
from index.errors import SourceError
from index.sentences import sentence_spans
from index.sources import document_from_bytes, load_sources

runner = CliRunner()
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return Assistant.open(load_settings(data_dir=tmp_path_factory.mktemp("fuzz")))


@FUZZ
@given(question=st.text(max_size=400))
def test_any_question_gets_an_answer_or_one_sentence(assistant: Assistant, question: str) -> None:
    try:
        answer = assistant.ask(question)
    except QuestionError as exc:
        assert str(exc).endswith(".") and "\n" not in str(exc)
        return
    for c in answer.citations:
        assert assistant.documents[c.doc_id].text[c.start : c.end] == c.quote
    if answer.short_answer is not None:
        s = answer.short_answer
        assert assistant.documents[s.doc_id].text[s.start : s.end] == s.text
    assert answer.grounded == bool(answer.citations)


@settings(max_examples=15, deadline=None)
@given(doc=st.text(min_size=1, max_size=40).filter(lambda d: d.strip() and "\x00" not in d))
def test_any_doc_value_gets_one_sentence(doc: str) -> None:
    result = runner.invoke(app, ["ask", "--doc", doc, "Where is NATO headquartered?"])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\x00"),
    min_size=1,
    max_size=30,
).filter(lambda n: n not in {".", ".."} and not n.startswith("."))


@FUZZ
@given(names=st.lists(NAME, min_size=1, max_size=4, unique_by=str.casefold))
def test_any_file_names_load_with_unique_ids_or_one_sentence(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        written = 0
        for i, name in enumerate(names):
            try:
                (folder / f"{name}.txt").write_text(f"Story number {i}.", encoding="utf-8")
                written += 1
            except OSError:
                continue  # a name this file system refuses is not ours to test
        try:
            docs = load_sources([folder]).documents
        except SourceError as exc:
            assert "\n" not in str(exc)
            return
        assert len(docs) == written
        assert len({d.id for d in docs}) == len(docs)


@FUZZ
@given(data=st.binary(max_size=3000))
def test_any_source_bytes_load_or_get_one_sentence(data: bytes) -> None:
    try:
        doc = document_from_bytes("upload.txt", data)
    except SourceError as exc:
        assert "\n" not in str(exc)
        return
    assert "\r" not in doc.text
    for s, e in sentence_spans(doc.text):
        piece = doc.text[s:e]
        assert piece and piece == piece.strip()
