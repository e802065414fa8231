"""Run one benchmark step in its own process, so its memory and its cold start are its own:
``python -m bench.workers TASK PARAMS.json OUT.json`` (``bench.run`` does this for each step).

The steps live in ``bench.tasks``; like this module they import only the standard library at
the top, so a cold-start step pays for importing the system under test and nothing else. Every
step writes one JSON object to OUT.json, with the process's own peak RSS added.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.measure import peak_rss_mb
from bench.tasks import baseline, chroma, product

TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "product_build": product.build,
    "product_measure": product.measure,
    "product_cold": product.cold,
    "set_ef": product.set_ef,
    "baseline_build": baseline.build,
    "baseline_measure": baseline.measure,
    "baseline_cold": baseline.cold,
    "chroma_sweep": chroma.sweep,
}


def main(argv: list[str] | None = None) -> int:
    task, params, out = sys.argv[1:] if argv is None else argv
    result = TASKS[task](json.loads(Path(params).read_text(encoding="utf-8")))
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    Path(out).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
