"""The command line, through typer's runner and as a real process with no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
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


def test_an_ask_after_the_indexed_file_was_deleted_says_so_and_keeps_the_index(
    tmp_path: Path,
) -> None:
    """Deleted means deleted: once the file `assistant index` was given is gone, asks get one
    sentence naming it (never answers from a copy of a deleted article), and nothing is lost:
    the file put back answers again, and indexing other sources moves on."""
    story = tmp_path / "bakery.txt"
    text = "Lisbon bakery wins prize\n\nThe bakery in Alfama sells 4,000 custard tarts every day.\n"
    story.write_text(text, encoding="utf-8")
    assert runner.invoke(app, ["index", str(story)]).exit_code == 0
    story.unlink()
    result = runner.invoke(app, ["ask", "--json", "How many tarts does the bakery sell a day?"])
    assert result.exit_code == 1
    assert f"{story} no longer exists" in result.output and "Traceback" not in result.output
    assert "4,000" not in result.output
    story.write_text(text, encoding="utf-8")  # put back (a folder remounted, a file restored)
    result = runner.invoke(app, ["ask", "--json", "How many tarts does the bakery sell a day?"])
    assert result.exit_code == 0, result.output
    assert "4,000 custard tarts" in json.loads(result.stdout)["citations"][0]["quote"]


def test_index_of_a_folder_whose_files_were_deleted_never_brings_them_back(
    tmp_path: Path,
) -> None:
    """A file deleted from an indexed folder leaves the index at the next run, and its copy
    leaves the copies kept beside the index; when the folder itself is then gone, asks say so
    in one sentence instead of answering from kept copies of deleted articles."""
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "bridge.txt").write_text("Bridge\n\nThe mayor opened the bridge.\n", "utf-8")
    (folder / "tarts.txt").write_text(
        "Bakery\n\nThe bakery in Alfama sells 4,000 custard tarts every day.\n", "utf-8"
    )
    assert runner.invoke(app, ["index", str(folder)]).exit_code == 0
    (folder / "tarts.txt").unlink()
    asked = runner.invoke(app, ["ask", "--json", "How many tarts does the bakery sell a day?"])
    assert asked.exit_code == 0, asked.output
    assert "4,000" not in asked.stdout  # gone with its file
    kept = (Path(os.environ["ASSISTANT_DATA_DIR"]) / "documents.jsonl").read_text("utf-8")
    assert "4,000" not in kept and "opened the bridge" in kept
    (folder / "bridge.txt").unlink()
    folder.rmdir()
    for args in (["ask", "How many tarts does the bakery sell a day?"], ["index"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output
        assert f"{folder} no longer exists" in result.output
        assert "4,000" not in result.output and "Traceback" not in result.output


def test_kept_documents_that_fail_their_checksum_are_not_used(tmp_path: Path) -> None:
    """A source that still exists but cannot be read right now (here: overwritten with binary
    bytes) is answered from the copies kept at the last index, unless they fail their
    checksum: then one sentence naming the file."""
    story = tmp_path / "bakery.txt"
    story.write_text("Bakery news\n\nThe bakery sells 4,000 tarts every day.\n", encoding="utf-8")
    assert runner.invoke(app, ["index", str(story)]).exit_code == 0
    story.write_bytes(b"\x00\x01 half-saved")
    result = runner.invoke(app, ["ask", "--json", "How many tarts does the bakery sell a day?"])
    assert result.exit_code == 0, result.output
    assert "4,000 tarts" in json.loads(result.stdout)["citations"][0]["quote"]
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


SECRET = "hunter2-SECRET-77"
BAD_URLS = [
    f"htp://user:{SECRET}@127.0.0.1:8080/v1",  # a typo in the scheme
    f"http://user:{SECRET}@[::1/v1",  # a bracket left open: not parsable at all
    f"http://user:{SECRET}/v1",  # the password where the port would be
    f"htp://127.0.0.1:8080/v1?key={SECRET}",  # a key as a query value
    f"{SECRET}@127.0.0.1/v1?api_key={SECRET}&x=1",  # no scheme at all
]


@pytest.mark.parametrize("url", BAD_URLS)
@pytest.mark.parametrize("command", [["config"], ["config", "--json"], ["ask", "Where?"]])
def test_a_bad_url_in_env_is_one_sentence_without_its_secret(
    tmp_path: Path, url: str, command: list[str]
) -> None:
    """A malformed base URL (from .env) gets one sentence naming it, its password and query
    values masked: the secret is printed nowhere."""
    (tmp_path / ".env").write_text(f"ASSISTANT_LLM_BASE_URL={url}\n", encoding="utf-8")
    result = runner.invoke(app, command)
    assert result.exit_code == 1
    assert "Setting llm_base_url is invalid" in result.stderr
    assert "URL" in result.stderr and "Traceback" not in result.output
    assert SECRET not in result.stdout + result.stderr


def test_a_good_url_with_secrets_is_shown_masked(tmp_path: Path) -> None:
    from tests.chroma_server import free_port

    url = f"http://user:{SECRET}@127.0.0.1:{free_port()}/v1?key={SECRET}"
    (tmp_path / ".env").write_text(
        f"ASSISTANT_LLM_BASE_URL={url}\nASSISTANT_CHROMA_URL={url.removesuffix('/v1')}\n",
        encoding="utf-8",
    )
    for command in (["config"], ["config", "--check"], ["ask", "Where?"]):
        result = runner.invoke(app, command)
        assert SECRET not in result.stdout + result.stderr, command
        assert "Traceback" not in result.output
    shown = runner.invoke(app, ["config", "--json"])
    assert json.loads(shown.stdout)["llm_base_url"].endswith("@") is False
    assert "127.0.0.1" in json.loads(shown.stdout)["llm_base_url"]
    asked = runner.invoke(app, ["ask", "Where?"])
    assert asked.exit_code == 1 and "No Chroma server answers at http://127.0.0.1:" in asked.stderr


@pytest.fixture
def calibration_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The calibration file the settings read, moved to a temp path the test writes."""
    import assistant.settings as settings_module

    path = tmp_path / "calibration.json"
    monkeypatch.setattr(settings_module, "CALIBRATION_FILE", path)
    settings_module.calibrated_defaults.cache_clear()
    yield path
    settings_module.calibrated_defaults.cache_clear()


