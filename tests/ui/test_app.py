"""The chat page, driven in-process with Streamlit's AppTest (its pure helpers: test_formatting.py).

Everything here runs the real assistant on the shipped article (WordLlama + BM25 + Chroma in a
temp data folder): nothing is faked except where a test says so (an unexpected exception).
"""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from assistant.conversation import (
    unescape_markdown,
)
from assistant.settings import load_settings
from assistant.types import Answer
from index.sources import load_default

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"

ARTICLE = load_default()[0]
NATO_QUOTE = "NATO’s relationship with Ukraine will be decided by 30 NATO allies and Ukraine"
WHO_DECIDES = "Who decides NATO's relationship with Ukraine?"
UNKNOWN = "What is the population of Ukraine?"
GENERIC_ERROR = "Something went wrong; details are in the log."

BAKERY = """Lisbon bakery wins European pastry prize

A small bakery in Lisbon's Alfama district won the European Pastry Prize on Saturday.

The jury praised its custard tarts, which are baked in a wood-fired oven built in 1921.

The owner, Maria Costa, said the bakery sells about 4,000 tarts every day.
"""

XSS = """Security notes from the workshop

The trainer typed <script>alert(1)</script> into the comment box to show the attack.

Attendees were told never to trust a link such as [click](http://evil) in an email.

The workshop ended with a quiz about phishing.
"""


# -- helpers ---------------------------------------------------------------------------------


def ask(at: AppTest, question: str) -> AppTest:
    """Type ``question`` into the chat box and run the page; fail on any exception."""
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def last_answer(at: AppTest) -> Any:
    """The last assistant chat message (a Block)."""
    messages = [m for m in at.chat_message if m.name == "assistant"]
    assert messages, "no assistant message on the page"
    return messages[-1]


def texts(block: Any) -> list[str]:
    """Markdown bodies that are rendered as Markdown (not the escaped-HTML article view)."""
    return [m.value for m in block.markdown if not m.proto.allow_html]


def html_bodies(block: Any) -> list[str]:
    """Bodies rendered with ``unsafe_allow_html`` (only the highlighted article view)."""
    return [m.value for m in block.markdown if m.proto.allow_html]


def quotes(block: Any) -> list[str]:
    """The text of every blockquote in ``block``, unescaped back to what the reader sees."""
    out = []
    for body in texts(block):
        if body.startswith(">"):
            body = re.sub(r"(?<!\\)\*\*", "", body)  # the short answer's bold, not text
            lines = [re.sub(r"^> ?", "", line).rstrip() for line in body.split("\n")]
            out.append(unescape_markdown("\n".join(lines)).strip())
    return out


def paste_article(at: AppTest, text: str) -> AppTest:
    """Paste ``text`` in the sidebar and switch the chat to it."""
    at.text_area(key="paste_text").input(text)
    at.button(key="use_paste").click().run()
    assert not at.exception, at.exception
    return at


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# -- the page --------------------------------------------------------------------------------


def test_page_starts_on_the_shipped_article(app: AppTest) -> None:
    assert unescape_markdown(app.header[0].value) == ARTICLE.title
    assert any("shipped article" in c.value for c in app.caption)
    sidebar = " ".join(m.value for m in app.sidebar.markdown)
    assert "Offline" in sidebar
    assert not app.chat_message and not app.error


def test_answer_quotes_the_article_once(app: AppTest) -> None:
    ask(app, WHO_DECIDES)
    user, answer = app.chat_message
    assert user.name == "user" and unescape_markdown(user.markdown[0].value) == WHO_DECIDES
    stored = app.session_state["messages"][-1]["answer"]
    assert stored.grounded and stored.short_answer is None  # the reader is unsure of a span
    # no headline then: the sentence is the answer, shown once, in its card
    assert [t for t in texts(answer) if not t.startswith(">")] == []
    assert sum(NATO_QUOTE in q for q in quotes(answer)) == 1
    assert not app.error


def test_short_answer_heads_the_turn_and_is_bold_in_its_card(app: AppTest) -> None:
    ask(app, "How long did Putin and Biden talk?")
    answer = last_answer(app)
    short = app.session_state["messages"][-1]["answer"].short_answer
    assert short is not None and "two-hour" in short.text
    headline = texts(answer)[0]
    assert headline.startswith("**") and unescape_markdown(headline.split("**")[1]) == short.text
    assert ":blue[**\\[1\\]**]" in headline
    (card,) = [t for t in texts(answer) if t.startswith(">")]
    assert f"**{short.text}**" in unescape_markdown(card)  # bold inside the sentence
    assert sum("held two-hour talks" in q for q in quotes(answer)) == 1
    assert not app.error


