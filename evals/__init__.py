"""Measuring the assistant: eval sets, metrics, the batch run, reports, gates, comparisons.

The public surface, for the CLI and for scripts:

- ``evals.run(assistant, datasets, ...) -> EvalRun``: one eval run, results and reports;
- ``evals.calibrate(open_assistant) -> Calibration``: the reader's decline threshold, chosen on
  the dev parts of every shipped set;
- ``evals.gates``: ``--fail-under`` checks; ``evals.registry``: what each metric means;
- ``evals.compare``: two runs side by side.

``run`` and ``calibrate`` are imported on first use: importing ``evals.metrics`` or
``evals.registry`` (the unit tests, the report writers) then does not load the assistant's
retrieval stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evals.calibration import Calibration, calibrate
    from evals.pipeline import EvalRun, RunStart, run

__all__ = ["Calibration", "EvalRun", "RunStart", "calibrate", "run"]

_LAZY = {
    "Calibration": "evals.calibration",
    "calibrate": "evals.calibration",
    "EvalRun": "evals.pipeline",
    "RunStart": "evals.pipeline",
    "run": "evals.pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'evals' has no attribute {name!r}")
