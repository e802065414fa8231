"""Files written whole: readers never see half a file, writers never share a temporary name."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from index.files import write_whole


def test_writers_at_once_leave_one_whole_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    texts = [str(i) * 200_000 for i in range(10)]

    def write_then_read(text: str) -> str:
        write_whole(path, text)
        return path.read_text(encoding="utf-8")

    with ThreadPoolExecutor(max_workers=10) as pool:
        seen = list(pool.map(write_then_read, texts * 3, timeout=60))
    assert all(s in texts for s in seen)  # whole, never half of one and half of another
    assert path.read_text(encoding="utf-8") in texts
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_printable_names_undecodable_bytes_as_escapes_and_keeps_the_rest() -> None:
    import os

    from index.files import printable

    assert printable(Path(os.fsdecode(b"/news/caf\xe9 \xff.txt"))) == "/news/caf\\xe9 \\xff.txt"
    assert printable("/news/北京.txt") == "/news/北京.txt"  # valid UTF-8 stays as it is
    assert printable("plain.txt") == "plain.txt"
