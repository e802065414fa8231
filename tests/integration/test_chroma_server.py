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


def _replica_env(url: str, data_dir: Path) -> dict[str, str]:
    """The environment of a replica on its own machine: its own data folder, the shared server."""
    import os

    return {**os.environ, "ASSISTANT_CHROMA_URL": url, "ASSISTANT_DATA_DIR": str(data_dir)}


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

    corpus = _corpus(tmp_path)
    with chroma_server(tmp_path / "server-data") as url:
        envs = []
        for n in (1, 2):
            env = _replica_env(url, tmp_path / f"replica-{n}")
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


# -- replicas on different machines: each its own data folder, one server -------------------

RACER = """
import json, os, sys, time
from pathlib import Path
from assistant.service import Assistant  # the heavy imports, before the start line
from assistant.settings import load_settings

go, corpus, question = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
deadline = time.monotonic() + 120
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.005)
seen = []
opened = Assistant.open(
    load_settings(), sources=[corpus], progress=lambda stage, *_: seen.append(stage)
)
answer = opened.ask(question)
print(json.dumps({
    "rebuilt": opened.sync_report.rebuilt,
    "waited": [s for s in seen if s.startswith("waiting for")],
    "quote": answer.citations[0].quote if answer.citations else "",
}))
"""


def _collections(url: str) -> dict[str, dict]:
    import chromadb

    port = int(url.rsplit(":", 1)[1])
    client = chromadb.HttpClient(host="127.0.0.1", port=port)
    return {c.name: dict(c.metadata or {}) for c in client.list_collections()}


def test_two_replicas_racing_the_first_build_end_with_one_collection(tmp_path: Path) -> None:
    """Two processes on two "machines" (own data folders, so no shared folder lock) start the
    first build of one corpus at the same moment: one builds, the other waits and adopts it,
    nothing of the other's is deleted, and both answer."""
    import json

    corpus = Path(__file__).resolve().parents[2] / "evals" / "data" / "squad.corpus.jsonl"
    question = "What does a cappella mean in Italian?"
    go = tmp_path / "go"
    with chroma_server(tmp_path / "server-data") as url:
        procs = []
        for n in (1, 2):
            env = _replica_env(url, tmp_path / f"machine-{n}")
            cmd = [sys.executable, "-c", RACER, str(go), str(corpus), question]
            procs.append(
                subprocess.Popen(
                    cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
            )
        import time

        time.sleep(8)  # both have imported everything and wait at the start line (bounded)
        go.touch()
        outs = [p.communicate(timeout=300) for p in procs]
        for p, (_, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, err.decode(errors="replace")[-3000:]
        results = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outs]
        assert all("in the manner of the chapel" in r["quote"] for r in results), results
        assert sorted(r["rebuilt"] for r in results) == [False, True], results
        (waiter,) = [r for r in results if not r["rebuilt"]]
        assert waiter["waited"], "the second replica waited for the first one's build"
        names = _collections(url)
    complete = [n for n, m in names.items() if m.get("complete") and "-docs-" not in n]
    assert len(complete) == 1, names
    assert not [n for n in names if "-build-" in n], names


def _server_store(url: str, data_dir: Path, **kwargs):
    from index.store import StoreConfig, VectorStore

    return VectorStore(StoreConfig(data_dir=data_dir, chroma_url=url, **kwargs))


def test_a_build_in_progress_on_another_machine_is_never_dropped(tmp_path: Path) -> None:
    """Finishing a build drops leftovers only when their heartbeat is old: another replica's
    build of another corpus, alive right now, stays."""
    import time

    from index.index import Index
    from index.sources import load_default

    with chroma_server(tmp_path / "server-data") as url:
        store = _server_store(url, tmp_path / "a")
        name = store.config.collection_name
        alive = f"{name}-build-{'f' * 16}"
        dead = f"{name}-build-{'0' * 16}"
        for cname, beat in ((alive, time.time()), (dead, time.time() - 7200)):
            store.client.create_collection(
                cname,
                embedding_function=store.embedding_function,
                metadata={"complete": False, "owner": "elsewhere:7", "heartbeat": beat},
            )
        opened = Index.open(store.config, load_default())
        assert opened.sync_report.rebuilt
        names = _collections(url)
    assert alive in names, "a build in progress elsewhere was deleted"
    assert dead not in names, "a build whose heartbeat stopped an hour ago is cleaned up"


def test_a_build_whose_owner_died_is_taken_over(tmp_path: Path) -> None:
    """A claim on this corpus whose heartbeat never moves (its replica was killed) is waited
    for, named in the progress line, then taken over after ``stale_build_s``."""
    from index.index import Index
    from index.shared import claim_name
    from index.sources import load_default
    from index.store import corpus_hash

    docs = load_default()
    with chroma_server(tmp_path / "server-data") as url:
        store = _server_store(url, tmp_path / "a", stale_build_s=1.0)
        store.client.create_collection(
            claim_name(store.config.collection_name, corpus_hash(docs)),
            embedding_function=store.embedding_function,
            metadata={"complete": False, "owner": "killed-host:99", "heartbeat": 1.0},
        )
        seen: list[str] = []
        opened = Index.open(store.config, docs, progress=lambda s, *_: seen.append(s))
        assert opened.sync_report.rebuilt
        assert "waiting for killed-host:99 to finish building the index on the server" in seen
        assert opened.search("Where is NATO headquartered?", 4).dense
        assert not [n for n in _collections(url) if "-build-" in n]


def test_a_replica_without_sources_answers_from_the_server_alone(tmp_path: Path) -> None:
    """The documents live on the server beside the vectors: a replica on another machine with
    an empty data folder, and the indexing replica whose source file cannot be read (half
    saved) and whose kept copies are gone, both answer from the server, titles included."""
    import json

    corpus = _corpus(tmp_path)
    question = "How much did the bridge in Lyon cost?"
    with chroma_server(tmp_path / "server-data") as url:

        def run(machine: str, *args: str) -> subprocess.CompletedProcess[str]:
            env = _replica_env(url, tmp_path / machine)
            return subprocess.run(
                [sys.executable, "-m", "assistant.cli", *args],
                capture_output=True,
                text=True,
                timeout=180,
                env=env,
                cwd=tmp_path,
            )

        done = run("machine-1", "index", str(corpus))
        assert done.returncode == 0, done.stderr
        corpus.write_bytes(b"\x00\x01 half saved")
        (tmp_path / "machine-1" / "documents.jsonl").unlink()
        for machine in ("machine-2", "machine-1"):
            out = run(machine, "ask", "--json", question)
            assert out.returncode == 0, out.stderr
            cite = json.loads(out.stdout)["citations"][0]
            assert cite["doc_id"] == "bridge" and cite["title"] == "Bridge opens"
            assert "40 million euros" in cite["quote"]
        names = _collections(url)
    assert len([n for n in names if "-docs-" in n]) == 1, names
    assert not (tmp_path / "machine-2" / "chroma").exists()
