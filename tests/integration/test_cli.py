"""The command line, through typer's runner and as a real process with no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from index.sources import load_default

ARTICLE = load_default()[0].text
runner = CliRunner()


def test_ask_prints_quote_and_citation() -> None:
    result = runner.invoke(app, ["ask", "Where is NATO headquartered?"])
    assert result.exit_code == 0, result.output
    assert "NATO headquarters in Brussels" in result.output
    assert "[1]" in result.output


def test_ask_json_is_the_answer() -> None:
    result = runner.invoke(app, ["ask", "--json", "How long did Putin and Biden talk?"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["grounded"] is True and data["mode"] == "extractive"
    c = data["citations"][0]
    assert ARTICLE[c["start"] : c["end"]] == c["quote"] and c["doc_id"] == "article"
    assert data["passages"][0]["fused"] > 0 and "total_ms" in data["timings"]
    short = data["short_answer"]
    assert ARTICLE[short["start"] : short["end"]] == short["text"]
    assert c["start"] <= short["start"] < short["end"] <= c["end"]
    assert "two" in short["text"].lower() or "hour" in short["text"].lower()


def test_ask_shows_the_short_answer_bold_inside_the_quote() -> None:
    from rich.console import Console

    from assistant.cli import common

    console = Console(force_terminal=True, color_system="standard", width=400)
    original = common.out
    common.out = console
    try:
        with console.capture() as captured:
            result = runner.invoke(app, ["ask", "--json", "Where is NATO headquartered?"])
            short = json.loads(result.stdout)["short_answer"]["text"]
            runner.invoke(app, ["ask", "Where is NATO headquartered?"])
    finally:
        common.out = original
    shown = captured.get()
    assert f"\x1b[1m{short}" in shown  # bold on: ESC[1m, then the short answer
    assert "NATO headquarters in Brussels" in shown.replace("\x1b[1m", "").replace("\x1b[0m", "")


def test_ask_declines_with_a_plain_sentence() -> None:
    result = runner.invoke(app, ["ask", "What is the population of Ukraine?"])
    assert result.exit_code == 0
    assert "The article does not say." in result.output


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("   ", "Please type a question; this one is empty."),
        ("x" * 100_000, "The question is 100,000 characters long"),
    ],
)
def test_bad_questions_exit_1_with_one_sentence(question: str, message: str) -> None:
    result = runner.invoke(app, ["ask", question])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_index_summarises_what_changed(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "one.txt").write_text("The mayor opened a bridge on Monday.", encoding="utf-8")
    (folder / "two.md").write_text("# Rain\n\nIt rained for three days.", encoding="utf-8")
    first = runner.invoke(app, ["index", str(folder)])
    assert first.exit_code == 0, first.output
    assert "2 document(s); added 2" in first.output
    (folder / "two.md").write_text("# Rain\n\nIt rained for four days.", encoding="utf-8")
    second = runner.invoke(app, ["index", str(folder)])
    assert "added 0, changed 1, removed 0, unchanged 1" in second.output
    # later questions answer from the indexed corpus, not the shipped article
    asked = runner.invoke(app, ["ask", "--json", "How long did it rain?"])
    assert asked.exit_code == 0, asked.output
    data = json.loads(asked.stdout)
    assert data["citations"][0]["doc_id"] == "two" and "four days" in data["citations"][0]["quote"]


def test_index_of_a_missing_file_names_it(tmp_path: Path) -> None:
    result = runner.invoke(app, ["index", str(tmp_path / "missing.txt")])
    assert result.exit_code == 1
    assert "missing.txt" in result.output


def test_unreachable_chroma_url_is_one_sentence(monkeypatch) -> None:
    from tests.chroma_server import free_port

    monkeypatch.setenv("ASSISTANT_CHROMA_URL", f"http://127.0.0.1:{free_port()}")
    result = runner.invoke(app, ["ask", "Where is NATO headquartered?"])
    assert result.exit_code == 1
    assert "No Chroma server answers at http://127.0.0.1:" in result.output


def test_bad_setting_is_one_sentence(monkeypatch) -> None:
    monkeypatch.setenv("ASSISTANT_CHROMA_URL", "not a url")
    result = runner.invoke(app, ["ask", "Where?"])
    assert result.exit_code == 1
    assert "Setting chroma_url is invalid" in result.output


def test_config_masks_the_key(monkeypatch) -> None:
    monkeypatch.setenv("ASSISTANT_LLM_API_KEY", "sk-secret-value-123456")
    result = runner.invoke(app, ["config", "--json"])
    assert result.exit_code == 0
    assert "sk-secret-value-123456" not in result.output
    assert json.loads(result.stdout)["llm_api_key"] == "****"


def test_chat_answers_follow_ups() -> None:
    result = runner.invoke(
        app,
        ["chat"],
        input="What did Stoltenberg reject?\nAnd who did he hold a press conference with?\n\n",
    )
    assert result.exit_code == 0, result.output
    assert "joint press conference with German Chancellor" in result.output


def test_real_process_with_no_network_downloads_nothing(tmp_path: Path) -> None:
    """Cold start in a fresh data folder inside a network namespace with no interfaces up."""
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.fail("unshare -n is not permitted here: " + probe.stderr.decode())
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp_path / "fresh"), "HF_HUB_OFFLINE": "0"}
    out = subprocess.run(
        [
            "unshare",
            "-n",
            sys.executable,
            "-m",
            "assistant.cli",
            "ask",
            "--json",
            "Who decides NATO's relationship with Ukraine?",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert "30 NATO allies and Ukraine" in data["citations"][0]["quote"]


@pytest.mark.parametrize("doc", ["[bold red]HACKED[/]", "[/x]"])
def test_doc_values_are_printed_as_written_never_as_markup(doc: str) -> None:
    result = runner.invoke(app, ["ask", "--doc", doc, "Where is NATO headquartered?"])
    assert result.exit_code == 1
    assert f"no document with the id '{doc}'" in result.output
    assert "Traceback" not in result.output


def test_invalid_utf8_in_arguments_and_stdin_is_one_sentence(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_DATA_DIR"] = str(tmp_path / "data")
    asked = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", b"x \xff"],
        capture_output=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert asked.returncode == 1
    assert b"not valid UTF-8" in asked.stderr and b"Traceback" not in asked.stderr
    chat = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "chat"],
        input=b"\xff\xfe\nWhere is NATO headquartered?\n",
        capture_output=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert chat.returncode == 0, chat.stderr
    both = chat.stdout + chat.stderr
    assert b"not valid UTF-8" in both and b"Traceback" not in both
    assert b"NATO headquarters in Brussels" in chat.stdout  # the chat went on


def test_asks_need_no_source_files_after_indexing(tmp_path: Path) -> None:
    story = tmp_path / "bakery.txt"
    story.write_text(
        "Lisbon bakery wins prize\n\nThe bakery in Alfama sells 4,000 custard tarts every day.\n",
        encoding="utf-8",
    )
    assert runner.invoke(app, ["index", str(story)]).exit_code == 0
    story.unlink()  # moved or deleted after indexing
    result = runner.invoke(app, ["ask", "--json", "How many tarts does the bakery sell a day?"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["grounded"] and "4,000 custard tarts" in data["citations"][0]["quote"]


def test_kept_documents_that_fail_their_checksum_are_not_used(tmp_path: Path) -> None:
    story = tmp_path / "bakery.txt"
    story.write_text("Bakery news\n\nThe bakery sells 4,000 tarts every day.\n", encoding="utf-8")
    assert runner.invoke(app, ["index", str(story)]).exit_code == 0
    story.unlink()
    kept = Path(os.environ["ASSISTANT_DATA_DIR"]) / "documents.jsonl"
    kept.write_text(kept.read_text().replace("4,000", "9,999"), encoding="utf-8")
    result = runner.invoke(app, ["ask", "How many tarts?"])
    assert result.exit_code == 1
    assert "bakery.txt" in result.output and "Traceback" not in result.output


def test_paths_with_markup_are_printed_as_written(tmp_path: Path) -> None:
    """A path holding `[bold]` is data: indexed as is, and named literally when missing."""
    missing = tmp_path / "[bold]gone[red].txt"
    result = runner.invoke(app, ["index", str(missing)])
    assert result.exit_code == 1
    assert str(missing) in result.output and "Traceback" not in result.output
    story = tmp_path / "[bold red]news.txt"
    story.write_text("Harbour news\n\nThe ferry to Ischia leaves at noon.\n", encoding="utf-8")
    result = runner.invoke(app, ["index", str(story)])
    assert result.exit_code == 0, result.output
    answer = runner.invoke(app, ["ask", "When does the ferry to Ischia leave?"])
    assert answer.exit_code == 0 and "leaves at noon" in answer.output


def test_escape_sequences_in_an_article_never_reach_the_terminal_in_ask(tmp_path: Path) -> None:
    """An article carrying OSC/CSI escapes (a window-title change, a screen clear, colours):
    `assistant ask`, a real process writing to a pipe, prints its text without them."""
    story = tmp_path / "evil.txt"
    story.write_bytes(
        b"Port news\x1b]0;pwned\x07\n\nThe ferry to Ischia\x1b[2J leaves at\x1b[31m noon\x1b[0m "
        b"every day.\xc2\x9b2J\n"  # the last: CSI as one C1 character
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_DATA_DIR"] = str(tmp_path / "data")
    for args in (["index", str(story)], ["ask", "When does the ferry to Ischia leave?"]):
        done = subprocess.run(
            [sys.executable, "-m", "assistant.cli", *args],
            capture_output=True,
            env=env,
            timeout=180,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")
    printed = done.stdout + done.stderr
    assert b"leaves at noon every day" in done.stdout
    assert b"\x1b" not in printed and b"\x07" not in printed and "\x9b".encode() not in printed
