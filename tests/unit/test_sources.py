"""Loading sources: every bad input gets one sentence that names the file (and line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.errors import DuplicateDocumentError, SourceError
from index.sources import document_from_bytes, load_default, load_sources, shipped_article_path


def test_shipped_article_is_the_default_and_kept_byte_exact() -> None:
    (doc,) = load_default()
    assert doc.id == "article"
    assert doc.text == shipped_article_path().read_bytes().decode("utf-8")
    assert doc.title.startswith("NATO Secretary General rejects")


def test_text_markdown_html_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Alpha sentence one. Alpha two.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Beta title\n\nBeta body.\n", encoding="utf-8")
    (tmp_path / "c.html").write_text(
        "<html><head><title>Gamma</title><script>evil()</script></head>"
        "<body><p>Gamma <b>bold</b> text.</p><p>Second para.</p></body></html>",
        encoding="utf-8",
    )
    (tmp_path / "d.jsonl").write_text(
        json.dumps({"id": "x1", "title": "X", "text": "Ex text.", "extra": 1})
        + "\n\n"
        + json.dumps({"id": "x2", "text": "Why text."})
        + "\n",
        encoding="utf-8",
    )
    docs = {d.id: d for d in load_sources([tmp_path]).documents}
    assert set(docs) == {"a", "b", "c", "x1", "x2"}
    assert docs["a"].text == "Alpha sentence one. Alpha two.\n"
    assert docs["b"].title == "Beta title"
    assert docs["c"].title == "Gamma"
    assert docs["c"].text == "Gamma bold text.\n\nSecond para.\n"
    assert "evil" not in docs["c"].text
    assert docs["x1"].title == "X" and docs["x2"].title == "Why text."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \n\t", "is empty"),
        (b"\x00\x01\x02binary", "looks binary"),
        (b"caf\xe9 latin-1", "not valid UTF-8"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message) as err:
        load_sources([path])
    assert str(path) in str(err.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"not found: .*nope\.txt"):
        load_sources([tmp_path / "nope.txt"])


def test_broken_jsonl_line_gives_the_line_number(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "1", "text": "ok."}\n{"id": "2", "text": \n', encoding="utf-8")
    with pytest.raises(SourceError, match=r"c.jsonl, line 2: not valid JSON"):
        load_sources([path])


def test_jsonl_line_without_text(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "1"}\n', encoding="utf-8")
    with pytest.raises(SourceError, match="line 1: 'text' is missing"):
        load_sources([path])


def test_duplicate_ids_name_both_places(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "1", "text": "a."}\n{"id": "1", "text": "b."}\n', encoding="utf-8")
    with pytest.raises(DuplicateDocumentError, match=r"c.jsonl:1 and .*c.jsonl:2"):
        load_sources([path])


def test_folder_skips_bad_files_with_a_named_warning(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Good text here.", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\x00\x00")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    result = load_sources([tmp_path])
    assert [d.id for d in result.documents] == ["good"]
    assert len(result.skipped) == 1 and "bad.txt" in result.skipped[0]


def test_upload_bytes() -> None:
    doc = document_from_bytes("story.md", b"# Title\n\nBody text.")
    assert doc.title == "Title" and doc.text == "# Title\n\nBody text."
    with pytest.raises(SourceError, match=r"not a \.txt, \.md or \.html"):
        document_from_bytes("x.pdf", b"%PDF")
    with pytest.raises(SourceError, match="looks binary"):
        document_from_bytes("x.txt", b"\x00\x01")


def test_line_endings_become_newlines_and_offsets_stay_exact(tmp_path: Path) -> None:
    from index.sentences import sentence_spans

    (tmp_path / "cr.txt").write_bytes(b"Title\r\rFirst line.\r\nSecond [x](http://y).\r")
    (doc,) = load_sources([tmp_path / "cr.txt"]).documents
    assert "\r" not in doc.text
    assert doc.text == "Title\n\nFirst line.\nSecond [x](http://y).\n"
    for s, e in sentence_spans(doc.text):
        assert doc.text[s:e].strip() == doc.text[s:e]


def test_names_that_slug_to_nothing_get_distinct_stable_ids(tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "北京.txt").write_text("Beijing story.", encoding="utf-8")
    (folder / "東京.txt").write_text("Tokyo story.", encoding="utf-8")
    (folder / "plain-name.txt").write_text("Plain story.", encoding="utf-8")
    (folder / "with space.txt").write_text("Spaced story.", encoding="utf-8")
    docs = load_sources([folder]).documents
    ids = {d.text: d.id for d in docs}
    assert len(set(ids.values())) == 4
    assert ids["Plain story."] == "plain-name"  # a clean name keeps its readable id
    assert ids["Spaced story."].startswith("with-space-")
    assert ids["Beijing story."].startswith("doc-") and ids["Tokyo story."].startswith("doc-")
    again = {d.text: d.id for d in load_sources([folder]).documents}
    assert again == ids  # stable: derived from the path, not the content or the order


def test_two_files_that_still_share_an_id_are_both_named(tmp_path: Path) -> None:
    """`a.txt` and `a.md` both make the readable id `a`: one sentence naming both files."""
    (tmp_path / "a.txt").write_text("Plain story.", encoding="utf-8")
    (tmp_path / "a.md").write_text("# Marked story", encoding="utf-8")
    with pytest.raises(DuplicateDocumentError) as err:
        load_sources([tmp_path])
    assert str(tmp_path / "a.txt") in str(err.value) and str(tmp_path / "a.md") in str(err.value)


NEWS_PAGE = Path(__file__).resolve().parent.parent / "data" / "news_page.html"
# the article as a reader sees it on the saved page: most of it sits in <div>s and a <table>
ARTICLE_PARAGRAPHS = [
    "Harbour town votes to rebuild its flooded sea wall",
    "The town council of Port Elwen voted on Tuesday night to rebuild the stretch of sea wall",
    "Councillors approved the plan by eleven votes to four after a meeting that ran for almost",
    "The new wall will be built from reinforced concrete rather than the Victorian stone blocks",
    "Work is due to start in early May and should be finished before the autumn storm season",
    "Every high tide since January has been a gamble for the families on Quay Street",
    "Not everyone was persuaded. Several shop owners on the promenade argued that the council",
    "Council borrowing over thirty years",
    "4.2 million pounds",
    "Regional resilience fund",
    "The council leader, Siân Pritchard, said the borrowing would add about eighteen pounds",
    "A public exhibition of the final design will open at the library on the first Saturday",
]
# what the page wraps around the article: navigation, banners, forms, scripts, the footer
FURNITURE = [
    "cookies",
    "Accept all",
    "Subscribe today",
    "Search the Courier",
    "Sign up to our daily newsletter",
    "Most read",
    "Ferry timetable changes",
    "All rights reserved",
    "Privacy policy",
    "trackPageView",
    "dataLayer",
    "cookie-banner",
]


def test_a_saved_news_page_keeps_all_its_article_text_and_none_of_the_furniture() -> None:
    """Text in <div>s and table cells is article text too; every article paragraph reaches a
    chunk (offsets exact), and nothing of the navigation, banners, forms or scripts does."""
    from index.chunking import ChunkSettings, chunk_document

    (doc,) = load_sources([NEWS_PAGE]).documents
    chunks = chunk_document(doc, ChunkSettings())
    assert all(c.text == doc.text[c.start : c.end] for c in chunks)
    for paragraph in ARTICLE_PARAGRAPHS:
        assert paragraph in doc.text, paragraph
        assert any(paragraph in c.text for c in chunks), paragraph
    for furniture in FURNITURE:
        assert furniture not in doc.text, furniture
    assert doc.title == "Harbour town votes to rebuild its flooded sea wall"  # the headline


def test_a_page_the_extractor_finds_too_little_in_falls_back_to_all_visible_text() -> None:
    """A page with no article-like block (a short notice laid out in a table) keeps every
    visible word of its body, furniture still stripped."""
    html = (
        "<html><head><title>Notice</title><script>track()</script></head><body>"
        "<nav><a href='/'>Home</a></nav>"
        "<table><tr><td>Road closed</td><td>Main Street, 9 to 5</td></tr></table>"
        "<div>Buses divert via Mill Lane.</div>"
        "<footer>All rights reserved</footer></body></html>"
    )
    doc = document_from_bytes("notice.html", html.encode())
    for text in ("Road closed", "Main Street, 9 to 5", "Buses divert via Mill Lane."):
        assert text in doc.text
    for furniture in ("Home", "track()", "All rights reserved"):
        assert furniture not in doc.text


def test_file_names_that_are_not_utf8_load_and_are_named_as_printable_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Linux file names are bytes: `\\xff.txt` is indexed like any other file, its source named
    `\\xff` as text (never a lone surrogate, which no UTF-8 log, JSON or terminal can write),
    and a bad file with such a name is skipped with a sentence naming it the same way."""
    import os

    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "good.txt").write_text("Good story\n\nThe mayor opened the bridge.", "utf-8")
    with open(os.path.join(os.fsencode(folder), b"\xff.txt"), "wb") as fh:
        fh.write(b"Odd name\n\nThe ferry leaves at noon.\n")
    with open(os.path.join(os.fsencode(folder), b"bad\xfe.txt"), "wb") as fh:
        fh.write(b"\x00\x01binary")
    result = load_sources([folder])
    by_text = {d.text: d for d in result.documents}
    odd = by_text["Odd name\n\nThe ferry leaves at noon.\n"]
    assert odd.source == str(folder / "\\xff.txt") and odd.id.startswith("doc-")
    assert len(by_text) == 2
    (skipped,) = result.skipped
    assert "bad\\xfe.txt" in skipped and "looks binary" in skipped
    for text in [skipped, *(d.source for d in result.documents), caplog.text]:
        text.encode("utf-8")  # strict: no lone surrogate anywhere
    with pytest.raises(SourceError, match=r"bad\\xfe\.txt looks binary") as err:
        load_sources([os.fsdecode(os.path.join(os.fsencode(folder), b"bad\xfe.txt"))])
    str(err.value).encode("utf-8")


def test_jsonl_with_an_escaped_lone_surrogate_names_the_line(tmp_path: Path) -> None:
    """`"\\udcff"` is valid JSON but no text: one sentence naming file and line, not a codec
    error naming nothing when the document is hashed."""
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "text": "ok"}\n{"id": "b", "text": "bad \\udcff"}\n', "utf-8")
    with pytest.raises(SourceError, match=r"c\.jsonl, line 2: holds an escaped lone surrogate"):
        load_sources([path])