@pytest.mark.parametrize(
    "content",
    [
        '{\n  "decline_threshold": 0.',  # cut off mid-write
        "",
        "[0.58]",
        '{"decline_threshold": "high"}',
        '{"decline_threshold": 7}',
        '{"decline_threshold": true}',
        '{"chosen_by": "assistant eval calibrate"}',
    ],
)
def test_a_damaged_calibration_file_is_one_sentence(calibration_file: Path, content: str) -> None:
    """A damaged calibration file stops every command with one sentence naming it and the way
    out, instead of silently answering with another decline threshold."""
    calibration_file.write_text(content, encoding="utf-8")
    for command in (["config"], ["ask", "Where is NATO headquartered?"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, result.output
        assert str(calibration_file) in result.stderr and "Traceback" not in result.output
        assert "ASSISTANT_DECLINE_THRESHOLD" in result.stderr


def test_a_threshold_set_by_hand_needs_no_calibration_file(
    calibration_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calibration_file.write_text('{"decline_threshold": 0.', encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_DECLINE_THRESHOLD", "0.5")
    result = runner.invoke(app, ["config", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["decline_threshold"] == 0.5


def test_a_missing_calibration_file_means_the_built_in_threshold(calibration_file: Path) -> None:
    from assistant.settings import DEFAULT_DECLINE_THRESHOLD

    result = runner.invoke(app, ["config", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["decline_threshold"] == DEFAULT_DECLINE_THRESHOLD


def test_bidi_overrides_in_an_article_are_shown_as_markers_and_kept_in_the_data(
    tmp_path: Path,
) -> None:
    """An article that hides reversed text behind a right-to-left override: `ask` prints a
    visible marker where the override stands, while `ask --json` keeps the quote exact."""
    story = tmp_path / "spoof.txt"
    story.write_text(
        "Fund news\n\nThe fund pays a fee of \u202e0001$\u202c to every member each year.\n",
        encoding="utf-8",
    )
    assert runner.invoke(app, ["index", str(story)]).exit_code == 0
    shown = runner.invoke(app, ["ask", "What fee does the fund pay to every member?"])
    assert shown.exit_code == 0, shown.output
    assert "\u202e" not in shown.output and "\u202c" not in shown.output
    assert "fee of <U+202E>0001$<U+202C> to every member" in shown.stdout
    data = json.loads(runner.invoke(app, ["ask", "--json", "What fee does the fund pay?"]).stdout)
    c = data["citations"][0]
    text = story.read_text(encoding="utf-8")
    assert "\u202e0001$\u202c" in c["quote"] and text[c["start"] : c["end"]] == c["quote"]


def test_index_of_a_saved_news_page_answers_from_its_div_text(tmp_path: Path) -> None:
    """A browser-saved page keeps its article in <div>s: `assistant index page.html` indexes
    that text, so a question about it is answered from it, quoted."""
    page = Path(__file__).resolve().parent.parent / "data" / "news_page.html"
    result = runner.invoke(app, ["index", str(page)])
    assert result.exit_code == 0, result.output
    asked = runner.invoke(app, ["ask", "--json", "Where will the public exhibition open?"])
    assert asked.exit_code == 0, asked.output
    data = json.loads(asked.stdout)
    assert data["grounded"] and "exhibition" in data["citations"][0]["quote"]
    assert "library" in data["citations"][0]["quote"]


def test_index_of_a_folder_with_file_names_that_are_not_utf8(tmp_path: Path) -> None:
    """A folder holding `\\xff.txt` (a valid Linux name, not UTF-8) and a binary `bad\\xfe.txt`:
    a real `assistant index` indexes the rest, keeps the build (the next ask answers from it)
    and never prints a traceback or a codec error; the skipped file is named as printable text
    in the log."""
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "good.txt").write_text("Bridge news\n\nThe mayor opened the bridge.\n", "utf-8")
    with open(os.path.join(os.fsencode(folder), b"\xff.txt"), "wb") as fh:
        fh.write(b"Ferry news\n\nThe ferry to Ischia leaves at noon every day.\n")
    with open(os.path.join(os.fsencode(folder), b"bad\xfe.txt"), "wb") as fh:
        fh.write(b"\x00\x01binary")
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_DATA_DIR"] = str(data_dir)

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "assistant.cli", *args],
            capture_output=True,
            env=env,
            timeout=180,
            cwd=tmp_path,
        )

    done = run("index", str(folder))
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"2 document(s)" in done.stdout
    assert b"Traceback" not in done.stderr and b"codec" not in done.stderr
    log = (data_dir / "assistant.log").read_text("utf-8")
    assert "bad\\xfe.txt" in log and "Logging error" not in log
    asked = run("ask", "--json", "When does the ferry to Ischia leave?")
    assert asked.returncode == 0, asked.stderr.decode(errors="replace")
    cite = json.loads(asked.stdout)["citations"][0]
    assert "leaves at noon" in cite["quote"] and cite["doc_id"].startswith("doc-")
