"""Writing a file whole: to a private temporary name beside it, then renamed in.

Why: several processes may write the same file (two ``assistant index`` runs, replicas sharing a
folder); a shared temporary name would let one process rename another's half-written file in,
and a reader must never see a partial file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_whole(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one rename; readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
