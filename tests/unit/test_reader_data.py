"""The reader's training data: unanswerable twins made the SQuAD 2.0 way, and whole articles
held out. Pure Python (no torch): the training code is not part of the product install."""

from __future__ import annotations

import random

import pytest

from training.reader import data as D

PARAGRAPH = (
    "The First Year of Studies program was established in 1962 to guide incoming freshmen. "
    "It is the largest program on campus."
)
SENTENCE = "The First Year of Studies program was established in 1962 to guide incoming freshmen."


@pytest.mark.parametrize("seed", range(30))
def test_edits_change_the_question_and_keep_the_old_sentence_looking_right(seed: int) -> None:
    question = "What was created at Notre Dame in 1962 to guide the largest group?"
    got = D.edit_question(
        question, SENTENCE, PARAGRAPH, ["Holy Cross"], ["Cape Verde"], random.Random(seed)
    )
    assert got is not None
    edited, kind = got
    assert edited != question
    if kind == "number":
        assert "1962" not in edited
    if kind in {"entity", "foreign"}:
        assert "Holy Cross" in edited or "Cape Verde" in edited
    if kind == "negation":
        assert " not " in edited
    if kind == "antonym":
        assert "smallest" in edited


def test_a_question_with_nothing_to_edit_gets_none() -> None:
    assert D.edit_question("why", "x", "x", [], [], random.Random(0)) is None


def test_held_out_articles_never_train() -> None:
    articles = [{"title": f"Article_{i}"} for i in range(441)] + [{"title": D.SPECTRE}]
    train, calib, test = D.split_articles(articles)
    assert D.SPECTRE not in train
    assert not set(train) & set(calib) and not set(train) & set(test)
    assert not set(calib) & set(test)
    assert len(calib) + len(test) == D.HELD_OUT_SQUAD11
    assert D.split_articles(articles) == (train, calib, test)  # fixed seed: the same split
