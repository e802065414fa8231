"""What the reader's held-out measurements share: the assistant opened on a shipped eval set
(its own collection, declining off) and the AUROC of a score."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.reader.model import MANIFEST, MODEL_DIR
from assistant.service import Assistant
from assistant.settings import load_settings
from evals.dataset import shipped_corpus

ROOT = Path(__file__).resolve().parents[2]


def open_set(name: str) -> Assistant:
    """The assistant over a shipped eval set's corpus, never declining, so every threshold can
    be replayed from the recorded scores."""
    corpus = shipped_corpus(name)  # type: ignore[arg-type]
    settings = load_settings(
        decline_threshold=0.0,
        mode="extractive",
        data_dir=ROOT / ".assistant-card",
        **({"collection": f"eval-{name}"} if corpus else {}),
    )
    return Assistant.open(settings, sources=[corpus] if corpus else None)


def auroc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """P(a positive scores above a negative), ties counting half; NaN without both kinds."""
    p, n = np.asarray(pos, dtype=float), np.asarray(neg, dtype=float)
    if not len(p) or not len(n):
        return float("nan")
    wins = (p[:, None] > n[None, :]).sum() + 0.5 * (p[:, None] == n[None, :]).sum()
    return float(wins / (len(p) * len(n)))


def ship(path: Path, data: dict[str, Any]) -> None:
    """Write a fitted file beside the reader and record its sha256 in the manifest, so the run
    time checks it on load like the model itself."""
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    manifest_path = MODEL_DIR / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["sha256"][path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