def test_citation_cards_are_verbatim_and_say_where(app: AppTest) -> None:
    ask(app, WHO_DECIDES)
    answer = last_answer(app)
    cards = quotes(answer)
    assert cards and any(NATO_QUOTE in q for q in cards)
    for quote in cards:
        assert quote in ARTICLE.text
    captions = [c.value for c in answer.caption]
    assert any(c.startswith(":blue[**\\[1\\]**]") and "paragraph 3 of 20" in c for c in captions)
    stored = app.session_state["messages"][-1]["answer"]
    for c in stored.citations:
        assert ARTICLE.text[c.start : c.end] == c.quote


def test_article_view_highlights_the_cited_spans(app: AppTest) -> None:
    ask(app, WHO_DECIDES)
    answer = last_answer(app)
    views = [e for e in answer.expander if "article" in e.label]
    assert views, [e.label for e in answer.expander]
    (body,) = html_bodies(views[0])
    cited = app.session_state["messages"][-1]["answer"].citations[0]
    assert re.search(r"<mark[^>]*>" + re.escape(html.escape(cited.quote)) + "</mark>", body)
    assert html.escape(ARTICLE.text.split("\n")[0].strip()) in body  # the whole article is there


def test_follow_up_is_asked_with_history(app: AppTest) -> None:
    ask(app, "Who did Stoltenberg hold a press conference with?")
    first = last_answer(app)
    assert any("Olaf Schulz" in t for t in texts(first))
    ask(app, "What did he say about Russia's request?")
    assert len(app.chat_message) == 4
    messages = app.session_state["messages"]
    follow_up = messages[-1]
    assert [t.role for t in follow_up["history"]] == ["user", "assistant"]
    answer = follow_up["answer"]
    assert "Stoltenberg" in answer.query  # "he" resolved from the history
    assert answer.grounded and answer.citations
    assert any("Russia’s request" in c.quote or "Russia" in c.quote for c in answer.citations)
    assert not app.error


def test_declined_answer_says_so_and_shows_closest_passages(app: AppTest) -> None:
    ask(app, "What is the population of Ukraine?")
    answer = last_answer(app)
    assert "**The article does not say.**" in texts(answer)
    assert any("closest passages" in c.value for c in answer.caption)
    shown = quotes(answer)
    assert len(shown) >= 1
    for passage in shown:
        assert norm(passage) in norm(ARTICLE.text)
    assert not answer.expander or all("article" not in e.label for e in answer.expander)


def test_example_button_asks_its_question(app: AppTest) -> None:
    app.sidebar.button(key="example-1").click().run()
    assert not app.exception
    user, answer = app.chat_message
    assert "soldiers" in unescape_markdown(user.markdown[0].value)
    assert any("100,000 soldiers" in q for q in quotes(answer))


def test_top_k_and_passages_with_scores(app: AppTest) -> None:
    app.slider(key="top_k").set_value(2)
    app.toggle(key="show_passages").set_value(True)
    ask(app, WHO_DECIDES)
    answer = last_answer(app)
    (panel,) = [e for e in answer.expander if e.label.startswith("Retrieved passages")]
    assert "(2)" in panel.label
    scores = [c.value for c in panel.caption]
    assert len(scores) == 2 and all("fused" in s and "dense" in s and "BM25" in s for s in scores)
    assert scores[0].startswith("**#1**")


def test_pasted_article_is_indexed_and_answered(app: AppTest) -> None:
    paste_article(app, BAKERY)
    assert unescape_markdown(app.header[0].value) == "Lisbon bakery wins European pastry prize"
    assert any("Now chatting about" in s.value for s in app.success)
    ask(app, "How many tarts does the bakery sell every day?")
    answer = last_answer(app)
    assert any("4,000 tarts every day" in q for q in quotes(answer))
    for quote in quotes(answer):
        assert quote in BAKERY
    # and back to the shipped article, with a fresh chat
    app.button(key="back").click().run()
    assert unescape_markdown(app.header[0].value) == ARTICLE.title
    assert not app.chat_message
    ask(app, WHO_DECIDES)
    assert any(NATO_QUOTE in q for q in quotes(last_answer(app)))


