"""The reader's training data: unanswerable twins made the SQuAD 2.0 way, and whole articles
held out. Pure Python (no torch): the training code is not part of the product install."""

from __future__ import annotations

import random

import pytest

from training.reader import data as D
from training.reader import edits as E

PARAGRAPH = (
    "The First Year of Studies program was established in 1962 to guide incoming freshmen. "
    "It is the largest program on campus."
)
SENTENCE = "The First Year of Studies program was established in 1962 to guide incoming freshmen."


@pytest.mark.parametrize("seed", range(30))
def test_edits_change_the_question_and_keep_the_old_sentence_looking_right(seed: int) -> None:
    question = "What was created at Notre Dame in 1962 to guide the largest group?"
    got = E.edit_question(
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
    assert E.edit_question("why", "x", "x", [], [], random.Random(0)) is None


def test_held_out_articles_never_train() -> None:
    articles = [{"title": f"Article_{i}"} for i in range(441)] + [{"title": D.SPECTRE}]
    train, calib, test = D.split_articles(articles)
    assert D.SPECTRE not in train
    assert not set(train) & set(calib) and not set(train) & set(test)
    assert not set(calib) & set(test)
    assert len(calib) + len(test) == D.HELD_OUT_SQUAD11
    assert D.split_articles(articles) == (train, calib, test)  # fixed seed: the same split


ARTICLE = [
    "In 1512 the king built a stone castle on the hill. Later the castle was the royal seat of "
    "the king.",
    "The new cathedral was blessed by the bishop, and the northern gate by the abbot. Years later "
    "the bishop was old and the abbot was young.",
    "A northern road led to the cathedral, which the bishop and the abbot visited in 1566.",
]
KING_PAR = ARTICLE[0]
KING_SENT = "In 1512 the king built a stone castle on the hill."


def test_the_vocabulary_is_the_articles_own_words_by_shape() -> None:
    vocab = E.article_vocab(ARTICLE)
    nouns = vocab.words["noun"]  # used twice or more, and seen after a determiner
    assert {"bishop", "abbot", "cathedral", "castle", "king"} <= set(nouns)
    assert "gate" not in nouns  # used once: not what the article is about
    assert "northern" in vocab.modifiers  # stands between a determiner and a noun
    assert vocab.years == ["1512", "1566"]
    assert not any(w in E.STOPWORDS for ws in vocab.words.values() for w in ws)


@pytest.mark.parametrize("seed", range(20))
def test_a_swap_puts_an_article_word_the_paragraph_lacks_in_place_of_a_question_word(
    seed: int,
) -> None:
    vocab = E.article_vocab(ARTICLE)
    question = "What did the king build on the hill?"
    got = E.swap_word(question, KING_SENT, KING_PAR, vocab, random.Random(seed))
    assert got is not None and got != question
    old = set(question[:-1].split())
    new = set(got[:-1].split())
    (gone,), (came,) = old - new, new - old  # exactly one word changed
    assert gone in {"king", "hill"}  # a content word the answer sentence uses
    assert came in vocab.words["noun"] and came not in KING_PAR.lower()
    assert came in {"bishop", "abbot", "cathedral"}  # a noun for a noun: still grammatical


def test_a_swap_needs_a_word_the_paragraph_does_not_use() -> None:
    vocab = E.article_vocab([KING_PAR, KING_PAR])  # nothing beyond the paragraph itself
    assert (
        E.swap_word("What did the king build?", KING_SENT, KING_PAR, vocab, random.Random(0))
        is None
    )


@pytest.mark.parametrize("seed", range(10))
def test_something_not_mentioned_is_a_modifier_or_year_from_elsewhere(seed: int) -> None:
    vocab = E.article_vocab(ARTICLE)
    got = E.insert_unmentioned(
        "What did the king build on the hill?", KING_PAR, vocab, random.Random(seed)
    )
    assert got in {
        "What did the northern king build on the hill?",
        "What did the king build on the northern hill?",
    }
    # no noun slot: a year the paragraph lacks, as a qualifier
    assert E.insert_unmentioned("Who ruled?", KING_PAR, vocab, random.Random(seed)) == (
        "Who ruled in 1566?"
    )
    # a question about time gets no year tacked on
    assert E.insert_unmentioned("When was it built?", KING_PAR, vocab, random.Random(seed)) is None


def test_the_word_edits_are_drawn_only_with_a_vocabulary() -> None:
    vocab = E.article_vocab(ARTICLE)
    question = "What did the king build on the hill?"
    kinds = {
        E.edit_question(question, KING_SENT, KING_PAR, [], [], random.Random(s), vocab)[1]
        for s in range(60)
    }
    assert {"swap", "unmentioned"} <= kinds
    without = {
        E.edit_question(question, KING_SENT, KING_PAR, [], [], random.Random(s))[1]
        for s in range(60)
    }
    assert not without & {"swap", "unmentioned"}


def test_without_word_edits_the_pairs_are_the_earlier_ones() -> None:
    article = {
        "title": "Castles",
        "paragraphs": [
            {
                "context": p,
                "qas": [
                    {
                        "id": f"q{i}",
                        "question": "What did the king build on the hill?",
                        "answers": [{"text": "a stone castle", "answer_start": 23}],
                    }
                ]
                if i == 0
                else [],
            }
            for i, p in enumerate(ARTICLE)
        ],
    }
    kinds = set()
    for seed in range(40):
        pairs = list(
            D.training_pairs([article], [], ["Castles"], random.Random(seed), word_edits=False)
        )
        assert pairs[0].label == 1 and pairs[0].sentence[slice(*pairs[0].span)] == "a stone castle"
        kinds |= {p.kind for p in pairs}
    assert not kinds & {"edit-swap", "edit-unmentioned"}
    kinds = {
        p.kind
        for seed in range(40)
        for p in D.training_pairs([article], [], ["Castles"], random.Random(seed))
    }
    assert kinds & {"edit-swap", "edit-unmentioned"}


def castles(paragraphs: list[str]) -> dict:
    """A SQuAD-shaped article whose first paragraph holds one question."""
    qa = {
        "id": "q0",
        "question": "What did the king build on the hill?",
        "answers": [{"text": "a stone castle", "answer_start": 23}],
    }
    return {
        "title": "Castles",
        "paragraphs": [
            {"context": p, "qas": [qa] if i == 0 else []} for i, p in enumerate(paragraphs)
        ],
    }


def test_the_articles_closest_sentence_elsewhere_is_a_negative() -> None:
    """What a whole-article search puts beside the right sentence: the other paragraphs'
    sentence sharing the most of the question's words, never one holding the answer."""
    paragraphs = [*ARTICLE, "Each spring the king rode up the hill to build a hunting lodge."]
    article = castles(paragraphs)
    for seed in range(10):
        pairs = list(D.training_pairs([article], [], ["Castles"], random.Random(seed)))
        [near] = [p for p in pairs if p.kind == "article"]
        assert near.label == 0 and near.sentence == paragraphs[-1]


def test_a_questions_pairs_form_one_group_with_its_positive() -> None:
    """The softmax over a question's sentences needs them together: the positive and its
    negatives in one group, an edited twin in its own group with no positive, and SQuAD 2.0's
    thrice-seen unanswerables once per group."""
    paragraphs = [*ARTICLE, "Each spring the king rode up the hill to build a hunting lodge."]
    article = castles(paragraphs)
    for seed in range(20):
        pairs = list(D.training_pairs([article], [], ["Castles"], random.Random(seed)))
        groups = D.question_groups(pairs)
        # every distinct pair once (a sentence picked twice as a negative counts once)
        assert sorted((p.question, p.sentence) for g in groups for p in g) == sorted(
            {(p.question, p.sentence) for p in pairs}
        )
        first, *edited = groups
        assert [p.label for p in first].count(1) == 1 and len(first) >= 2
        assert {p.question for p in first} == {"What did the king build on the hill?"}
        assert all(
            len(g) == 1 and g[0].label == 0 and g[0].kind.startswith("edit-") for g in edited
        )
    twice = [D.Pair("Who?", "A.", "", 0, "squad2-impossible", None, "T")] * 3
    assert [
        len(g) for g in D.question_groups([*twice, D.Pair("Who?", "A.", "", 0, "x", None, "U")])
    ] == [1, 1]
