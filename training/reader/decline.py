"""Fit the decline model (``assistant/reader/decline.py``) on the dev parts of both shipped
eval sets, and report how it separates answerable from unanswerable questions on the test
parts, against the reader's score alone.

Each set weighs the same (the news set is small); a little L2 keeps the weights sane. The
fitted file joins the reader's manifest, so its sha256 is checked on load like the model's.
Run after ``training.reader.package`` and before ``assistant eval calibrate``.

Coverage may only lower the probability: the weights of ``unmatched`` and
``unmatched_in_document`` are kept at or below 0 (a word with no match of its meaning in the
sentence or the article never makes a question more answerable). Without that constraint the
dev parts, whose unanswerable questions are mostly near the article's topic, taught the model
that an unmatched word means "answerable", and it answered "Who won the football World Cup?".
``--features`` fits on some of the signals only (the others weigh 0).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from assistant.reader.decline import DECLINE_FILE, FEATURES, DeclineModel
from evals.dataset import load_dataset, shipped_dataset_paths
from training.reader.measure import auroc, open_set, ship

ROOT = Path(__file__).resolve().parents[2]
L2 = 1e-2


def collect(name: str, split: str) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    a = open_set(name)
    xs, ys, tags = [], [], []
    for item in load_dataset(shipped_dataset_paths(split, name)).items:  # type: ignore[arg-type]
        query, got, _ = a._prepare(item.question, item.history, "extractive", None, None)
        ranked = a.extractive.judge(query, got.passages, a.documents)
        if not ranked:
            continue
        xs.append(a.extractive.signals(query, ranked, a.documents, every_signal=True).vector())
        ys.append(1.0 if item.answerable else 0.0)
        tags.append(item.tags)
    return np.array(xs), np.array(ys), tags


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    """Weighted logistic regression by Newton steps (a few dozen suffice)."""
    X = np.hstack([np.ones((len(x), 1)), x])
    beta = np.zeros(X.shape[1])
    reg = np.eye(X.shape[1]) * L2
    reg[0, 0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(X @ beta, -30, 30)))
        g = X.T @ (w * (p - y)) + reg @ beta
        h = (X * (w * p * (1 - p))[:, None]).T @ X + reg
        step = np.linalg.solve(h, g)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[1:], float(beta[0])


DEFAULT_FEATURES = FEATURES
NON_POSITIVE = ("unmatched", "unmatched_in_document", "names_not_in_document")


def fit_constrained(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, used: list[int]
) -> tuple[np.ndarray, float]:
    """``fit`` over the ``used`` columns, with the ``NON_POSITIVE`` weights held at 0 whenever
    the free fit makes them positive (an active set: drop the worst offender, fit again)."""
    free = list(used)
    while True:
        fitted, bias = fit(x[:, free], y, w)
        weights = np.zeros(x.shape[1])
        weights[free] = fitted
        wrong = [i for i in free if FEATURES[i] in NON_POSITIVE and weights[i] > 0]
        if not wrong:
            return weights, bias
        free.remove(max(wrong, key=lambda i: weights[i]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--features", nargs="+", choices=FEATURES, default=list(DEFAULT_FEATURES))
    a = ap.parse_args()
    used = [FEATURES.index(f) for f in a.features]
    data = {(n, s): collect(n, s) for n in ("article", "squad") for s in ("dev", "test")}
    xs, ys, ws = [], [], []
    for n in ("article", "squad"):
        x, y, _ = data[(n, "dev")]
        xs.append(x)
        ys.append(y)
        ws.append(np.full(len(y), 1.0 / len(y)))
    x, y, w = np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
    w = w / w.mean()
    weights, bias = fit_constrained(x, y, w, used)
    model = DeclineModel(tuple(float(v) for v in weights), bias)
    report = {}
    for (n, s), (xx, yy, tags) in data.items():
        p = np.array([model.probability(_signals(v)) for v in xx])
        row = {"items": len(yy), "auroc_model": _auroc(p, yy), "auroc_reader": _auroc(xx[:, 0], yy)}
        spectre = np.array(["spectre" in t for t in tags])
        if spectre.any():
            row["spectre_auroc_model"] = _auroc(p[spectre], yy[spectre])
            row["spectre_auroc_reader"] = _auroc(xx[spectre, 0], yy[spectre])
        report[f"{n}/{s}"] = row
    out = {
        "features": list(FEATURES),
        "weights": dict(zip(FEATURES, map(float, weights), strict=True)),
        "bias": bias,
        "fitted_on": "dev parts of the article and squad eval sets, each set weighing the same",
        "held_out": report,
    }
    ship(DECLINE_FILE, out)
    print(json.dumps(out, indent=2))


def _auroc(score: np.ndarray, y: np.ndarray) -> float:
    return auroc(score[y == 1], score[y == 0])


def _signals(v: np.ndarray):
    from assistant.reader.decline import Signals

    return Signals(*map(float, v))


if __name__ == "__main__":
    main()
