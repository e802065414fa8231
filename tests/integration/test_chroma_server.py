"""Indexing and asking through a real `chroma run` server selected by ASSISTANT_CHROMA_URL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.service import Assistant
from assistant.settings import load_settings
from tests.chroma_server import chroma_server

pytestmark = pytest.mark.server


def test_index_and_ask_through_a_chroma_server(tmp_path: Path, monkeypatch) -> None:
    with chroma_server(tmp_path / "server-data") as url:
        monkeypatch.setenv("ASSISTANT_CHROMA_URL", url)
        first = Assistant.open(load_settings(data_dir=tmp_path / "replica-1"))
        assert first.sync_report.rebuilt
        answer = first.ask("Where is NATO headquartered?")
        assert "NATO headquarters in Brussels" in answer.citations[0].quote
        # a second replica with its own (empty) data folder finds the shared index as is
        second = Assistant.open(load_settings(data_dir=tmp_path / "replica-2"))
        assert not second.sync_report.touched
        assert second.ask("Where is NATO headquartered?").citations[0].quote == (
            answer.citations[0].quote
        )
        # and the CLI, as a separate process, answers through the server too
        out = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "ask", "--json", "How long were the talks?"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            env={**__import__("os").environ, "ASSISTANT_DATA_DIR": str(tmp_path / "replica-3")},
        )
        assert out.returncode == 0, out.stderr
        assert "two-hour talks" in out.stdout
    assert not (tmp_path / "replica-3" / "chroma").exists(), "nothing was stored locally"


def _corpus(tmp_path: Path) -> Path:
    import json

    from index.sources import load_default

    docs = [
        {"id": "nato", "title": "NATO article", "text": load_default()[0].text},
        {
            "id": "bridge",
            "title": "Bridge opens",
            "text": "The mayor of Lyon opened the new Rhône bridge on Monday. It cost 40 million "
            "euros and took three years to build.",
        },
        {
            "id": "rain",
            "title": "Floods",
            "text": "Heavy rain flooded the valley for four days. About 2,000 people left home.",
        },
    ]
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    return path


def test_two_processes_ask_at_once_through_one_server(tmp_path: Path) -> None:
    import json
    import os

    corpus = _corpus(tmp_path)
    with chroma_server(tmp_path / "server-data") as url:
        envs = []
        for n in (1, 2):
            env = {
                **os.environ,
                "ASSISTANT_CHROMA_URL": url,
                "ASSISTANT_DATA_DIR": str(tmp_path / f"replica-{n}"),
            }
            done = subprocess.run(
                [sys.executable, "-m", "assistant.cli", "index", str(corpus)],
                capture_output=True,
                text=True,
                timeout=120,
                env=env,
                cwd=tmp_path,
            )
            assert done.returncode == 0, done.stderr
            envs.append(env)
        assert "3 document(s)" in done.stdout
        questions = [
            "How much did the bridge in Lyon cost?",
            "How long did the rain flood the valley?",
        ]
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "assistant.cli", "ask", "--json", q],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=tmp_path,
            )
            for q, env in zip(questions, envs, strict=True)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
        first, second = (json.loads(o) for o, _ in outs)
        assert first["citations"][0]["doc_id"] == "bridge"
        assert "40 million euros" in first["citations"][0]["quote"]
        assert first["citations"][0]["title"] == "Bridge opens"
        assert second["citations"][0]["doc_id"] == "rain"
        assert "four days" in second["citations"][0]["quote"]
        # --doc restricts a question to one document
        only = subprocess.run(
            [
                sys.executable,
                "-m",
                "assistant.cli",
                "ask",
                "--json",
                "--doc",
                "nato",
                "How much did it cost?",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=envs[0],
            cwd=tmp_path,
        )
        assert only.returncode == 0, only.stderr
        data = json.loads(only.stdout)
        assert {p["doc_id"] for p in data["passages"]} == {"nato"}
