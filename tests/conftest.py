"""Shared fixtures: no test touches the user's files or the network beyond 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.llm_fixtures", "tests.local_llm"]


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    """Point the data folder at a temp dir and clear any ASSISTANT_* the developer has set."""
    import os

    for name in list(os.environ):
        if name.startswith("ASSISTANT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    # processes the tests start import the code under test, not whichever checkout the
    # editable install points at (a git worktree would otherwise test another tree)
    root = str(Path(__file__).resolve().parent.parent)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.chdir(tmp_path)
    yield
