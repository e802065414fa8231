"""Choosing the reader's decline threshold on data of several kinds.

Each shipped set's dev part (the news article; held-out encyclopedia articles with SQuAD 2.0's
real unanswerable questions) is run once with no declining at all; every threshold is then
replayed from the recorded confidences (``evals.metrics.threshold_curve``). The rule: maximise
the sets' mean refusal recall minus false refusal rate among thresholds that refuse at most
``MAX_FALSE_REFUSALS`` of the answerable questions *in every set*, the lower threshold winning
ties. A threshold chosen on one kind of text did not carry over to another, hence every set has
to pass the cap; people ask answerable questions far more often than traps, so a refused good
question is the costlier error and is capped.

``calibrate`` runs it all (``assistant eval calibrate``); opening an assistant is left to the
caller (``open_assistant``), which owns settings, the data folder and any progress display.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.dataset import SHIPPED_SETS, eval_collection, shipped_corpus, shipped_dataset_paths
from evals.metrics import CurvePoint, threshold_curve
from evals.rows import ResultRow

if TYPE_CHECKING:
    from assistant.service import Assistant

#: Opens the assistant for one shipped set: (settings overrides, sources or None for the
#: shipped article) -> an open ``Assistant``.
AssistantOpener = Callable[[dict[str, Any], list[Path] | None], "Assistant"]

GRID = [round(i * 0.01, 2) for i in range(0, 100)]
MAX_FALSE_REFUSALS = 0.10
# a hedge shows the closest sentence as a guess: worth showing while, in the band it covers,
# guesses on the evidence are at least as common as guesses that miss or answer nothing
MIN_HEDGE_PRECISION = 0.5


@dataclass(frozen=True)
class Choice:
    threshold: float
    per_set: dict[str, CurvePoint]

    @property
    def refusal_recall(self) -> float:
        return sum(p.refusal_recall for p in self.per_set.values()) / len(self.per_set)

    @property
    def false_refusal_rate(self) -> float:
        return sum(p.false_refusal_rate for p in self.per_set.values()) / len(self.per_set)

    @property
    def evidence_hit(self) -> float:
        return sum(p.evidence_hit for p in self.per_set.values()) / len(self.per_set)


def curves(rows_by_set: Mapping[str, Sequence[ResultRow]]) -> list[Choice]:
    per = {name: threshold_curve(rows, GRID) for name, rows in rows_by_set.items()}
    return [Choice(t, {name: pts[i] for name, pts in per.items()}) for i, t in enumerate(GRID)]


def choose(points: Sequence[Choice]) -> Choice:
    def j(c: Choice) -> float:
        return c.refusal_recall - c.false_refusal_rate

    def capped(c: Choice) -> bool:
        return all(p.false_refusal_rate <= MAX_FALSE_REFUSALS for p in c.per_set.values())

    allowed = [c for c in points if capped(c)] or list(points)
    best = max(j(c) for c in allowed)
    return min((c for c in allowed if j(c) >= best - 1e-9), key=lambda c: c.threshold)


def choose_hedge(rows_by_set: Mapping[str, Sequence[ResultRow]], decline: float) -> float:
    """The lowest threshold at or below ``decline`` such that, of the questions the band
    [threshold, decline) would answer with a guess, answerable ones whose closest sentence is on
    the evidence make at least ``MIN_HEDGE_PRECISION`` (each set weighing the same). Rows are
    recorded with no declining; ``decline`` itself means no hedging at all."""
    best = decline
    for t in sorted((g for g in GRID if g < decline), reverse=True):
        right = wrong = 0.0
        for rows in rows_by_set.values():
            band = [r for r in rows if t <= r.confidence < decline]
            if not rows:
                continue
            hits = sum(1 for r in band if r.answerable and r.top_citation_hit)
            right += hits / len(rows)
            wrong += (len(band) - hits) / len(rows)
        if right + wrong and right / (right + wrong) >= MIN_HEDGE_PRECISION:
            best = t
    return best


def choose_threshold(rows_by_set: Mapping[str, Sequence[ResultRow]]) -> tuple[Choice, list[Choice]]:
    """The chosen threshold and every point of the sweep, from rows recorded with no declining."""
    points = curves(rows_by_set)
    return choose(points), points


@dataclass(frozen=True)
class Calibration:
    """The sweep over the dev parts of the shipped sets, and the threshold chosen from it."""

    chosen: Choice
    points: list[Choice]
    dataset_hashes: dict[str, str]
    items: dict[str, int]  # dev items run per set
    hedge_threshold: float | None = None  # from ``choose_hedge``; None: no hedging

    @property
    def sets(self) -> list[str]:
        return list(self.items)


def calibrate(
    open_assistant: AssistantOpener, *, sets: Sequence[str] = tuple(SHIPPED_SETS)
) -> Calibration:
    """Run the dev part of every shipped set with no declining and choose the threshold.

    Each set is asked over its own corpus, in its own collection (``eval_collection``), so
    calibrating never replaces the index the user built.
    """
    from evals.runner import prepare, run_rows

    rows_by_set: dict[str, list[ResultRow]] = {}
    hashes: dict[str, str] = {}
    counts: dict[str, int] = {}
    for name in sets:
        corpus = shipped_corpus(name)  # type: ignore[arg-type]
        overrides: dict[str, Any] = {
            "decline_threshold": 0.0,
            "mode": "extractive",
            **eval_collection(name, corpus),
        }
        assistant = open_assistant(overrides, [corpus] if corpus else None)
        prepared = prepare(shipped_dataset_paths("dev", name), assistant)  # type: ignore[arg-type]
        rows_by_set[name] = run_rows(
            assistant,
            prepared.items,
            mode="extractive",
            k=assistant.settings.top_k,
            out=None,
        )
        hashes[name], counts[name] = prepared.dataset_hash, len(prepared.items)
    chosen, points = choose_threshold(rows_by_set)
    hedge = choose_hedge(rows_by_set, chosen.threshold)
    return Calibration(chosen, points, hashes, counts, hedge)


def write_calibration(path: Path, calibration: Calibration) -> None:
    """The chosen threshold, how it was chosen and on what, as the product reads it."""
    chosen, dataset_hashes, items = (
        calibration.chosen,
        calibration.dataset_hashes,
        calibration.items,
    )
    data = {
        "decline_threshold": chosen.threshold,
        "chosen_by": "assistant eval calibrate: max mean(refusal_recall - false_refusal_rate) "
        f"over the dev parts of {', '.join(sorted(chosen.per_set))}, with false refusals <= "
        f"{MAX_FALSE_REFUSALS} in each, lowest threshold on ties",
        "hedge_threshold": calibration.hedge_threshold,
        "hedge_chosen_by": "the lowest threshold below the decline one at which at least "
        f"{MIN_HEDGE_PRECISION} of the guesses it adds (each set weighing the same) are "
        "answerable questions whose closest sentence is on the evidence",
        "dev": {
            name: {k: round(v, 4) for k, v in asdict(p).items() if k != "threshold"}
            for name, p in chosen.per_set.items()
        },
        "dev_items": dict(items),
        "dataset_hash": dict(dataset_hashes),
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
