"""The log file in the data folder: whatever a message holds, it is written, never a traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest


def test_a_message_holding_a_lone_surrogate_is_written_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file name that is not UTF-8 reaches Python as a lone surrogate (`\\udcff`); logging it
    writes it escaped instead of printing "--- Logging error ---" and a traceback."""
    from assistant.logs import setup_logging

    path = setup_logging(tmp_path)
    assert path is not None
    logging.getLogger("index.sources").warning("skipped %s", "news/bad\udcfe.txt")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "Logging error" not in capsys.readouterr().err
    assert "skipped news/bad\\udcfe.txt" in path.read_text(encoding="utf-8")
