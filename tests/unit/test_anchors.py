"""``bench.anchors``: claims a model had shown, judged again at each anchor bar."""

from __future__ import annotations

from pathlib import Path

from bench.anchors import replay
from evals.rows import CitedQuote, ResultRow, write_results


def test_a_claim_resting_on_one_word_is_removed_from_the_bar_of_two(tmp_path: Path) -> None:
    brussels = "NATO foreign ministers will meet in Brussels next month."
    summit = "The 2008 NATO summit was held in Bucharest, Romania."
    rows = [
        ResultRow(
            id="made-up",
            answerable=False,
            declined=False,
            claims_shown=1,
            question="In which city was the joint press conference held?",
            answer="The joint press conference was held in Brussels. [1]",
            cited=[CitedQuote(n=1, quote=brussels)],
        ),
        ResultRow(
            id="right",
            answerable=True,
            declined=False,
            evidence_hit=True,
            claims_shown=1,
            question="Where was the 2008 NATO summit held?",
            answer="The 2008 NATO summit was held in Bucharest. [1]",
            cited=[CitedQuote(n=1, quote=summit)],
        ),
        ResultRow(
            id="declined", answerable=True, declined=True, answer="The article does not say."
        ),
    ]
    path = tmp_path / "results.jsonl"
    write_results(path, rows)
    assert replay([path], anchor=1) == {"right": {"kept": 1}, "unanswerable": {"kept": 1}}
    assert replay([path], anchor=2) == {"right": {"kept": 1}, "unanswerable": {"removed": 1}}
