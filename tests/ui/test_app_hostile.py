"""The page under hostile input: text that spoofs its direction, and articles too long to send
whole to the browser. Real assistant, real page (AppTest), as in ``test_app.py``."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from assistant.conversation import (
    unescape_markdown,
)
from tests.ui.test_app import ARTICLE, ask, html_bodies, last_answer, paste_article, quotes, texts

SPOOF = """Fund news

The fund pays a fee of \u202e0001$\u202c to every member each year.

Members meet in the \u2066hall\u2069 every spring.
"""
HIDDEN = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u200b\ufeff")


def test_bidi_overrides_are_visible_markers_on_the_page(app: AppTest) -> None:
    """Text that reads reversed behind a right-to-left override shows the override as a marker
    in the title, the answer, its card and the article view; the stored citation stays the
    article's exact characters."""
    paste_article(app, SPOOF)
    ask(app, "What fee does the fund pay to every member?")
    answer = last_answer(app)
    bodies = [b for m in app.chat_message for b in texts(m) + html_bodies(m)]
    bodies += [b for m in app.chat_message for e in m.expander for b in html_bodies(e)]
    bodies += [c.value for c in app.caption] + [h.value for h in app.header]
    assert bodies and not any(HIDDEN & set(body) for body in bodies)
    assert any("fee of <U+202E>0001$<U+202C> to every member" in q for q in quotes(answer))
    stored = app.session_state["messages"][-1]["answer"]
    doc = app.session_state["corpus"][0]
    for c in stored.citations:
        assert doc.text[c.start : c.end] == c.quote
    assert any("\u202e0001$\u202c" in c.quote for c in stored.citations)


def test_highlight_html_reveals_bidi_overrides_and_keeps_spans() -> None:
    text = "Pay \u202e0001$\u202c now."
    from ui.formatting import Span, highlight_html

    body = highlight_html(text, [Span(4, 11, 1)])
    assert not HIDDEN & set(body)
    assert "<mark" in body and "&lt;U+202E&gt;0001$&lt;U+202C&gt;</mark>" in body


def long_article(paragraphs: int = 4000) -> str:
    """A made-up log of ~330,000 characters with one fact in its middle."""
    lines = [
        f"Harbour log {i}: the ferry number {i} left dock {i % 40} with {i * 7 % 900} passengers."
        for i in range(paragraphs)
    ]
    lines.insert(paragraphs // 2, "The lighthouse keeper, Ana Silva, counted 4,321 gulls.")
    return "Port diary\n\n" + "\n\n".join(lines) + "\n"


def sent_bodies(at: AppTest) -> list[str]:
    """Every Markdown and HTML body the page sends, wherever it stands."""
    return [m.value for m in at.markdown] + [c.value for c in at.caption]


def reading_view(at: AppTest) -> str:
    """The article read on demand: the HTML body outside the chat."""
    in_chat = {b for m in at.chat_message for b in html_bodies(m)}
    in_chat |= {b for m in at.chat_message for e in m.expander for b in html_bodies(e)}
    (body,) = [b for b in html_bodies(at) if b not in in_chat]
    return body


def test_a_long_article_is_never_sent_whole(app: AppTest) -> None:
    """An article of 330,000 characters: no run sends it whole (not in the header, not under
    each answer); an answer shows the quote marked amid its neighbouring paragraphs, and the
    article is read on demand, a bounded page at a time."""
    text = long_article()
    paste_article(app, text)
    assert sum(map(len, sent_bodies(app))) < len(text) // 4
    ask(app, "How many gulls did the lighthouse keeper count?")
    ask(app, "Which ferry left dock 3?")
    assert sum(map(len, sent_bodies(app))) < len(text) // 4
    first = next(m for m in app.chat_message if m.name == "assistant")
    [view] = [e for e in first.expander if "article" in e.label]
    (body,) = html_bodies(view)
    assert re.search(r"<mark[^>]*>The lighthouse keeper, Ana Silva, counted 4,321 gulls\.", body)
    assert "Harbour log 1999:" in body and "Harbour log 2001:" in body  # its neighbours
    assert any("paragraphs" in c.value and "of 4002" in c.value for c in view.caption)
    # the whole article, on demand and a page at a time
    app.toggle(key="read_article").set_value(True).run()
    assert not app.exception
    pages = [n for n in app.number_input if n.key.startswith("article_page")]
    assert len(pages) == 1 and pages[0].max > 1
    assert "Harbour log 0:" in reading_view(app)
    pages[0].set_value(pages[0].max).run()
    assert "Harbour log 3999:" in reading_view(app) and "Harbour log 0:" not in reading_view(app)
    assert sum(map(len, sent_bodies(app))) < len(text) // 4


def test_an_article_over_the_size_limit_gets_one_sentence(app: AppTest) -> None:
    """The page takes articles up to 2 MB: a larger upload or paste is refused with one
    sentence saying the limit and the way to index it anyway, and nothing is indexed."""
    big = ("Harbour log: the ferry left dock four with nine passengers.\n\n" * 40_000).encode()
    assert len(big) > 2 * 1024 * 1024
    app.file_uploader(key="upload").set_value(("huge.txt", big, "text/plain")).run()
    assert not app.exception
    (error,) = app.error
    message = unescape_markdown(error.value)
    assert "huge.txt" in message and "2 MB" in message and "assistant index" in message
    assert "\n" not in message and message.endswith(".")
    assert unescape_markdown(app.header[0].value) == ARTICLE.title
    app.file_uploader(key="upload").clear().run()
    app.text_area(key="paste_text").input(big.decode())
    app.button(key="use_paste").click().run()
    assert not app.exception
    assert any("2 MB" in unescape_markdown(e.value) for e in app.error)
    assert unescape_markdown(app.header[0].value) == ARTICLE.title
