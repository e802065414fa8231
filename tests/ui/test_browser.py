"""The page in a real browser: ``streamlit run ui/app.py`` driven by headless Chromium.

Debian's Chromium (``apt-get install -y chromium``; ``make test`` installs it) is used through
Playwright's ``executable_path``: no browser download. Timings are recorded in
``test-artifacts/browser/timings.json`` for the report, never asserted on.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright

from index.sources import load_default

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
ARTICLE = load_default()[0]
ANSWER_TIMEOUT_MS = 60_000
PAGE_READY: list[float] = []  # navigation -> page drawn, per session; the first builds the index
XSS = (
    "Security notes from the workshop\n\n"
    "The trainer typed <script>alert(1)</script> into the comment box to show the attack.\n\n"
    "Attendees were told never to trust a link such as [click](http://evil) in an email.\n"
)
QUESTIONS = [
    "Who decides NATO's relationship with Ukraine?",
    "How many soldiers has Russia moved to the Ukrainian border?",
    "What did the Russian Foreign Ministry ask NATO to do?",
    "How much has Washington committed to Ukraine's army?",
    "What is the population of Ukraine?",
]


def norm(text: str) -> str:
    """Whitespace-normalised text (the browser wraps lines; the article has its own breaks)."""
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            "/usr/bin/chromium is missing: `make test` installs it "
            "(apt-get install -y chromium), or install it yourself and rerun."
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, streamlit_server: Any) -> Iterator[Page]:
    """A fresh browser session (its own Streamlit session) on the page, chat box ready."""
    context = browser.new_context(viewport={"width": 1280, "height": 1500})
    page = context.new_page()
    page.set_default_timeout(ANSWER_TIMEOUT_MS)
    try:
        t0 = time.perf_counter()
        page.goto(streamlit_server.url, wait_until="domcontentloaded")
        page.locator('[data-testid="stChatInputTextArea"]').wait_for(state="visible")
        page.get_by_text("Chatting about").wait_for(state="visible")  # index open, page drawn
        PAGE_READY.append(time.perf_counter() - t0)
        yield page
    finally:
        context.close()


def ask(page: Page, question: str, n: int) -> Locator:
    """Type a question, press Enter, and wait for the n-th (0-based) answer to be complete.

    Complete means its muted "… answer · N ms" line is drawn, which comes after the answer text
    and its citation cards.
    """
    box = page.locator('[data-testid="stChatInputTextArea"]')
    box.fill(question)
    box.press("Enter")
    message = page.locator('[data-testid="stChatMessage"]').nth(2 * n + 1)
    message.get_by_text(re.compile(r"(Extractive|LLM) answer · ")).wait_for(state="visible")
    return message


def test_answer_citations_and_highlight_in_a_real_browser(
    page: Page, streamlit_server: Any
) -> None:
    t0 = time.perf_counter()
    message = ask(page, QUESTIONS[0], 0)
    first_answer_seconds = time.perf_counter() - t0

    quote = message.locator('[data-testid="stMarkdownContainer"] blockquote').first
    quote_text = norm(quote.inner_text())
    assert "NATO’s relationship with Ukraine will be decided by 30 NATO allies" in quote_text
    assert quote_text in norm(ARTICLE.text)

    message.get_by_text("Show in the article").click()
    mark = message.locator("mark").first
    mark.wait_for(state="visible")
    marked = norm(mark.inner_text())
    assert marked and marked in quote_text
    assert message.locator("mark").count() >= 1

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    mark.scroll_into_view_if_needed()
    page.locator('[data-testid="stChatMessage"]').nth(0).scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "answer.png"), animations="disabled", full_page=True)
    _write_timings({"first_answer_s": round(first_answer_seconds, 3)})


def test_timings_for_five_questions(page: Page, streamlit_server: Any) -> None:
    seconds: list[float] = []
    for i, question in enumerate(QUESTIONS):
        t0 = time.perf_counter()
        message = ask(page, question, i)
        seconds.append(time.perf_counter() - t0)
        assert message.locator('[data-testid="stMarkdownContainer"]').first.inner_text()
    declined = page.locator('[data-testid="stChatMessage"]').nth(9)
    assert declined.get_by_text("The article does not say.").is_visible()
    _write_timings(
        {
            "server_start_s": round(streamlit_server.start_seconds, 3),
            "first_page_ready_s": round(PAGE_READY[0], 3),
            "question_to_answer_s": [round(s, 3) for s in seconds],
            "question_to_answer_median_s": round(statistics.median(seconds), 3),
        }
    )


def test_pasted_script_and_links_stay_text(page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_label("Article text").fill(XSS)
    sidebar.get_by_role("button", name="Chat about this text").click()
    page.get_by_text("Now chatting about").wait_for(state="visible")
    first = ask(page, "What did the trainer type into the comment box?", 0)
    second = ask(page, "What link were attendees told never to trust?", 1)
    assert "<script>alert(1)</script>" in first.locator("blockquote").first.inner_text()
    assert "[click](http://evil)" in second.locator("blockquote").first.inner_text()
    second.get_by_text("Show in the article").click()
    assert "[click](http://evil)" in second.locator("mark").first.inner_text()
    assert page.locator('a[href*="evil"]').count() == 0
    assert page.locator('[data-testid="stChatMessage"] script').count() == 0
    assert dialogs == []


def _write_timings(values: dict[str, Any]) -> None:
    """Merge ``values`` into timings.json (each test adds what it measured)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "timings.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data.update(values)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
