"""The page's pure helpers: Markdown and HTML escaping, paragraph numbers, the short answer's
place in its quote, citation cards' labels, feedback records and exports. No page runs here;
the page itself is tested in test_app.py."""

from __future__ import annotations

import html
import json
import re

import pytest

from assistant.conversation import (
    ArticleRef,
    Exchange,
    escape_markdown,
    export_json,
    export_markdown,
    feedback_record,
    guess_answerable,
    paragraph_number,
    paragraph_spans,
    unescape_markdown,
)
from assistant.types import Answer, Citation, RemovedClaim, ShortAnswer, Turn
from index.sources import load_default
from ui.formatting import (
    Span,
    answer_markdown,
    blockquote,
    highlight_html,
    short_answer_markdown,
    short_span_in,
    where_label,
)

ARTICLE = load_default()[0]
NATO_QUOTE = "NATO’s relationship with Ukraine will be decided by 30 NATO allies and Ukraine"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<script>alert(1)</script>", r"\<script\>alert\(1\)\</script\>"),
        ("[click](http://evil)", r"\[click\]\(http\://evil\)"),
        ("![img](x.png)", r"\!\[img\]\(x\.png\)"),
        ("**bold** and _it_", r"\*\*bold\*\* and \_it\_"),
        ("# heading", r"\# heading"),
        ("1. item", r"1\. item"),
        ("- item", r"\- item"),
        ("costs $2 and $3", r"costs \$2 and \$3"),
        (":red[colour] :smile:", r"\:red\[colour\] \:smile\:"),
        ("&lt;b&gt;", r"\&lt;b\&gt;"),
        ("`code`", r"\`code\`"),
        ("a | b ~~c~~", r"a \| b \~\~c\~\~"),
    ],
)
def test_escape_markdown_leaves_no_markup(raw: str, escaped: str) -> None:
    """Every character Markdown could act on is backslash-escaped; nothing else changes."""
    assert escape_markdown(raw) == escaped
    assert unescape_markdown(escaped) == raw


def test_escape_markdown_keeps_quotes_and_guillemets() -> None:
    text = "«NATO’s relationship» ‘x’ “y”"
    assert escape_markdown(text) == text


def test_escape_markdown_drops_code_block_indentation() -> None:
    assert escape_markdown("    indented\n\tline") == "indented\nline"


def test_paragraph_numbers_follow_blank_lines() -> None:
    text = "Title\n\nFirst para\nstill first.\n  \n\nSecond.\n\n\nThird.\n"
    spans = paragraph_spans(text)
    assert [text[a:b] for a, b in spans] == [
        "Title",
        "First para\nstill first.",
        "Second.",
        "Third.",
    ]
    assert paragraph_number(text, 0) == 1
    assert paragraph_number(text, text.index("still")) == 2
    assert paragraph_number(text, text.index("Third")) == 4
    start = ARTICLE.text.index("«NATO’s relationship")
    assert paragraph_number(ARTICLE.text, start) == 3
    assert (
        where_label(ARTICLE.text, start) == f"paragraph 3 of {len(paragraph_spans(ARTICLE.text))}"
    )
    assert where_label(text, 0, text.index("Second") + 3) == "paragraphs 1–3 of 4"


def test_highlight_html_escapes_text_and_marks_spans() -> None:
    text = "A <b>x</b> & [l](http://e).\n\nSecond <script>alert(1)</script> para.\nline two"
    start = text.index("Second")
    out = highlight_html(text, [Span(start, start + 40, 2), Span(0, 3, 1)])
    assert "\n" not in out  # one raw HTML block: Markdown never sees the article text
    assert "<script>" not in out and "<b>" not in out
    assert "&lt;script&gt;alert&#40;1&#41;&lt;/script&gt;" in out
    # Markdown's characters are entities too: inert even if the HTML block ended early
    assert "](" not in out and "[l](http://e)" in html.unescape(out)
    marked = re.findall(r"<mark[^>]*>(.*?)</mark>", out)
    assert marked[0] == "A &lt;"
    assert html.unescape(marked[1].replace("<br>", "\n")) == text[start : start + 40]
    assert out.count("<p ") == 2 and out.endswith("ine two</p></div>")


def test_cr_only_line_endings_cannot_end_the_html_block() -> None:
    text = "T\r\rClick [here](http://x/p) ![i](http://x/i.png)\r"
    out = highlight_html(text, [])
    assert "\r" not in out and "\n" not in out
    assert "](" not in out and "![" not in out
    assert "Click [here](http://x/p)" in html.unescape(out)


def test_highlight_html_marks_a_span_across_paragraphs_in_each() -> None:
    text = "One two.\n\nThree four."
    out = highlight_html(text, [Span(4, 15, 1)])
    assert re.findall(r"<mark[^>]*>(.*?)</mark>", out) == ["two.", "Three"]
    assert out.count("[1]</sup>") == 1


