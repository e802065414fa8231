"""The ranking model: its signals, its order, the shipped fit, and the answerer using it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from assistant.extractive import ExtractiveAnswerer
from assistant.reader.model import MANIFEST, MODEL_DIR, shared_reader
from assistant.reader.ranking import (
    FEATURES,
    RANKING_FILE,
    RETRIEVAL_FEATURES,
    RankModel,
    features,
    likely_set,
    retrieval_features,
)
from assistant.types import Passage


def flat_idf(_term: str) -> float:
    return 1.0


def test_features_read_the_reader_coverage_and_retrieval() -> None:
    x = features(
        0.8, retrieval_features(["nato", "headquarters"], ["nato"], flat_idf, 3.0, 6.0, 0.4)
    )
    assert dict(zip(FEATURES, x, strict=True)) == pytest.approx(
        {"reader_logit": math.log(0.8 / 0.2), "covered": 0.5, "lexical": 0.5, "dense": 0.4}
    )
    # a passage the lexical side did not return, and a question BM25 found nothing for
    assert retrieval_features(["x"], [], flat_idf, None, 0.0, None) == (0.0, 0.0, 0.0)


def test_coverage_counts_a_word_of_the_same_meaning() -> None:
    def similar(words, pool):
        return np.array([0.66 if w == "troops" and "soldiers" in pool else 0.0 for w in words])

    by_meaning = retrieval_features(["troops", "russia"], ["soldiers", "russia"], flat_idf, 1, 1, 0)
    assert by_meaning[0] == 0.5  # without vectors only the same word counts
    with_vectors = retrieval_features(
        ["troops", "russia"], ["soldiers", "russia"], flat_idf, 1, 1, 0, similar
    )
    assert with_vectors[0] == 1.0


def test_without_a_fitted_file_the_reader_alone_orders() -> None:
    model = RankModel()
    assert model.score(features(0.9, retrieval_features(["a"], [], flat_idf, 0, 1, 0))) > (
        model.score(features(0.6, retrieval_features(["a"], ["a"], flat_idf, 1, 1, 0.9)))
    )
    assert model.read is None  # and it reads every candidate


def test_a_fitted_file_is_read_and_a_broken_one_falls_back(tmp_path: Path) -> None:
    path = tmp_path / "ranking.json"
    path.write_text(json.dumps({"weights": {f: float(i) for i, f in enumerate(FEATURES)}}))
    assert RankModel.load(path).weights == (0.0, 1.0, 2.0, 3.0)
    # a file from before the prefilter: its weights, reading every candidate
    assert RankModel.load(path).read is None
    path.write_text(
        json.dumps(
            {
                "weights": {f: 1.0 for f in FEATURES},
                "prefilter": {f: float(i) for i, f in enumerate(RETRIEVAL_FEATURES)},
                "read": 7,
            }
        )
    )
    assert RankModel.load(path) == RankModel((1.0,) * 4, (0.0, 1.0, 2.0), 7)
    path.write_text('{"weights": {"reader_logit": 1}}')  # a feature missing
    assert RankModel.load(path) == RankModel()
    assert RankModel.load(tmp_path / "missing.json") == RankModel()


def test_the_shipped_fit_is_checked_on_load_and_weighs_more_than_the_reader() -> None:
    manifest = json.loads((MODEL_DIR / MANIFEST).read_text())
    assert RANKING_FILE.name in manifest["sha256"]
    shipped = RankModel.load()
    assert shipped != RankModel()
    assert shipped.weights[0] > 0  # the reader's verdict still counts for the most part
    assert shipped.read is not None and shipped.read >= 5  # at least what the LLM path reads
    fitted = json.loads(RANKING_FILE.read_text())["held_out"]
    for part in ("squad/test", "article/test"):
        assert part in fitted


DOC = (
    "The bridge was opened in 1932 by the city council. "
    "Its architect was a local engineer named Ada Byrne. "
    "Traffic on the bridge doubled within ten years."
)


def passage(text: str, rank: int, lexical: float, dense: float) -> Passage:
    return Passage(
        chunk_id=f"c{rank}",
        doc_id="d",
        start=0,
        end=len(text),
        text=text,
        rank=rank,
        lexical=lexical,
        dense=dense,
    )


def test_the_answerer_orders_candidates_by_the_ranking_model() -> None:
    """Weights on coverage alone put the sentence holding the question's words first; the
    reader alone may not. The same candidates, two orders: the model is what ranks."""
    reader = shared_reader()
    question = "Who designed the bridge?"
    by_coverage = ExtractiveAnswerer(
        reader, threshold=0.0, ranker=RankModel((0.0, 1.0, 0.0, 0.0))
    ).judge(question, [passage(DOC, 1, 5.0, 0.5)])
    assert [c.rank_score for c in by_coverage] == sorted(
        (c.rank_score for c in by_coverage), reverse=True
    )
    assert by_coverage[0].rank_features[1] == max(c.rank_features[1] for c in by_coverage)
    assert not by_coverage[0].text.startswith("Its architect")  # it holds no question word
    by_reader = ExtractiveAnswerer(reader, threshold=0.0).judge(
        question, [passage(DOC, 1, 5.0, 0.5)]
    )
    assert [c.score for c in by_reader] == sorted((c.score for c in by_reader), reverse=True)
    assert by_reader[0].text.startswith("Its architect")


def test_the_reader_reads_only_the_candidates_retrieval_ranks_best() -> None:
    """Three passages of one sentence each; reading 2, the one retrieval ranks last (least of
    the question's words, weakest passage) is never read nor offered, whatever it says."""
    reader = shared_reader()
    sentences = DOC.split(". ")
    ps = [
        passage(sentences[0] + ".", 1, 6.0, 0.6),  # opened ... the bridge
        passage(sentences[2], 2, 5.0, 0.5),  # traffic on the bridge
        passage(sentences[1] + ".", 3, 1.0, 0.1),  # the architect: the answer
    ]
    for i, p in enumerate(ps):
        ps[i] = p.model_copy(
            update={"chunk_id": f"c{i}", "start": 100 * i, "end": 100 * i + len(p.text)}
        )
    question = "Who designed the bridge?"
    everything = ExtractiveAnswerer(reader, threshold=0.0).judge(question, ps)
    assert len(everything) == 3
    assert any(c.text.startswith("Its architect") for c in everything)
    ranker = RankModel(prefilter=(1.0, 1.0, 1.0), read=2)
    read = ExtractiveAnswerer(reader, threshold=0.0, ranker=ranker).judge(question, ps)
    assert len(read) == 2
    assert not any(c.text.startswith("Its architect") for c in read)


def test_a_sure_ranking_sends_fewer_sentences_than_an_unsure_one() -> None:
    # log-odds 6 apart: the first holds 99.7% of the mass, alone
    assert likely_set([0.0, 6.0, 0.0], 0.98, 5) == [1]
    # four equal: the mass reaches 0.98 only with all of them, best (then first) order
    assert likely_set([1.0, 1.0, 1.0, 1.0], 0.98, 5) == [0, 1, 2, 3]
    # never more than ``most``, never fewer than one, nothing from nothing
    assert likely_set([float(i) * 0.01 for i in range(10)], 0.98, 5) == [9, 8, 7, 6, 5]
    assert likely_set([2.0, 1.0], 0.0, 5) == [0]
    assert likely_set([], 0.98, 5) == []
