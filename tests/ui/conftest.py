"""Fixtures for the page tests: the page in-process (AppTest) and as a real server.

Paths are resolved from this file, never from the working directory: the autouse fixture in
``tests/conftest.py`` moves every test into its own ``tmp_path``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "ui" / "app.py"
ARTIFACTS = REPO / "test-artifacts" / "browser"
SERVER_START_TIMEOUT = 90.0


@pytest.fixture
def app() -> AppTest:
    """The page after its first run, on the shipped article, with no configuration."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def closed_port() -> int:
    """A loopback port with no listener: connecting to it is refused at once."""
    return free_port()


@dataclass
class Server:
    """A running ``streamlit run ui/app.py`` and how long it took to answer its health check."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    start_seconds: float

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server we started, by its PID: terminate, wait, then kill if it hangs."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def streamlit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``streamlit run ui/app.py`` on a free loopback port, its data folder in a temp dir.

    Waits (bounded) for ``GET /_stcore/health`` to answer 200, and records how long that took.
    """
    tmp = tmp_path_factory.mktemp("streamlit-server")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_DATA_DIR"] = str(tmp / "data")
    log_path = tmp / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "ui/app.py",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.fileWatcherType",
        "none",
    ]
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log_file:
        t0 = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log_file, stderr=log_file)
    server = Server(url=url, process=process, log_path=log_path, start_seconds=0.0)
    try:
        deadline = t0 + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with {process.returncode}:\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.perf_counter() > deadline:
                pytest.fail(
                    f"streamlit did not answer /_stcore/health within {SERVER_START_TIMEOUT:.0f}"
                    f" s:\n{server.log_tail()}"
                )
            time.sleep(0.1)
        server.start_seconds = time.perf_counter() - t0
        yield server
    finally:
        _stop(process)
