"""The shipped sets' questions asked in other words ("paraphrase"): sound, reproducible, counted.

Users rarely use an article's words, so both sets carry hand-reworded questions, and the per-tag
metrics of ``assistant eval`` report them apart. A reworded question is only a measurement when
its gold data is right (evidence verbatim, answers inside it), when it really is reworded (not
the original with one word swapped) and when it gives no answer away. For the SQuAD set the
reworded rows live in their own files (``squad.{part}.paraphrase.jsonl``) that the generator of
``squad.{part}.jsonl`` never writes; they must still match the part they were taken from, and
the originals must be the ones the written rule picks (evals/data/SQUAD.md).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

from evals.dataset import (
    EvalItem,
    check_evidence,
    load_dataset,
    shipped_corpus,
    shipped_dataset_paths,
)
from evals.metrics import find_answer, normalize_text
from index.sources import load_default
from index.text import tokens
from training.reader.evalset import stale_rewordings

PARTS = ("dev", "test")
NEAR_MISS_TAGS = ["paraphrase", "near-miss", "unanswerable"]

# The rule that picked the SQuAD originals (evals/data/SQUAD.md), per part, in file order:
# among the eligible questions, every 3rd answerable one of each SQuAD 1.1 article, every 14th
# answerable Spectre one and every 6th unanswerable Spectre one, starting with the first.
EVERY = {"squad11": 3, "spectre-answerable": 14, "spectre-unanswerable": 6}
# Picks whose content words could not be replaced without changing the meaning (a term with no
# synonym, a number): the next eligible question of the same group is taken instead.
PASSED_OVER = frozenset(
    {
        "v11x68d0dbede2788b982b84",  # Who cast the Sanctus bell?
        "5ad24378d7d075001a4289fa",  # $199.8 million has been generated from the Greek what?
        "v11x061b5868ab37e9a608d6",  # When did Russian musika show up?
        "v11x1faf5c3c24fe52605471",  # What did CBC announce on August 31, 2011?
        "5ad22be1d7d075001a428608",  # Alessandro who was cast as Estrella?
    }
)
_WORD = re.compile(r"[^\W_]+(?:[’'][^\W_]+)*")


def content_words(text: str) -> set[str]:
    """Stemmed words that carry meaning: what lexical matching sees."""
    return set(tokens(text))


def plain_content_words(question: str) -> set[str]:
    """Content words that are not names (capitalised after the first word): rewordable ones."""
    words = _WORD.findall(question)
    return content_words(" ".join(w for i, w in enumerate(words) if i == 0 or not w[0].isupper()))


@cache
def part(set_name: str, split: str) -> tuple[EvalItem, ...]:
    load = load_dataset(shipped_dataset_paths(split, set_name))  # type: ignore[arg-type]
    assert load.problems == [], load.problems
    return tuple(load.items)


def reworded(set_name: str, split: str) -> list[EvalItem]:
    return [it for it in part(set_name, split) if "paraphrase" in it.tags]


@cache
def article() -> str:
    (doc,) = load_default()
    return doc.text


@cache
def squad_corpus() -> dict[str, str]:
    path = shipped_corpus("squad")
    assert path is not None
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return {row["id"]: row["text"] for row in rows}


@cache
def generated(split: str) -> dict[str, EvalItem]:
    """The generated SQuAD part alone (its first file), by id."""
    path = shipped_dataset_paths(split, "squad")[0]  # type: ignore[arg-type]
    return {it.id: it for it in load_dataset(path).items}


def squad_rewordings(split: str) -> list[EvalItem]:
    return [it for it in part("squad", split) if it.id.endswith("-para")]


def original(item: EvalItem, split: str) -> EvalItem:
    return generated(split)[item.id.removesuffix("-para")]


def group(item: EvalItem) -> str:
    if "spectre" not in item.tags:
        return "squad11"
    return "spectre-answerable" if item.answerable else "spectre-unanswerable"


def eligible(item: EvalItem) -> bool:
    """Answerable: its answer stands in its evidence; and two content words besides names."""
    if item.answerable and not find_answer(" ".join(item.evidence), item.answers):
        return False
    return len(plain_content_words(item.question)) >= 2


def picked_originals(split: str) -> set[str]:
    groups: dict[tuple[str, str | None], list[EvalItem]] = defaultdict(list)
    for item in generated(split).values():
        if eligible(item):
            key = (group(item), None if "spectre" in item.tags else item.doc_id)
            groups[key].append(item)
    picked = set()
    for (kind, _), items in groups.items():
        for start in range(0, len(items), EVERY[kind]):
            at = start
            while at < len(items) and items[at].id in PASSED_OVER:
                at += 1
            if at < len(items):
                picked.add(items[at].id)
    return picked


# --------------------------------------------------------------------------- the article set


@pytest.mark.parametrize("split", PARTS)
def test_article_parts_hold_enough_reworded_questions(split: str) -> None:
    items = reworded("article", split)
    answerable = [it for it in items if it.answerable]
    near_miss = [it for it in items if "near-miss" in it.tags]
    assert len(answerable) >= 24, split
    assert len(near_miss) >= 4, split
    for it in near_miss:
        assert it.tags == NEAR_MISS_TAGS, it.id
        assert not it.answerable and it.answers == [] and it.evidence == [], it.id


@pytest.mark.parametrize("split", PARTS)
def test_article_rewordings_have_verbatim_evidence_holding_an_answer(split: str) -> None:
    (doc,) = load_default()
    items = reworded("article", split)
    assert check_evidence(items, {doc.id: article()}) == []
    for it in items:
        for evidence in it.evidence:
            assert evidence in article(), (it.id, evidence)
        if it.answerable:
            assert find_answer(" ".join(it.evidence), it.answers), (it.id, it.answers)


def test_article_rewordings_of_dev_and_test_share_no_answer() -> None:
    """Dev is tuned on; a fact asked in both would leak the held-out part into tuning."""

    def answers(split: str) -> dict[str, str]:
        return {normalize_text(a): it.id for it in reworded("article", split) for a in it.answers}

    dev, test = answers("dev"), answers("test")
    assert {a: (dev[a], test[a]) for a in dev.keys() & test.keys()} == {}


def test_article_rewordings_give_no_answer_away() -> None:
    """Some acceptable answer shares no content word with the question. Yes/no questions are
    left out: their answer is the polarity of the very verb they ask about ("cannot accept")."""
    for split in PARTS:
        for it in reworded("article", split):
            if "yesno" in it.tags or not it.answerable:
                continue
            asked = content_words(it.question)
            assert any(not asked & content_words(a) for a in it.answers), (it.id, it.answers)


# --------------------------------------------------------------------------- the SQuAD set


def test_squad_rewordings_are_enough_and_mostly_answerable() -> None:
    counts = {split: squad_rewordings(split) for split in PARTS}
    assert sum(len(items) for items in counts.values()) >= 160
    for split, items in counts.items():
        unanswerable = [it for it in items if not it.answerable]
        assert len(items) >= 80, split
        assert 10 <= len(unanswerable) <= len(items) // 4, split
        assert all(it.tags[-1] == "paraphrase" for it in items), split


@pytest.mark.parametrize("split", PARTS)
def test_squad_rewordings_come_from_their_own_part_by_the_written_rule(split: str) -> None:
    other = generated("test" if split == "dev" else "dev")
    ids = [it.id.removesuffix("-para") for it in squad_rewordings(split)]
    assert len(ids) == len(set(ids))
    assert not set(ids) & other.keys()
    assert set(ids) <= generated(split).keys()
    assert set(ids) == picked_originals(split)


@pytest.mark.parametrize("split", PARTS)
def test_squad_rewordings_keep_the_original_gold_data(split: str) -> None:
    for it in squad_rewordings(split):
        was = original(it, split)
        assert (it.answerable, it.answers, it.evidence, it.doc_id, it.history) == (
            was.answerable,
            was.answers,
            was.evidence,
            was.doc_id,
            was.history,
        ), it.id
        assert it.tags == [*was.tags, "paraphrase"], it.id
        assert it.question != was.question, it.id


@pytest.mark.parametrize("split", PARTS)
def test_squad_rewordings_have_verbatim_evidence_holding_an_answer(split: str) -> None:
    items = squad_rewordings(split)
    assert check_evidence(items, squad_corpus()) == []
    for it in items:
        if it.answerable:
            assert find_answer(" ".join(it.evidence), it.answers), (it.id, it.answers)


@pytest.mark.parametrize("split", PARTS)
def test_squad_rewordings_replace_two_content_words_and_leak_no_answer(split: str) -> None:
    for it in squad_rewordings(split):
        was = original(it, split)
        before, after = content_words(was.question), content_words(it.question)
        assert len(before - after) >= 2, (it.id, was.question, it.question)
        # an answer word the original did not already hold must not appear in the rewording
        leaked = (after & content_words(" ".join(it.answers))) - before
        assert not leaked, (it.id, leaked)


def test_shipped_squad_parts_include_their_hand_written_rows() -> None:
    for split in PARTS:
        names = [p.name for p in shipped_dataset_paths(split, "squad")]  # type: ignore[arg-type]
        assert names == [f"squad.{split}.jsonl", f"squad.{split}.paraphrase.jsonl"]
    everything = shipped_dataset_paths("all", "squad")
    assert everything == shipped_dataset_paths("dev", "squad") + shipped_dataset_paths(
        "test", "squad"
    )
    assert all(p.is_file() for p in everything)


def test_regenerating_the_squad_parts_reports_rewordings_left_without_their_original(
    tmp_path: Path,
) -> None:
    """What ``training.reader.evalset`` says after rewriting a part: each hand-reworded row
    whose original is gone, or whose gold data no longer matches it; nothing for the rest."""
    gold = {"answerable": True, "doc_id": "d"}
    originals: dict[str, dict[str, object]] = {
        "q1": {"id": "q1", **gold, "answers": ["a"], "evidence": ["a b"]},
        "q2": {"id": "q2", **gold, "answers": ["c"], "evidence": ["c d"]},
    }
    rows = [
        {**originals["q1"], "id": "q1-para", "question": "Kept?"},
        {**originals["q2"], "id": "q2-para", "question": "Changed?", "answers": ["d"]},
        {**originals["q1"], "id": "q9-para", "question": "Gone?"},
    ]
    path = tmp_path / "squad.dev.paraphrase.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n", encoding="utf-8")
    assert stale_rewordings(path, originals) == [
        "squad.dev.paraphrase.jsonl: q2-para no longer has its original's gold data",
        "squad.dev.paraphrase.jsonl: q9-para rewords a question no longer in its part",
    ]
    assert stale_rewordings(tmp_path / "absent.jsonl", originals) == []
