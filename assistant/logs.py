"""Logging for the edges: details go to a file in the data folder, the user sees one sentence."""

from __future__ import annotations

import logging
from pathlib import Path

_configured: set[str] = set()


def setup_logging(data_dir: Path, verbose: bool = False) -> Path | None:
    """Log to ``DATA_DIR/assistant.log``; with ``verbose``, also to stderr. Idempotent."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "httpcore", "chromadb", "urllib3", "bm25s", "wordllama"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    path = Path(data_dir) / "assistant.log"
    key = str(path.resolve())
    if key not in _configured:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # a message holding a lone surrogate (a file name that is not UTF-8) is written
            # escaped, not dropped with a "Logging error" traceback on stderr
            handler = logging.FileHandler(path, encoding="utf-8", errors="backslashreplace")
        except OSError:
            return None
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        _configured.add(key)
    if verbose and "stderr" not in _configured:
        err = logging.StreamHandler()
        err.setLevel(logging.DEBUG)
        root.addHandler(err)
        _configured.add("stderr")
    return path
