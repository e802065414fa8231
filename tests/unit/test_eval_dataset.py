"""Loading eval sets, and the shipped eval set about the article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.dataset import (
    DatasetProblem,
    EvalItem,
    check_evidence,
    dataset_hash,
    load_dataset,
    shipped_dataset_paths,
)
from evals.errors import DatasetError, EvalError
from evals.metrics import find_answer
from index.sentences import sentence_spans
from index.sources import load_default

REQUIRED_TAGS = {
    "fact",
    "paraphrase",
    "number",
    "yesno",
    "false-premise",
    "followup",
    "unanswerable",
    "adversarial",
}


def item(id: str, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": id,
        "question": f"Question {id}?",
        "answerable": True,
        "answers": ["Brussels"],
        "evidence": ["in Brussels"],
        "tags": ["fact"],
    }
    base.update(fields)
    return base


def write_jsonl(path: Path, lines: list[object]) -> Path:
    """Objects are dumped as JSON; strings are written as they are (to make bad lines)."""
    text = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the loader


def test_malformed_lines_are_reported_with_line_numbers_and_skipped(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "set.jsonl",
        [
            item("q1"),  # 1 ok
            "{not json",  # 2
            "[1, 2]",  # 3 not an object
            '"just a string"',  # 4 not an object
            {"id": "q5", "answerable": True},  # 5 lacks question
            item("q6", answerable="yes"),  # 6 wrong type
            item("q7", answers="Brussels"),  # 7 wrong type
            item("q8", history=[{"role": "system", "content": "x"}]),  # 8 bad role
            item("q1"),  # 9 duplicate id
            "",  # 10 blank: not a problem
            item("q11", question="   "),  # 11 blank question
            item("q12"),  # 12 ok
        ],
    )
    load = load_dataset(path)

    assert [i.id for i in load.items] == ["q1", "q12"]
    by_line = {p.line: p.message for p in load.problems}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8, 9, 11]
    assert "not valid JSON" in by_line[2]
    assert "expected a JSON object, got list" in by_line[3]
    assert "got str" in by_line[4]
    assert "lacks 'question'" in by_line[5]
    assert "'answerable'" in by_line[6]
    assert "'answers'" in by_line[7]
    assert "history.0.role" in by_line[8]
    assert "duplicate id 'q1'" in by_line[9] and f"{path}:1" in by_line[9]
    assert "'question'" in by_line[11]
    assert all(p.file == str(path) for p in load.problems)
    assert str(load.problems[0]) == f"{path}:2: {by_line[2]}"


def test_unknown_fields_are_kept_and_ignored(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "set.jsonl", [item("q1", difficulty="hard", source={"x": 1})])
    (loaded,) = load_dataset(path).items
    assert loaded.model_extra == {"difficulty": "hard", "source": {"x": 1}}
    assert loaded.location == (str(path), 1)


def test_history_turns_and_doc_id_are_parsed(tmp_path: Path) -> None:
    history = [{"role": "user", "content": "Who?"}, {"role": "assistant", "content": "He."}]
    path = write_jsonl(tmp_path / "set.jsonl", [item("q1", history=history, doc_id="a")])
    (loaded,) = load_dataset(path).items
    assert [t.role for t in loaded.history] == ["user", "assistant"]
    assert loaded.doc_id == "a"


def test_duplicate_ids_across_files_are_reported(tmp_path: Path) -> None:
    first = write_jsonl(tmp_path / "a.jsonl", [item("q1"), item("q2")])
    second = write_jsonl(tmp_path / "b.jsonl", [item("q3"), item("q2")])
    load = load_dataset([first, second])
    assert [i.id for i in load.items] == ["q1", "q2", "q3"]
    assert load.problems == [
        DatasetProblem(str(second), 2, f"duplicate id 'q2' (first at {first}:2)")
    ]


def test_line_numbers_survive_unicode_line_separators(tmp_path: Path) -> None:
    # U+2028 may stand raw inside a JSON string; it must not count as a new line
    path = write_jsonl(tmp_path / "set.jsonl", [item("q1", question="A\u2028B?"), "oops"])
    load = load_dataset(path)
    assert load.items[0].question == "A\u2028B?"
    assert [p.line for p in load.problems] == [2]


@pytest.mark.parametrize(
    "lines",
    [[], ["", "   "], ["{bad", "[]"]],
    ids=["empty", "blank-lines", "only-malformed"],
)
def test_a_dataset_with_no_usable_item_is_an_error(tmp_path: Path, lines: list[str]) -> None:
    path = write_jsonl(tmp_path / "set.jsonl", lines)
    with pytest.raises(DatasetError, match="holds no usable item") as info:
        load_dataset(path)
    assert isinstance(info.value, EvalError)
    if lines and lines[0] == "{bad":
        assert "2 malformed lines skipped" in str(info.value)


def test_missing_file_and_no_paths_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(tmp_path / "nope.jsonl")
    with pytest.raises(DatasetError, match="No eval set"):
        load_dataset([])


def test_invalid_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_bytes(b'{"id": "q1", "question": "\xff"}\n')
    with pytest.raises(DatasetError, match="not valid UTF-8"):
        load_dataset(path)


def test_check_evidence_reports_what_cannot_be_scored(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "set.jsonl",
        [
            item("ok"),
            item("missing", evidence=["in Paris"]),
            item("wrong-doc", evidence=["in Brussels"], doc_id="b"),
            item("no-doc", doc_id="zzz"),
            item("no-evidence", evidence=[]),
            item("unanswerable-with-evidence", answerable=False, answers=[]),
            item("empty-string", evidence=[""]),
        ],
    )
    corpus = {"a": "NATO headquarters in Brussels.", "b": "Another text."}
    problems = check_evidence(load_dataset(path).items, corpus)
    found = {(p.line, p.message) for p in problems}
    assert found == {
        (2, "item 'missing': evidence not found verbatim in the corpus: 'in Paris'"),
        (3, "item 'wrong-doc': evidence not found verbatim in document 'b': 'in Brussels'"),
        (4, "item 'no-doc': doc_id 'zzz' is not in the corpus"),
        (5, "item 'no-evidence': answerable but lists no evidence"),
        (6, "item 'unanswerable-with-evidence': unanswerable but lists evidence"),
        (7, "item 'empty-string': has an empty evidence string"),
    }
    assert all(p.file == str(path) for p in problems)


def test_check_evidence_on_items_built_in_code() -> None:
    built = EvalItem(id="x", question="Q?", answerable=True, evidence=["nowhere"])
    (problem,) = check_evidence([built], {"a": "text"})
    assert (problem.file, problem.line) == ("", None)
    assert str(problem).startswith("item 'x': evidence not found")


def test_dataset_hash_follows_content(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "set.jsonl", [item("q1")])
    before = dataset_hash(path)
    assert dataset_hash([path]) == before and len(before) == 64
    write_jsonl(path, [item("q1", question="Changed?")])
    assert dataset_hash(path) != before


def test_shipped_paths_per_split() -> None:
    dev, test = shipped_dataset_paths("dev"), shipped_dataset_paths("test")
    assert [p.name for p in dev] == ["article.dev.jsonl"]
    assert [p.name for p in test] == ["article.test.jsonl"]
    assert shipped_dataset_paths("all") == dev + test
    assert shipped_dataset_paths() == dev + test
    assert all(p.is_absolute() and p.is_file() for p in dev + test)
    with pytest.raises(ValueError, match="split"):
        shipped_dataset_paths("train")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the shipped set


@pytest.fixture(scope="module")
def article() -> str:
    (doc,) = load_default()
    return doc.text


@pytest.fixture(scope="module")
def parts() -> dict[str, list[EvalItem]]:
    out = {}
    for split in ("dev", "test"):
        load = load_dataset(shipped_dataset_paths(split))  # type: ignore[arg-type]
        assert load.problems == []
        out[split] = load.items
    return out


def test_shipped_set_loads_cleanly_and_is_large_enough(parts: dict[str, list[EvalItem]]) -> None:
    load = load_dataset(shipped_dataset_paths("all"))
    assert load.problems == []
    assert len(load.items) >= 70
    assert len(parts["dev"]) >= 35 and len(parts["test"]) >= 35
    ids = [i.id for i in load.items]
    assert len(ids) == len(set(ids))


def test_shipped_evidence_stands_verbatim_in_the_article(
    parts: dict[str, list[EvalItem]], article: str
) -> None:
    items = parts["dev"] + parts["test"]
    (doc,) = load_default()
    assert check_evidence(items, {doc.id: article}) == []
    for it in items:
        for evidence in it.evidence:
            assert evidence in article, (it.id, evidence)


def test_shipped_evidence_is_a_short_span_inside_one_sentence(
    parts: dict[str, list[EvalItem]], article: str
) -> None:
    spans = sentence_spans(article)
    for it in parts["dev"] + parts["test"]:
        for evidence in it.evidence:
            start = article.index(evidence)
            end = start + len(evidence)
            assert any(s <= start and end <= e for s, e in spans), (it.id, evidence)


def test_shipped_answers_stand_as_words_in_the_evidence_sentence(
    parts: dict[str, list[EvalItem]], article: str
) -> None:
    """An offline answer quotes the sentence; an acceptable answer must be findable in it."""
    spans = sentence_spans(article)
    for it in parts["dev"] + parts["test"]:
        if not it.answerable:
            continue
        sentences = []
        for evidence in it.evidence:
            at = article.index(evidence)
            sentences += [article[s:e] for s, e in spans if s <= at < e]
        assert find_answer(" ".join(sentences), it.answers), (it.id, it.answers)


def test_shipped_items_are_consistent(parts: dict[str, list[EvalItem]]) -> None:
    for it in parts["dev"] + parts["test"]:
        if it.answerable:
            assert it.evidence and it.answers, it.id
        else:
            assert it.evidence == [] and it.answers == [], it.id
            assert "unanswerable" in it.tags, it.id
        if "followup" in it.tags:
            assert it.history, it.id
            assert [t.role for t in it.history] == ["user", "assistant"] * (len(it.history) // 2)
        else:
            assert it.history == [], it.id
        assert it.tags, it.id


def test_shipped_parts_cover_every_kind_of_question(parts: dict[str, list[EvalItem]]) -> None:
    for split, items in parts.items():
        tags = {t for it in items for t in it.tags}
        assert tags >= REQUIRED_TAGS, (split, REQUIRED_TAGS - tags)
        assert sum(not it.answerable for it in items) >= 12, split
        false_premise = [it for it in items if "false-premise" in it.tags]
        assert {it.answerable for it in false_premise} == {True, False}, split
        yesno_negations = [
            it
            for it in items
            if "yesno" in it.tags and any(" not " in f" {a} " for a in it.answers)
        ]
        assert yesno_negations, split


def test_shipped_parts_share_no_question(parts: dict[str, list[EvalItem]]) -> None:
    def key(q: str) -> str:
        return " ".join(q.casefold().split())

    dev = {key(it.question) for it in parts["dev"]}
    assert not dev & {key(it.question) for it in parts["test"]}
    assert all(it.id.startswith("d") for it in parts["dev"])
    assert all(it.id.startswith("t") for it in parts["test"])
