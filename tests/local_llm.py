"""The ``local_llm`` fixture: the real local model (Qwen2.5-Coder-0.5B on llama.cpp), once per
test session, started as a user would: ``python -m assistant.cli llm serve``.

It yields the base URL (``http://127.0.0.1:PORT/v1``) to use as ``ASSISTANT_LLM_BASE_URL`` with
``LOCAL_LLM_MODEL`` as ``ASSISTANT_LLM_MODEL``. The weights are assembled (and verified) once
into ``test-artifacts/local-llm/models`` and reused by later runs. The server runs niced, on one
thread, and is stopped with SIGINT (Ctrl-C) at the end of the session.

Needs the ``local`` extra (``make test`` installs it). Without it the tests that use the fixture
are skipped, except under CI (``CI`` set), where that is a failure.

Loaded through ``pytest_plugins`` in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import httpx
import pytest

from tests.chroma_server import free_port

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "test-artifacts" / "local-llm"  # the fixture's data folder; models/ inside
LOCAL_LLM_MODEL = "qwen2.5-coder-0.5b-instruct"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0


def _missing_extra() -> str | None:
    from assistant.llm.local import LocalModelError, part_paths

    try:
        metadata.distribution("xllamacpp")
        part_paths("0.5b")
    except (metadata.PackageNotFoundError, LocalModelError) as exc:
        return f"the local model is not installed (pip install -e '.[local]'): {exc}"
    return None


def _stop(proc: subprocess.Popen[bytes]) -> int:
    """Ctrl-C first, as a user would; then SIGTERM and SIGKILL, each bounded in time."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait(timeout=5)


@pytest.fixture(scope="session")
def local_llm() -> Iterator[str]:
    """The base URL of a running real local model (the 0.5B), shared by the whole session."""
    reason = _missing_extra()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    data_dir = DATA_DIR
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = data_dir / "server.log"  # the last session's
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_DATA_DIR"] = str(data_dir)
    cmd = [sys.executable, "-m", "assistant.cli", "llm", "serve", "--model", "0.5b"]
    # one thread: on 2 cores shared with other work (other tests, other jobs), llama.cpp's two
    # threads wait on each other at every token; measured 4-20x slower than one thread there
    cmd += ["--port", str(port), "--nice", "10", "--threads", "1"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            try:
                if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the local model did not answer on {url} within {START_TIMEOUT:.0f} s: "
                    + log_path.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.25)
        yield url
    finally:
        code = _stop(proc)
    log_text = log_path.read_text(errors="replace")
    assert code == 0 and "Stopped." in log_text, (
        f"the local model did not stop cleanly on Ctrl-C (exit {code}): {log_text[-2000:]}"
    )