def test_uploaded_html_article_is_used(app: AppTest) -> None:
    page = (
        b"<html><head><title>Harbour reopens</title></head><body>"
        b"<p>The old harbour in Bergen reopened on Monday after two years of repairs.</p>"
        b"<p>The mayor said the repairs cost 40 million crowns.</p></body></html>"
    )
    app.file_uploader(key="upload").set_value(("harbour.html", page, "text/html")).run()
    assert not app.exception and not app.error
    assert unescape_markdown(app.header[0].value) == "Harbour reopens"
    ask(app, "How much did the repairs cost?")
    assert any("40 million crowns" in q for q in quotes(last_answer(app)))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("photo.txt", bytes(range(256)) * 4),
        ("latin1.txt", "Caf\xe9 au lait".encode("latin-1")),
        ("empty.md", b"  \n\n "),
    ],
)
def test_bad_upload_gets_one_sentence(app: AppTest, name: str, data: bytes) -> None:
    app.file_uploader(key="upload").set_value((name, data, "text/plain")).run()
    assert not app.exception
    (error,) = app.error
    message = unescape_markdown(error.value)
    assert name in message and message.endswith(".")
    assert "Traceback" not in message and "\n" not in message
    assert unescape_markdown(app.header[0].value) == ARTICLE.title  # still the shipped article


def test_empty_paste_gets_one_sentence(app: AppTest) -> None:
    app.button(key="use_paste").click().run()
    assert not app.exception
    assert [e.value for e in app.error] == ["Paste some text first; the box is empty."]


def test_feedback_is_written_once(app: AppTest) -> None:
    ask(app, WHO_DECIDES)
    app.feedback[0].set_value(1).run()
    assert not app.exception
    path = Path(load_settings().data_dir) / "feedback.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert rec["question"] == WHO_DECIDES and rec["verdict"] == "up"
    assert rec["answerable"] is True and rec["tags"] == ["feedback"]
    assert any(NATO_QUOTE in e for e in rec["evidence"]) and rec["history"] == []
    assert rec["mode"] == "extractive" and rec["citations"][0]["quote"] in ARTICLE.text
    assert app.feedback[0].disabled
    assert any("feedback is saved" in c.value for c in app.caption)
    # more runs (and a follow-up with its own thumbs) never write the first one again
    ask(app, "What is the population of Ukraine?")
    app.feedback[1].set_value(0).run()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    second = json.loads(lines[1])
    assert second["verdict"] == "down" and second["answerable"] is True
    assert [t["role"] for t in second["history"]] == ["user", "assistant"]
    assert len({json.loads(line)["id"] for line in lines}) == 2
    # and `assistant eval --dataset` reads it as an eval set
    from evals.dataset import load_dataset

    loaded = load_dataset(path)
    assert not loaded.problems and [i.question for i in loaded.items] == [WHO_DECIDES, UNKNOWN]


def test_pasted_html_and_links_are_shown_as_text(app: AppTest) -> None:
    paste_article(app, XSS)
    ask(app, "What did the trainer type into the comment box?")
    ask(app, "What link were attendees told never to trust?")
    rendered = [body for m in app.chat_message for body in texts(m)]
    joined = re.sub(r"(?<!\\)\*\*", "", "\n".join(rendered))  # the short answer's bold
    assert "\\<script\\>alert\\(1\\)\\</script\\>" in joined
    assert "\\[click\\]\\(http\\://evil\\)" in joined
    for body in rendered + [c.value for c in app.caption] + [t.value for t in app.header]:
        assert not re.search(r"(?<!\\)<", body), body  # every < is escaped: no HTML
        assert not re.search(r"(?<!\\)\]\(", body), body  # no Markdown link or image
    views = [b for m in app.chat_message for e in m.expander for b in html_bodies(e)]
    assert views
    for body in views:
        assert "<script" not in body and "<script>alert(1)</script>" in html.unescape(body)
        assert "\n" not in body
    # the question itself is user text too
    ask(app, "Is <b>this</b> [safe](http://x)?")
    user = [m for m in app.chat_message if m.name == "user"][-1]
    assert user.markdown[0].value == "Is \\<b\\>this\\</b\\> \\[safe\\]\\(http\\://x\\)?"


