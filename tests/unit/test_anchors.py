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


def test_removed_claims_are_judged_again_and_labelled_by_the_gold_evidence(
    tmp_path: Path,
) -> None:
    """A claim the product removed is replayed against the sentences it cited; one citing the
    item's gold sentence is *right sentence*, the removals that cost answers."""
    from assistant.types import RemovedClaim
    from bench.anchors import _gold_evidence, removed_by_reason

    gold = _gold_evidence()
    item_id, evidence = next((i, e) for i, e in gold.items() if i.startswith("d") and e)
    sentence = f"It was said that {evidence[0]} on the day."
    rows = [
        ResultRow(
            id=item_id,
            answerable=True,
            declined=True,
            answer="The article does not say.",
            removed_claims=[
                RemovedClaim(text=evidence[0], reason="too short", sentences=[sentence]),
                RemovedClaim(text="Zebras graze.", reason="made up", sentences=["Cats sleep."]),
                RemovedClaim(text="No sentences kept.", reason="old run"),  # not replayed
            ],
        )
    ]
    path = tmp_path / "results.jsonl"
    write_results(path, rows)
    got = replay([path], anchor=1)
    assert got == {
        "removed before, other sentence": {"removed": 1},
        "removed before, right sentence": {"kept": 1},
    }
    assert removed_by_reason([path]) == {
        "made up": {"other sentence": 1},
        "too short": {"right sentence": 1},
    }
