"""The learned reader at run time: onnxruntime and tokenizers only.

It judges (question, sentence) pairs: how likely the sentence answers the question (a
probability, the [CLS] head) and where the short answer stands inside it (the start/end head).
A model trained with the claim verifier (``training.reader.verifier``) has a fourth output,
``supports``: how likely a sentence states a claim; ``Reader.verifies`` says whether it has.
The model is trained by ``make reader`` (``training/reader/``) and shipped in ``model/`` beside
this file with its sha256 sums; a file that does not match is refused, never half-used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.errors import ReaderUnavailableError
from assistant.reader.encoding import Window, batch, load_tokenizer, sentence_mask, windows

log = logging.getLogger(__name__)
MODEL_DIR = Path(__file__).with_name("model")
MANIFEST = "model.json"
MAX_SPAN_TOKENS = 30
RESTORE_HINT = (
    "restore it with `git checkout -- assistant/reader/model` or rebuild it with `make reader`"
)


@dataclass(frozen=True, slots=True)
class Judgement:
    """The reader's verdict on one sentence; ``span`` is in the sentence's own characters."""

    score: float  # probability that the sentence answers the question
    span: tuple[int, int] | None
    span_score: float  # probability of that start × end


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Reader:
    """One ONNX session, shared by every thread of a process (onnxruntime's ``run`` is
    thread-safe); build it with ``shared_reader()`` so it loads once."""

    def __init__(self, model_dir: Path = MODEL_DIR) -> None:
        manifest_path = model_dir / MANIFEST
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            sums: dict[str, str] = manifest["sha256"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReaderUnavailableError(
                f"The reader model's manifest {manifest_path} is missing or unreadable; "
                f"{RESTORE_HINT}."
            ) from exc
        for name, want in sums.items():
            path = model_dir / name
            try:
                have = _sha256(path)
            except OSError as exc:
                raise ReaderUnavailableError(
                    f"The reader model file {path} is missing; {RESTORE_HINT}."
                ) from exc
            if have != want:
                raise ReaderUnavailableError(
                    f"The reader model file {path} is damaged (its sha256 does not match "
                    f"{MANIFEST}); {RESTORE_HINT}."
                )
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(model_dir / manifest["model"]), opts, providers=["CPUExecutionProvider"]
            )
            self.tokenizer = load_tokenizer(str(model_dir / manifest["tokenizer"]))
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ReaderUnavailableError(
                f"The reader model in {model_dir} could not be loaded ({type(exc).__name__}); "
                f"{RESTORE_HINT}."
            ) from exc
        self.max_len = int(manifest.get("max_len", 128))
        self.manifest = manifest
        self.outputs = [o.name for o in self.session.get_outputs()]

    @property
    def verifies(self) -> bool:
        """Whether this model carries the claim verifier head."""
        return "supports" in self.outputs

    def supports(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """For each (claim, sentence) pair, the probability that the sentence states the claim,
        judged on the sentence alone (what the user is shown). A sentence longer than the window
        keeps its best part. Raises ``ReaderUnavailableError`` for a model without the head."""
        if not self.verifies:
            raise ReaderUnavailableError(
                "The shipped reader has no claim verifier head; retrain it with `make reader`."
            )
        if not pairs:
            return []
        items: list[Window] = []
        owner: list[int] = []
        for i, (claim, sentence) in enumerate(pairs):
            ws = windows(self.tokenizer, claim, sentence, "", max_len=self.max_len)
            items += ws
            owner += [i] * len(ws)
        outputs = dict(zip(self.outputs, self.session.run(None, batch(items)), strict=True))
        best = np.full(len(pairs), -np.inf)
        for w, i in enumerate(owner):
            best[i] = max(best[i], float(outputs["supports"][w]))
        return [float(1 / (1 + np.exp(-b))) for b in best]

    def judge(self, question: str, pairs: Sequence[tuple[str, str]]) -> list[Judgement]:
        """One verdict per (sentence, context) pair, in order. A sentence longer than the
        window is scored on each part and keeps its best part's verdict."""
        if not pairs:
            return []
        items: list[Window] = []
        owner: list[int] = []
        for i, (sentence, context) in enumerate(pairs):
            ws = windows(self.tokenizer, question, sentence, context, max_len=self.max_len)
            items += ws
            owner += [i] * len(ws)
        arrays = batch(items)
        logits, starts, ends = self.session.run(["answers", "start", "end"], arrays)
        mask = sentence_mask(items, arrays["input_ids"].shape[1])
        best: dict[int, int] = {}
        for w, i in enumerate(owner):
            if i not in best or logits[w] > logits[best[i]]:
                best[i] = w
        out = []
        for i in range(len(pairs)):
            w = best[i]
            span, span_p = _span(starts[w], ends[w], mask[w], items[w])
            out.append(Judgement(float(1 / (1 + np.exp(-logits[w]))), span, span_p))
        return out


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _span(
    start: np.ndarray, end: np.ndarray, mask: np.ndarray, w: Window
) -> tuple[tuple[int, int] | None, float]:
    """The best start ≤ end within ``MAX_SPAN_TOKENS`` over the sentence's tokens."""
    idx = np.flatnonzero(mask)
    if not len(idx):
        return None, 0.0
    ps, pe = _softmax(start[idx]), _softmax(end[idx])
    grid = np.triu(np.outer(ps, pe)) - np.triu(np.outer(ps, pe), MAX_SPAN_TOKENS)
    flat = int(np.argmax(grid))
    i, j = divmod(flat, len(idx))
    s0, e0 = w.offsets[i][0], w.offsets[j][1]
    return ((s0, e0) if e0 > s0 else None), float(grid[i, j])


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _cached(model_dir: str) -> Reader:
    return Reader(Path(model_dir))


def shared_reader(model_dir: Path = MODEL_DIR) -> Reader:
    """The process's one reader (loaded on first use, sha256-checked)."""
    with _lock:
        return _cached(str(model_dir))
