"""The product in LLM mode against a scripted OpenAI-compatible server on 127.0.0.1: verified
quotes reach the user, failures fall back to the offline answer, and the CLI says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import FELL_BACK, app
from assistant.service import Assistant
from assistant.settings import load_settings
from assistant.types import Turn
from tests.chroma_server import free_port
from tests.llm_server import LLMServer, answer, json_reply, malformed, stall, status

NESTED = "[" * 100_000  # deeper than Python's recursion limit: json.loads cannot read it

ARTICLE_QUOTE = "NATO’s relationship with Ukraine will be decided by 30 NATO allies and Ukraine"
runner = CliRunner()


@pytest.fixture
def llm_assistant(tmp_path: Path, llm_server: LLMServer) -> Assistant:
    settings = load_settings(
        data_dir=tmp_path / "d",
        llm_base_url=llm_server.base_url,
        llm_model="scripted",
        llm_max_retries=1,
        llm_read_timeout=2.0,
        llm_connect_timeout=1.0,
    )
    return Assistant.open(settings)


def test_llm_answer_keeps_only_verified_quotes(
    llm_assistant: Assistant, llm_server: LLMServer
) -> None:
    llm_server.enqueue(
        answer(
            f'Stoltenberg said "{ARTICLE_QUOTE.replace("’", chr(39))}" [1] and '
            '"NATO will admit Ukraine next year" [2].'
        )
    )
    got = llm_assistant.ask("Who decides NATO's relationship with Ukraine?")
    assert got.mode == "llm" and got.grounded
    assert got.dropped_quotes == 1
    assert "admit Ukraine next year" not in got.text
    assert [c.quote for c in got.citations] == [ARTICLE_QUOTE]
    c = got.citations[0]
    assert llm_assistant.documents["article"].text[c.start : c.end] == c.quote
    prompt = llm_server.requests[-1].json["messages"]
    assert any("Who decides NATO" in m["content"] for m in prompt)


def test_llm_refusal_is_ungrounded(llm_assistant: Assistant, llm_server: LLMServer) -> None:
    from assistant.llm import REFUSAL

    llm_server.enqueue(answer(REFUSAL))
    got = llm_assistant.ask("What is the population of Ukraine?")
    assert got.grounded is False and got.citations == []


FAILURES = {
    "500": [status(500)] * 3,
    "malformed": [malformed()],
    "a reply of deeply nested JSON": [answer(NESTED)],
    "a body of deeply nested JSON": [json_reply(NESTED.encode())],
    "a reply of nested claims": [answer('{"answerable": true, "claims": ' + NESTED)],
}


@pytest.mark.parametrize("failure", FAILURES)
def test_failing_endpoint_falls_back_to_extractive(
    llm_assistant: Assistant, llm_server: LLMServer, failure: str
) -> None:
    """Every bad response, however odd (even JSON too deep to parse), gets the offline answer
    with the reason, never a traceback."""
    llm_server.enqueue(*FAILURES[failure])
    got = llm_assistant.ask("Who decides NATO's relationship with Ukraine?")
    assert got.mode == "extractive"
    assert got.fallback_reason and "offline extractive answer" in got.fallback_reason
    assert ARTICLE_QUOTE in got.citations[0].quote


def test_endpoint_down_falls_back_quickly(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path / "d",
        llm_base_url=f"http://127.0.0.1:{free_port()}",
        llm_max_retries=0,
        llm_connect_timeout=0.5,
    )
    got = Assistant.open(settings).ask("Where is NATO headquartered?")
    assert got.mode == "extractive" and got.fallback_reason
    assert "NATO headquarters in Brussels" in got.citations[0].quote


def test_a_hanging_endpoint_is_waited_for_once_not_per_question(
    tmp_path: Path, llm_server: LLMServer
) -> None:
    """An endpoint that accepts and never answers: the first question waits for the read
    timeout and falls back; the next ones fall back at once, sending it nothing, and say so."""
    llm_server.set_handler(lambda body: stall())
    settings = load_settings(
        data_dir=tmp_path / "d",
        llm_base_url=llm_server.base_url,
        llm_model="scripted",
        llm_max_retries=0,
        llm_read_timeout=0.5,
    )
    assistant = Assistant.open(settings)
    first = assistant.ask("Who decides NATO's relationship with Ukraine?")
    assert first.mode == "extractive" and "timed out" in (first.fallback_reason or "")
    sent = len(llm_server.requests)
    assert sent == 1
    again = assistant.ask("Where is NATO headquartered?")
    follow_up = assistant.ask(
        "And who leads it?", [Turn(role="user", content="Where is NATO headquartered?")]
    )
    assert len(llm_server.requests) == sent  # neither waited on the endpoint again
    for got in (again, follow_up):
        assert got.mode == "extractive" and got.fallback_reason
        assert "is down" in got.fallback_reason and "\n" not in got.fallback_reason
    assert "NATO headquarters in Brussels" in again.citations[0].quote
    assert assistant.llm_status().state == "down"
    llm_server.release()


def test_streamed_answer_then_verified(llm_assistant: Assistant, llm_server: LLMServer) -> None:
    llm_server.enqueue(answer(f"«{ARTICLE_QUOTE}» [1]"))
    stream = llm_assistant.ask_stream("Who decides NATO's relationship with Ukraine?")
    text = "".join(stream)
    assert ARTICLE_QUOTE in text
    assert stream.answer.grounded and stream.answer.citations[0].quote == ARTICLE_QUOTE
    assert llm_server.requests[-1].json.get("stream") is True


def test_follow_up_rewritten_by_the_model(llm_assistant: Assistant, llm_server: LLMServer) -> None:
    llm_server.enqueue(
        answer("Who did Stoltenberg hold a press conference with?"),
        answer('"joint press conference with German Chancellor Olaf Schulz" [1]'),
    )
    history = [
        Turn(role="user", content="What did Stoltenberg reject?"),
        Turn(role="assistant", content="He rejected Russia’s call."),
    ]
    got = llm_assistant.ask("And who did he meet?", history)
    assert got.query == "Who did Stoltenberg hold a press conference with?"
    assert got.grounded and "German Chancellor Olaf Schulz" in got.citations[0].quote


def test_cli_exit_code_says_it_fell_back(monkeypatch, llm_server: LLMServer) -> None:
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("ASSISTANT_LLM_MAX_RETRIES", "0")
    llm_server.enqueue(status(503))
    result = runner.invoke(app, ["ask", "--json", "Where is NATO headquartered?"])
    assert result.exit_code == FELL_BACK
    assert "Fell back to the offline answer" in result.stderr
    assert json.loads(result.stdout)["mode"] == "extractive"


def test_cli_falls_back_when_the_reply_is_nested_too_deep(
    monkeypatch, llm_server: LLMServer
) -> None:
    """A reply of 100,000 opening brackets: the offline answer, exit code 3, one sentence."""
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", llm_server.base_url)
    llm_server.enqueue(answer(NESTED))
    result = runner.invoke(app, ["ask", "Where is NATO headquartered?"])
    assert result.exit_code == FELL_BACK, result.output
    assert "nested too deeply" in result.stderr and "Traceback" not in result.output
    assert "NATO headquarters in Brussels" in result.stdout


def test_config_check_does_a_round_trip_and_masks_the_key(
    monkeypatch, llm_server: LLMServer
) -> None:
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("ASSISTANT_LLM_API_KEY", "sk-very-secret-987654")
    llm_server.set_handler(lambda body: "ok")
    result = runner.invoke(app, ["config", "--check"])
    assert result.exit_code == 0, result.output
    assert "llm_check" in result.output and "ok:" in result.output
    assert "sk-very-secret-987654" not in result.output
    assert llm_server.requests, "a real request reached the server"
    assert llm_server.requests[-1].headers["authorization"] == "Bearer sk-very-secret-987654"


def test_config_check_fails_when_nothing_answers(monkeypatch) -> None:
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}")
    result = runner.invoke(app, ["config", "--check"])
    assert result.exit_code == 1
    assert "FAILED" in result.output


def _refusing(feature: str):
    """A server that answers a plain chat but refuses requests using ``feature`` with a 400,
    as servers without JSON-schema output or without streaming do."""

    def handler(body: dict) -> object:
        uses = "response_format" in body if feature == "response_format" else body.get("stream")
        return status(400) if uses else "ok"

    return handler


@pytest.mark.parametrize(
    ("feature", "says"),
    [
        ("response_format", "refused response_format (a JSON schema)"),
        ("stream", "refused a streamed answer"),
    ],
)
def test_config_check_names_a_refused_feature_and_what_the_product_does(
    monkeypatch, llm_server: LLMServer, feature: str, says: str
) -> None:
    """A server that answers a plain chat but refuses what the default citation mode needs:
    FAILED, exit 1, naming the missing feature and the fall-back; and the product does fall
    back (exit code 3) against that server, as the check says."""
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("ASSISTANT_LLM_MAX_RETRIES", "0")
    llm_server.set_handler(_refusing(feature))
    result = runner.invoke(app, ["config", "--check"])
    message = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert "FAILED" in message and says in message
    assert "the offline answer" in message
    other = "refused a streamed answer" if feature == "response_format" else "refused response_f"
    assert other not in message  # only the missing feature is named
    asked = runner.invoke(app, ["ask", "--json", "Where is NATO headquartered?"])
    assert asked.exit_code == FELL_BACK, asked.output


def test_config_check_needs_no_json_schema_when_the_model_cites_in_free_text(
    monkeypatch, llm_server: LLMServer
) -> None:
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("ASSISTANT_LLM_CITATIONS", "quotes")
    llm_server.set_handler(_refusing("response_format"))
    result = runner.invoke(app, ["config", "--check"])
    assert result.exit_code == 0, result.output
    assert "ok:" in result.output
    assert not any("response_format" in (r.json or {}) for r in llm_server.requests)
