"""The load figure's runs, small: processes started together, every ask answered, 0 errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.load import run
from tests.chroma_server import chroma_server

pytestmark = pytest.mark.server


def test_load_figure_has_no_errors_on_one_folder_and_through_one_server(tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    folder = run(3, 2, {**base, "ASSISTANT_DATA_DIR": str(tmp_path / "data")})
    with chroma_server(tmp_path / "server-data") as url:
        server = run(3, 2, {**base, "ASSISTANT_CHROMA_URL": url}, folders=tmp_path / "replicas")
    for figure in (folder, server):
        assert figure["errors"] == 0, figure["error_samples"]
        assert figure["asks_answered"] == 6 and figure["p95_ms"] is not None
