"""The index keeps itself in step with the corpus and survives damage, on real Chroma."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import IndexUnavailableError
from assistant.service import Assistant
from assistant.settings import load_settings
from index.sources import shipped_article_path


def _article_copy(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "article.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(shipped_article_path().read_bytes())
    return path


def test_second_open_reuses_the_index(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d")
    first = Assistant.open(settings)
    assert first.sync_report.rebuilt and first.sync_report.chunks_written > 0
    second = Assistant.open(settings)
    assert not second.sync_report.touched and second.sync_report.chunks_written == 0
    assert second.ask("Where is NATO headquartered?").grounded


def test_changed_article_rebuilds_by_itself(tmp_path: Path) -> None:
    src = _article_copy(tmp_path)
    settings = load_settings(data_dir=tmp_path / "d")
    assert (
        "Brussels"
        in Assistant.open(settings, sources=[src])
        .ask("Where are NATO headquarters?")
        .citations[0]
        .quote
    )
    src.write_text(src.read_text(encoding="utf-8").replace("Brussels", "Lisbon"), encoding="utf-8")
    again = Assistant.open(settings, sources=[src])
    assert again.sync_report.changed == ["article"]
    quote = again.ask("Where are NATO headquarters?").citations[0].quote
    assert "Lisbon" in quote and "Brussels" not in quote


def test_settings_change_uses_a_fresh_collection(tmp_path: Path) -> None:
    a = Assistant.open(load_settings(data_dir=tmp_path / "d", chunk_size=480))
    b = Assistant.open(load_settings(data_dir=tmp_path / "d", chunk_size=200))
    assert a.index.config.collection_name != b.index.config.collection_name
    assert b.sync_report.rebuilt
    assert max(len(c.text) for c in b.index.all_chunks()) <= 200
    assert max(len(c.text) for c in a.index.all_chunks()) > 200


def test_corrupted_index_folder_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    data = tmp_path / "d"
    Assistant.open(load_settings(data_dir=data))
    chroma = data / "chroma"
    for f in chroma.rglob("*"):
        if f.is_file():
            f.write_bytes(b"garbage" * 100)
    (data / next(p.name for p in data.glob("manifest-*.json"))).write_text("{not json")
    again = Assistant.open(load_settings(data_dir=data))
    assert again.ask("Where is NATO headquartered?").grounded
    kept = list(data.glob("chroma.corrupt-*"))
    assert kept, "the damaged folder is kept aside, never deleted"


def test_garbage_file_where_the_index_folder_should_be(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    (data / "chroma").write_text("not a folder")
    with pytest.raises(IndexUnavailableError, match="not writable"):
        Assistant.open(load_settings(data_dir=data))


def test_chroma_url_pointing_at_nothing(tmp_path: Path) -> None:
    from tests.chroma_server import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(IndexUnavailableError, match=f"No Chroma server answers at {url}"):
        Assistant.open(load_settings(data_dir=tmp_path / "d", chroma_url=url))


def test_reading_everything_back_goes_in_pages(tmp_path: Path, monkeypatch) -> None:
    """One get of every record fails on embedded Chroma above 32,766 records; pages do not."""
    import index.store as store_module

    monkeypatch.setattr(store_module, "GET_PAGE", 3)
    assistant = Assistant.open(load_settings(data_dir=tmp_path / "d", chunk_size=200))
    chunks = assistant.index.all_chunks()
    assert len(chunks) == assistant.index.store.collection.count() > 3
    assert len({c.id for c in chunks}) == len(chunks)
    text = assistant.documents["article"].text
    assert all(text[c.start : c.end] == c.text for c in chunks)
    hashes = assistant.index.store._stored_doc_hashes(assistant.index.store.collection)
    assert hashes == {"article": assistant.documents["article"].content_hash}


def test_lexical_index_holds_exactly_the_collections_chunks(tmp_path: Path) -> None:
    assistant = Assistant.open(load_settings(data_dir=tmp_path / "d"))
    assert sorted(assistant.index.lexical.ids) == sorted(c.id for c in assistant.index.all_chunks())


def _two_articles(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "src"
    folder.mkdir(parents=True, exist_ok=True)
    a, b = folder / "bridge.txt", folder / "rain.txt"
    a.write_text("Bridge opens\n\nThe mayor of Lyon opened the new bridge on Monday.\n")
    b.write_text("Floods\n\nHeavy rain flooded the valley for four days.\n")
    return a, b


def _tamper_manifest(data: Path, change, *, reseal: bool) -> None:
    """Edit the manifest as valid JSON; ``reseal`` recomputes its checksum (if it has one), as
    a manifest copied from elsewhere and hand-edited would be consistent with itself."""
    import hashlib
    import json

    (path,) = data.glob("manifest-*.json")
    manifest = json.loads(path.read_text())
    change(manifest)
    if reseal and "checksum" in manifest:
        body = {k: v for k, v in manifest.items() if k != "checksum"}
        text = json.dumps(body, sort_keys=True, ensure_ascii=False)
        manifest["checksum"] = hashlib.sha256(text.encode()).hexdigest()
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize("reseal", [False, True], ids=["damaged", "another-corpus"])
def test_a_manifest_that_disagrees_with_its_corpus_is_not_trusted(
    tmp_path: Path, reseal: bool
) -> None:
    """A manifest that is valid JSON but whose document list is not the corpus it claims (its
    own content damaged, or the list of another corpus under this corpus's hash) must not
    steer the next sync: trusted, it makes an edited article look unchanged and keeps the old
    article's chunks."""
    import hashlib

    from index.chunking import chunk_document

    bridge, rain = _two_articles(tmp_path)
    data = tmp_path / "d"
    settings = load_settings(data_dir=data)
    Assistant.open(settings, sources=[bridge, rain])
    edited = bridge.read_text().replace("on Monday", "on a rainy Monday, after years of delay")
    new_hash = hashlib.sha256(edited.encode()).hexdigest()

    def claim_bridge_is_already_edited(manifest: dict) -> None:
        manifest["documents"]["bridge"]["hash"] = new_hash

    _tamper_manifest(data, claim_bridge_is_already_edited, reseal=reseal)
    bridge.write_text(edited)
    again = Assistant.open(settings, sources=[bridge, rain])
    assert again.sync_report.rebuilt or "bridge" in again.sync_report.changed
    settings_now = again.index.config.chunking
    expected = {c.id for d in again.documents.values() for c in chunk_document(d, settings_now)}
    assert set(again.index.store.ids()) == expected == set(again.index.lexical.ids)
    quote = again.ask("When did the mayor of Lyon open the bridge?").citations[0].quote
    assert "after years of delay" in quote


def test_an_intact_manifest_is_trusted_and_a_damaged_one_rebuilds(tmp_path: Path) -> None:
    data = tmp_path / "d"
    settings = load_settings(data_dir=data)
    Assistant.open(settings)
    assert not Assistant.open(settings).sync_report.touched  # the checksum agrees

    def other_sources(manifest: dict) -> None:
        manifest["sources"] = ["/somewhere/else.txt"]

    _tamper_manifest(data, other_sources, reseal=False)
    assert Assistant.open(settings).sync_report.rebuilt
    assert not Assistant.open(settings).sync_report.touched  # and it was written again


def test_searches_while_another_thread_replaces_the_corpus_never_fail(tmp_path: Path) -> None:
    """An open index searched while the same folder's corpus is replaced and put back, in
    place and by full rebuilds (embedded Chroma, real threads): every search answers, from
    the corpus it was opened with (its own chunks only, never another corpus's), never with
    an error. Bounded: 6 replacements, at most 60 s or 2,000 searches."""
    import threading
    import time

    from index.index import Index, StoreConfig
    from index.sources import load_default
    from index.types import Document

    config = StoreConfig(data_dir=tmp_path / "d")
    article = load_default()
    other = [
        Document(
            id=f"ferry-{i}",
            title=f"Ferry {i}",
            text=f"Ferry {i}.\n\n" + "The ferry to the island leaves at noon every day. " * 40,
            source="ferries",
        )
        for i in range(40)
    ]
    reader = Index.open(config, article)
    own = set(reader.lexical.ids)
    done = threading.Event()
    writer_errors: list[BaseException] = []

    def replace_and_restore() -> None:
        try:
            for i in range(6):
                if i >= 3:  # a manifest that no longer agrees: full builds, renamed into place
                    for manifest in config.data_dir.glob("manifest-*.json"):
                        manifest.unlink()
                Index.open(config, other if i % 2 == 0 else article)
        except BaseException as exc:  # pragma: no cover - reported below
            writer_errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=replace_and_restore)
    writer.start()
    failures: list[str] = []
    searches = 0
    deadline = time.monotonic() + 60
    while not done.is_set() and searches < 2000 and time.monotonic() < deadline:
        try:
            hits = reader.search("Where is NATO headquartered?", 8)
            chunks = reader.chunks([i for i, _ in hits.dense + hits.lexical])
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
        else:
            assert chunks, "a search found nothing at all"
            assert {c.id for c in chunks} <= own  # the reader's corpus, never the other
        searches += 1
        time.sleep(0.002)  # leave the writer some CPU
    writer.join(timeout=120)
    assert not writer.is_alive() and not writer_errors, writer_errors
    assert searches > 10, searches
    assert not failures, f"{len(failures)} of {searches} searches failed: {failures[:3]}"
    after = reader.search("Where is NATO headquartered?", 8)  # the article is back in place
    assert after.dense and {i for i, _ in after.dense} <= own
