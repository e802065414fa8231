"""The ``llm_server`` fixture: a scripted OpenAI-compatible server on loopback, per test.

Load it with ``pytest_plugins = ["tests.llm_fixtures"]`` (in ``tests/conftest.py``, or in a
test module).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.llm_server import LLMServer


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A running server with an empty script; stopped (stalls released) after the test."""
    with LLMServer() as server:
        yield server