def test_answer_markdown_escapes_and_styles_known_markers() -> None:
    cite = Citation(n=1, doc_id="d", chunk_id="c", start=0, end=5, quote="<a>x")
    answer = Answer(text="“<a>x” [1] and [7] *no*", citations=[cite], grounded=True, mode="llm")
    md = answer_markdown(answer)
    assert ":blue[**\\[1\\]**]" in md
    assert "\\[7\\]" in md and "\\<a\\>" in md and "\\*no\\*" in md


def test_blockquote_quotes_every_line() -> None:
    assert blockquote("a [x](y)\n\nb") == "> a \\[x\\]\\(y\\)  \n>\n> b  "


def test_blockquote_marks_the_short_answer_bold_and_still_escapes() -> None:
    assert blockquote("a *b* c", (2, 5)) == "> a **\\*b\\*** c  "
    assert blockquote("a b c", (1, 4)) == "> a **b** c  "  # spaces stay outside the bold
    assert blockquote("a b", (5, 9)) == "> a b  "  # a mark outside the text is ignored


def test_short_answer_heads_an_extractive_answer_only() -> None:
    cite = Citation(n=1, doc_id="d", chunk_id="c", start=10, end=30, quote="x" * 20)
    short = ShortAnswer(doc_id="d", start=12, end=15, text="<b>", citation=1)
    answer = Answer(
        text="“…” [1]", citations=[cite], grounded=True, mode="extractive", short_answer=short
    )
    assert short_answer_markdown(answer) == "**\\<b\\>** :blue[**\\[1\\]**]"
    assert short_span_in(answer, cite) == (2, 5)
    assert short_answer_markdown(answer.model_copy(update={"mode": "llm"})) is None
    other = cite.model_copy(update={"doc_id": "e"})
    assert short_span_in(answer, other) is None


def _answer(grounded: bool = True) -> Answer:
    start = ARTICLE.text.index("«NATO’s relationship")
    end = ARTICLE.text.index("Schulz.", start) + len("Schulz.")
    quote = ARTICLE.text[start:end]
    cites = [Citation(n=1, doc_id=ARTICLE.id, chunk_id="c1", start=start, end=end, quote=quote)]
    if not grounded:
        return Answer(text="The article does not say.", grounded=False, mode="extractive")
    return Answer(text=f"“{quote}” [1]", citations=cites, grounded=True, mode="extractive")


def test_feedback_record_is_an_eval_item() -> None:
    history = [Turn(role="user", content="q0"), Turn(role="assistant", content="a0")]
    rec = feedback_record(question="q1", answer=_answer(), history=history, verdict="up")
    assert rec["answerable"] is True and rec["tags"] == ["feedback"] and rec["answers"] == []
    assert rec["evidence"] == [_answer().citations[0].quote]
    assert rec["history"] == [
        {"role": "user", "content": "q0"},
        {"role": "assistant", "content": "a0"},
    ]
    assert rec["verdict"] == "up" and rec["mode"] == "extractive" and rec["citations"]
    down = feedback_record(question="q", answer=_answer(), history=[], verdict="down")
    assert down["answerable"] is False and down["evidence"] == []
    assert guess_answerable("up", False) is False and guess_answerable("down", False) is True


def test_exports_hold_questions_quotes_and_places() -> None:
    ex = [
        Exchange(question="Who [decides]?", answer=_answer()),
        Exchange(question="Population?", answer=_answer(grounded=False)),
    ]
    ref = ArticleRef(id=ARTICLE.id, title=ARTICLE.title, source=ARTICLE.source)
    md = export_markdown(ex, ref, {ARTICLE.id: ARTICLE})
    assert "## 1. Who \\[decides\\]?" in md and "paragraph 3" in md
    assert NATO_QUOTE in md and "The article does not say." in md
    data = json.loads(export_json(ex, ref))
    assert data["article"]["id"] == ARTICLE.id
    # what a model's answer left out is exported with it, escaped
    left = _answer(grounded=False).model_copy(
        update={
            "mode": "llm",
            "claims_removed": 1,
            "removed_claims": [
                RemovedClaim(
                    text="Putin *rules* Ukraine.", reason="made up", sentences=["Putin *spoke*."]
                )
            ],
        }
    )
    md = export_markdown([Exchange(question="Who rules?", answer=left)], ref)
    assert "Left out of the model's answer: 1 claim(s)" in unescape_markdown(md)
    assert "- _Putin \\*rules\\* Ukraine\\._ (made up)\n    - cited: “Putin \\*spoke\\*\\.”" in md
    assert [t["question"] for t in data["turns"]] == ["Who [decides]?", "Population?"]
    assert data["turns"][0]["answer"]["citations"][0]["quote"].startswith("«NATO’s")
