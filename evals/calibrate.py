"""Choosing the extractive answerer's decline threshold on data.

The dev part is run once with no declining at all; every threshold is then replayed from the
recorded confidences (``evals.metrics.threshold_curve``). The rule: maximise refusal recall minus
false refusal rate (Youden's J) among thresholds that refuse at most ``MAX_FALSE_REFUSALS`` of
the answerable questions, the lower threshold winning ties. Plain J picked 0.58 on the first
dev set, refusing 43% of answerable questions: people ask answerable questions far more often
than traps, so a refused good question is the costlier error and is capped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evals.metrics import CurvePoint, threshold_curve

GRID = [round(i * 0.01, 2) for i in range(0, 81)]
MAX_FALSE_REFUSALS = 0.10


def choose(points: Sequence[CurvePoint]) -> CurvePoint:
    def j(p: CurvePoint) -> float:
        return p.refusal_recall - p.false_refusal_rate

    allowed = [p for p in points if p.false_refusal_rate <= MAX_FALSE_REFUSALS] or list(points)
    best = max(j(p) for p in allowed)
    return min((p for p in allowed if j(p) >= best - 1e-9), key=lambda p: p.threshold)


def calibrate(rows: Sequence[dict[str, Any]]) -> tuple[CurvePoint, list[CurvePoint]]:
    points = threshold_curve(rows, GRID)
    return choose(points), points


def write_calibration(path: Path, chosen: CurvePoint, dataset_hash: str, items: int) -> None:
    data = {
        "decline_threshold": chosen.threshold,
        "chosen_by": "assistant eval calibrate: max(refusal_recall - false_refusal_rate) on the "
        f"dev part with false refusals <= {MAX_FALSE_REFUSALS}, lowest threshold on ties",
        "dev": {k: round(v, 4) for k, v in asdict(chosen).items() if k != "threshold"},
        "dev_items": items,
        "dataset_hash": dataset_hash,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
