"""Files on disk: written whole, and named in text that any log, JSON file or terminal takes.

Why whole: several processes may write the same file (two ``assistant index`` runs, replicas
sharing a folder); a shared temporary name would let one process rename another's half-written
file in, and a reader must never see a partial file.

Why printable names: a Linux file name is bytes, and Python decodes the bytes that are not
UTF-8 to lone surrogates (``b"\\xff"`` becomes ``"\\udcff"``), which a UTF-8 log file, a JSON
document or a terminal refuses to write: one such name once failed a whole ``assistant index``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def printable(path: str | os.PathLike[str]) -> str:
    """``path`` as text for messages, logs and labels: UTF-8 as it is, each byte that is not
    as a ``\\xNN`` escape. Only for showing: the path itself is what opens the file."""
    text = os.fspath(path)
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no byte decoded to: show it escaped
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


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
