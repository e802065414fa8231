"""Shared fixtures: no test touches the user's files or the network beyond 127.0.0.1."""

from __future__ import annotations

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
    monkeypatch.chdir(tmp_path)
    yield
