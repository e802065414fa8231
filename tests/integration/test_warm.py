"""``assistant llm serve`` reads the claims prompt's rules once at start (``local.warm``), so
the first question after ``make llm`` does not pay for them. Against the scripted server: what
is sent, and that a refusing or absent server costs only the head start, never the serving."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from assistant.llm import local
from assistant.llm.claims import claims_messages
from tests.llm_server import LLMServer, answer, status


def test_warm_sends_the_rules_every_question_starts_with(llm_server: LLMServer) -> None:
    llm_server.enqueue(answer("{"))
    assert local.warm(llm_server.base_url, api_key="k3y")
    [request] = llm_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer k3y"
    system = request.json["messages"][0]
    assert system == claims_messages("Any other question?", ["Any sentence."])[0]
    assert request.json["max_tokens"] == 1


def test_a_refusing_or_absent_server_only_loses_the_head_start(llm_server: LLMServer) -> None:
    llm_server.enqueue(status(500))
    assert local.warm(llm_server.base_url) is False
    assert local.warm("http://127.0.0.1:9/v1", timeout=2.0) is False  # nothing listens there


def test_serve_warms_after_saying_it_is_ready(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``serve`` announces the URL first (the lines to use), then warms the server it runs."""
    from contextlib import contextmanager

    @contextmanager
    def fake_running(model_path, **kwargs):
        yield llm_server.base_url

    monkeypatch.setattr(local, "running", fake_running)
    llm_server.enqueue(answer("{"))
    stop = threading.Event()
    seen: list[int] = []

    def ready(url: str) -> None:
        seen.append(len(llm_server.requests))  # nothing sent before the lines are printed

    def stop_when_warmed() -> None:
        for _ in range(200):  # bounded: 10 s
            if llm_server.requests:
                break
            stop.wait(0.05)
        stop.set()

    threading.Thread(target=stop_when_warmed, daemon=True).start()
    local.serve(tmp_path / "model.gguf", port=0, ready=ready, stop=stop)
    assert seen == [0]
    [request] = llm_server.requests
    assert request.json["max_tokens"] == 1