def test_clear_chat(app: AppTest) -> None:
    ask(app, WHO_DECIDES)
    assert len(app.chat_message) == 2
    app.sidebar.button(key="clear").click().run()
    assert not app.exception
    assert not app.chat_message and app.session_state["messages"] == []
    assert app.sidebar.button(key="clear").disabled


def test_downloads_are_offered_after_an_answer(app: AppTest) -> None:
    buttons = {b.proto.label: b for b in app.get("download_button")}
    assert set(buttons) == {"Markdown", "JSON"} and all(b.proto.disabled for b in buttons.values())
    ask(app, WHO_DECIDES)
    buttons = {b.proto.label: b for b in app.get("download_button")}
    assert not any(b.proto.disabled for b in buttons.values())


def test_user_error_is_one_sentence(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.errors import IndexUnavailableError
    from assistant.service import Assistant

    def unavailable(*args: object, **kwargs: object) -> Answer:
        raise IndexUnavailableError("The index folder /data/x cannot be read [permission denied].")

    original = Assistant.ask
    monkeypatch.setattr(Assistant, "ask", unavailable)
    ask(app, WHO_DECIDES)
    (error,) = last_answer(app).error
    assert error.value == "The index folder /data/x cannot be read \\[permission denied\\]\\."
    assert not app.exception
    # the failed turn is not sent as history with the next question
    monkeypatch.setattr(Assistant, "ask", original)
    ask(app, WHO_DECIDES)
    assert app.session_state["messages"][-1]["history"] == []


def test_unexpected_error_is_logged_not_shown(
    app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.service import Assistant

    def boom(*args: object, **kwargs: object) -> Answer:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Assistant, "ask", boom)
    ask(app, WHO_DECIDES)
    (error,) = last_answer(app).error
    assert error.value == GENERIC_ERROR

    log = (Path(load_settings().data_dir) / "assistant.log").read_text(encoding="utf-8")
    assert "RuntimeError: secret internals" in log and "Traceback" in log


def test_llm_down_shows_banner_and_extractive_answer(
    closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Needs the LLM fallback wiring in ``Assistant.ask`` (sets ``Answer.fallback_reason``)."""
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", f"http://127.0.0.1:{closed_port}/v1")
    monkeypatch.setenv("ASSISTANT_MODE", "llm")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    sidebar = settled_sidebar(at)
    assert f"default @ 127.0.0.1:{closed_port}" in sidebar and ":red[●]" in sidebar
    ask(at, WHO_DECIDES)
    answer = last_answer(at)
    assert answer.warning, "no fallback warning above the answer"
    assert unescape_markdown(answer.warning[0].value).strip()
    stored = at.session_state["messages"][-1]["answer"]
    assert stored.mode == "extractive" and stored.fallback_reason
    assert any(NATO_QUOTE in q for q in quotes(answer))
    assert not at.error


def sidebar_text(at: AppTest) -> str:
    return " ".join([m.value for m in at.sidebar.markdown] + [c.value for c in at.sidebar.caption])


def settled_sidebar(at: AppTest) -> str:
    """The sidebar once the background endpoint check has a verdict (the page never waits for
    it, so the test reruns, a bounded number of times, as a user's clicks would)."""
    text = sidebar_text(at)
    for _ in range(200):
        if ":gray[●]" not in text:
            break
        time.sleep(0.05)
        at.run()
        text = sidebar_text(at)
    return text


def test_a_hanging_endpoint_delays_neither_the_page_nor_the_questions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An endpoint that accepts connections and never answers: the first run draws the chat
    box without waiting for the health check (the sidebar says it is checking), and once the
    check finds it down, questions are answered offline at once, sending it nothing, with one
    sentence saying why."""
    from tests.llm_server import LLMServer, stall

    with LLMServer() as server:
        server.set_handler(lambda body: stall())
        server.models_reply = stall()
        monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("ASSISTANT_LLM_MODEL", "scripted")
        monkeypatch.setenv("ASSISTANT_LLM_READ_TIMEOUT", "1")
        monkeypatch.setenv("ASSISTANT_LLM_MAX_RETRIES", "0")
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        assert not at.exception and at.chat_input
        sidebar = sidebar_text(at)
        assert "Checking the endpoint" in sidebar and ":red[●]" not in sidebar
        sidebar = settled_sidebar(at)  # the check ends at its 1 s read timeout
        assert ":red[●]" in sidebar and "timed out" in sidebar
        sent = len(server.requests)
        ask(at, WHO_DECIDES)
        ask(at, "How many soldiers has Russia moved to the Ukrainian border?")
        assert len(server.requests) == sent  # no question waited on the endpoint
        server.release()
    for message in at.session_state["messages"][1::2]:
        stored = message["answer"]
        assert stored.mode == "extractive" and "is down" in stored.fallback_reason
    assert any(NATO_QUOTE in q for q in quotes(at.chat_message[1]))
    assert not at.exception and not at.error


def test_llm_answer_streams_and_is_verified(monkeypatch: pytest.MonkeyPatch) -> None:
    """Against the scripted OpenAI-compatible server: green dot, verified quote, escaped text."""
    from tests.llm_server import LLMServer

    with LLMServer() as server:
        server.set_handler(
            lambda body: (
                'Stoltenberg said it "will be decided by 30 NATO allies and Ukraine" [1]. '
                "See <img src=x onerror=alert(1)> [here](http://evil)."
            )
        )
        monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("ASSISTANT_LLM_MODEL", "scripted")
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        assert not at.exception
        sidebar = settled_sidebar(at)
        assert ":green[●]" in sidebar and f"scripted @ 127.0.0.1:{server.port}" in sidebar
        ask(at, WHO_DECIDES)
    stored = at.session_state["messages"][-1]["answer"]
    assert stored.mode == "llm" and stored.grounded and not stored.fallback_reason
    answer = last_answer(at)
    body = texts(answer)[0]
    assert "decided by 30 NATO allies and Ukraine" in body
    assert not re.search(r"(?<!\\)<", body) and not re.search(r"(?<!\\)\]\(", body)
    for quote in quotes(answer):
        assert quote in ARTICLE.text
    assert any("LLM answer" in c.value for c in answer.caption)
    assert not at.warning and not at.error


def test_what_the_checks_left_out_of_a_model_answer_is_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A JSON reply with one stated claim and one made up: the stated one is the answer, the
    made-up one is listed under it with the judge's reason, its markup shown as written."""
    from tests.llm_server import LLMServer

    def reply(body: dict) -> str:
        user = body["messages"][-1]["content"]
        numbers = dict((text, int(n)) for n, text in re.findall(r"^\[(\d+)\] (.*)$", user, re.M))
        nato = next((n for text, n in numbers.items() if "decided by 30 NATO allies" in text), 0)
        if not nato:  # not the answer prompt (the endpoint's health check): any short reply
            return "ok"
        claims = [
            {"text": "The 30 NATO allies and Ukraine will decide it.", "sentences": [nato]},
            {"text": "The Pope will *mediate* in Geneva.", "sentences": [nato]},
        ]
        return json.dumps({"answerable": True, "claims": claims})

    with LLMServer() as server:
        server.set_handler(reply)
        monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("ASSISTANT_LLM_MODEL", "scripted")
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        settled_sidebar(at)  # the endpoint check has its verdict: the question goes to the model
        ask(at, WHO_DECIDES)
    assert not at.exception
    stored = at.session_state["messages"][-1]["answer"]
    assert stored.grounded and stored.claims_removed == 1
    answer = last_answer(at)
    assert "The 30 NATO allies and Ukraine will decide it" in texts(answer)[0]
    [left] = [e for e in answer.expander if e.label.startswith("What the model said")]
    assert left.label == "What the model said that was left out (1)"
    listed = left.markdown[0].value
    assert "- The Pope will \\*mediate\\* in Geneva\\. — _says what" in listed
    assert "says what its sentences do not" in listed
    # under it, the sentence it cited, verbatim from the article (escaped), so a reader sees why
    nato_sentence = next(s for s in ARTICLE.text.split("\n") if "decided by 30 NATO" in s)
    [cited] = [line for line in listed.splitlines() if line.startswith("    - cited: ")]
    assert "decided by 30 NATO allies" in unescape_markdown(cited)
    assert unescape_markdown(cited).strip("“” -").removeprefix("cited: “") in nato_sentence
    assert any("Left out of the model's answer: 1 claim(s)" in c.value for c in answer.caption)


def test_invalid_settings_get_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", "ftp://nowhere")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    (error,) = at.error
    message = unescape_markdown(error.value)
    assert message.startswith("The settings are not valid (") and "ASSISTANT_" in message
    assert "ftp://nowhere" in message and not at.chat_message
