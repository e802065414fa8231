"""Many processes on one data folder: nothing breaks, nothing is trusted that should not be."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from assistant.service import Assistant
from assistant.settings import load_settings
from index.sources import load_default
from index.types import Document

ARTICLE = load_default()[0]


def test_eight_asks_at_once_on_a_fresh_folder_all_answer(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_DATA_DIR"] = str(tmp_path / "data")
    cmd = [sys.executable, "-m", "assistant.cli", "ask", "--json", "Where is NATO headquartered?"]
    procs = [
        subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(8)
    ]
    results = [(*p.communicate(timeout=300), p.returncode) for p in procs]
    for out, errs, code in results:
        assert code == 0, errs.decode(errors="replace")
        answer = json.loads(out)
        assert answer["grounded"] and "Brussels" in answer["citations"][0]["quote"]
    assert not list((tmp_path / "data" / "chroma").glob(".write-test*"))


def test_a_bm25_cache_of_another_corpus_is_not_trusted(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    Assistant.open(settings)  # builds the shipped article's index and its BM25 cache
    (cache,) = [p for p in (tmp_path / "data" / "lexical").iterdir() if not p.name.startswith(".")]
    meta = json.loads((cache / "meta.json").read_text())
    # valid JSON, consistent, but indexing other chunk ids (another corpus's cache)
    other = Document(id="other", title="Other", text="Bananas are yellow.", source="x")
    meta |= {"ids": ["other:0-19:0"], "doc_ids": [other.id], "n": 1, "fingerprint": "x:y"}
    (cache / "meta.json").write_text(json.dumps(meta))
    reopened = Assistant.open(settings)
    answer = reopened.ask("Where is the alliance headquartered?")
    assert answer.grounded and "Brussels" in answer.citations[0].quote
    assert any(p.lexical is not None for p in answer.passages)  # BM25 rebuilt, searching again
    rebuilt = json.loads((cache / "meta.json").read_text())
    assert rebuilt["fingerprint"] != "x:y" and len(rebuilt["ids"]) > 1


def test_a_second_opener_waits_and_names_the_holder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "index.lock.holder").write_text("4242\n")
    # another process holds the folder's lock until its stdin closes
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from filelock import FileLock; "
            f"lock = FileLock({str(data / 'index.lock')!r}); lock.acquire(); "
            "print('held', flush=True); sys.stdin.read(); lock.release()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        seen: list[str] = []

        def progress(stage: str, _done: int, _total: int) -> None:
            seen.append(stage)
            if holder.stdin and not holder.stdin.closed:
                holder.stdin.close()  # the opener is waiting: let the holder finish

        opened = Assistant.open(load_settings(data_dir=data), progress=progress)
        assert seen[0] == "waiting for process 4242 to finish with the index"
        assert opened.ask("Where is NATO headquartered?").grounded
    finally:
        holder.kill()
        holder.wait(timeout=10)


def _bm25_cache(data: Path) -> Path:
    (cache,) = [p for p in (data / "lexical").iterdir() if not p.name.startswith(".")]
    return cache


def test_a_bm25_cache_with_the_right_fingerprint_but_other_content_is_not_trusted(
    tmp_path: Path,
) -> None:
    """The fingerprint says what a cache indexes; a checksum says its content is still that:
    ids rotated (valid, consistent, the right fingerprint) would point every BM25 hit at the
    wrong chunk."""
    settings = load_settings(data_dir=tmp_path / "data")
    first = Assistant.open(settings)
    ids = list(first.index.lexical.ids)
    assert len(ids) > 2
    cache = _bm25_cache(tmp_path / "data")
    meta = json.loads((cache / "meta.json").read_text())
    meta["ids"] = meta["ids"][1:] + meta["ids"][:1]
    (cache / "meta.json").write_text(json.dumps(meta))
    reopened = Assistant.open(settings)
    assert reopened.index.lexical.ids == ids


def test_a_damaged_bm25_model_file_is_not_trusted(tmp_path: Path) -> None:
    """Bytes of the saved BM25 matrix changed in place (the file still loads): scores would be
    silently wrong, so the cache is rebuilt."""
    settings = load_settings(data_dir=tmp_path / "data")
    first = Assistant.open(settings)
    query = ["nato", "headquart"]
    want = first.index.lexical.search(query, 5)
    (data,) = (_bm25_cache(tmp_path / "data") / "bm25").glob("data*.npy")
    np.save(data, np.load(data) * 3)  # every score tripled, the file as valid as before
    assert Assistant.open(settings).index.lexical.search(query, 5) == want
