"""Indexing and asking through a real `chroma run` server selected by ASSISTANT_CHROMA_URL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.service import Assistant
from assistant.settings import load_settings
from tests.chroma_server import chroma_server

pytestmark = pytest.mark.server


def test_index_and_ask_through_a_chroma_server(tmp_path: Path, monkeypatch) -> None:
    with chroma_server(tmp_path / "server-data") as url:
        monkeypatch.setenv("ASSISTANT_CHROMA_URL", url)
        first = Assistant.open(load_settings(data_dir=tmp_path / "replica-1"))
        assert first.sync_report.rebuilt
        answer = first.ask("Where is NATO headquartered?")
        assert "NATO headquarters in Brussels" in answer.citations[0].quote
        # a second replica with its own (empty) data folder finds the shared index as is
        second = Assistant.open(load_settings(data_dir=tmp_path / "replica-2"))
        assert not second.sync_report.touched
        assert second.ask("Where is NATO headquartered?").citations[0].quote == (
            answer.citations[0].quote
        )
        # and the CLI, as a separate process, answers through the server too
        out = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "ask", "--json", "How long were the talks?"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env={**__import__("os").environ, "ASSISTANT_DATA_DIR": str(tmp_path / "replica-3")},
        )
        assert out.returncode == 0, out.stderr
        assert "two-hour talks" in out.stdout
    assert not (tmp_path / "replica-3" / "chroma").exists(), "nothing was stored locally"
