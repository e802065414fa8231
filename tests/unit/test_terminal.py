"""What reaches a terminal: no escape sequences or control characters from an article or a
model, and no rich markup from user or data strings."""

from __future__ import annotations

from rich.console import Console

from assistant.terminal import answer_lines, plain, shown
from assistant.types import Answer, Citation, RemovedClaim


def test_plain_strips_escape_sequences_and_controls_but_keeps_text() -> None:
    raw = "a\x1b]0;pwned\x07b\x1b[31mred\x1b[0m\x07c\x9b2Jd\x00e\tf\ng"
    assert plain(raw) == "abredcde\tf\ng"


def test_shown_prints_markup_as_written() -> None:
    console = Console(force_terminal=False, width=200)
    with console.capture() as cap:
        console.print(shown("[bold red]HACKED[/] and [/x]"))
    assert cap.get().strip() == "[bold red]HACKED[/] and [/x]"


def test_answer_lines_carry_no_escapes_from_the_article() -> None:
    quote = "NATO\x1b]0;title\x07 is in \x1b[2JBrussels."
    cite = Citation(
        n=1,
        doc_id="d",
        chunk_id="c",
        start=0,
        end=len(quote),
        quote=quote,
        title="[bold]T\x1b[5m[/bold]",
    )
    answer = Answer(text=f"“{quote}” [1]", citations=[cite], grounded=True, mode="extractive")
    console = Console(force_terminal=True, color_system="standard", width=200)
    with console.capture() as cap:
        for line in answer_lines(answer):
            console.print(line)
    printed = cap.get()
    assert "\x1b]" not in printed and "\x1b[2J" not in printed and "\x1b[5m" not in printed
    bare = Console(force_terminal=False, width=200)
    with bare.capture() as cap:
        for line in answer_lines(answer):
            bare.print(line)
    assert "NATO is in Brussels." in cap.get() and "[bold]T[/bold]" in cap.get()


def test_removed_claims_are_listed_with_their_reasons_and_no_escapes() -> None:
    """A model's claim is untrusted text: it is listed under the answer, dim, as written."""
    claim = RemovedClaim(
        text="Putin\x1b[2J is the [bold]president[/] of Ukraine.",
        reason="joins words its sentence keeps apart",
        sentences=["Russian President Vladimir Putin\x1b[5m and US leader Joe Biden " + "x " * 200],
    )
    answer = Answer(
        text="The article does not say.",
        grounded=False,
        mode="llm",
        claims_removed=1,
        removed_claims=[claim],
    )
    console = Console(force_terminal=False, width=200)
    with console.capture() as cap:
        for line in answer_lines(answer):
            console.print(line)
    printed = cap.get()
    assert "Left out of the model's answer: 1 claim(s)" in printed
    assert "“Putin is the [bold]president[/] of Ukraine.”: joins words its sentence" in printed
    assert "\x1b" not in printed
    # the sentence it cited, dim under it, cut at a word: a note, not a quote
    [cited] = [line for line in printed.splitlines() if "cited:" in line]
    assert "cited: “Russian President Vladimir Putin and US leader Joe Biden x x" in cited
    assert cited.rstrip().endswith("…”") and len(cited.strip()) < 200


# Trojan-Source-style text: a right-to-left override makes "$1000" read as "0001$" backwards
SPOOF = "The fee is \u202e0001$\u202c today\u2066x\u2069\u200b.\ufeff\u061c\u200f"
HIDDEN = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\ufeff"


def test_bidi_overrides_and_invisible_controls_show_as_visible_markers() -> None:
    assert plain(SPOOF) == (
        "The fee is <U+202E>0001$<U+202C> today<U+2066>x<U+2069><U+200B>.<U+FEFF><U+061C><U+200F>"
    )
    assert plain("tag \U000e0041\U000e0042 end") == "tag <U+E0041><U+E0042> end"


def test_joiners_that_scripts_and_emoji_need_are_kept() -> None:
    text = "\U0001f469\u200d\U0001f4bb and \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    assert plain(text) == text


def test_answer_lines_reveal_bidi_overrides_and_the_citation_stays_exact() -> None:
    """The model's text, the quote and the title reach the terminal with markers; the
    ``Citation`` keeps the source's exact characters and offsets."""
    source = "Intro. Transfer \u202e0001$\u202c to the fund.\u2067"
    quote = source[7:]
    cite = Citation(
        n=1, doc_id="d", chunk_id="c", start=7, end=len(source), quote=quote, title="T\u202eeltit"
    )
    answer = Answer(
        text=f"\u2066They said “{quote}” [1]", citations=[cite], grounded=True, mode="llm"
    )
    console = Console(force_terminal=True, color_system=None, width=300, highlight=False)
    with console.capture() as cap:
        for line in answer_lines(answer):
            console.print(line)
    printed = cap.get()
    assert not set(HIDDEN) & set(printed)
    assert "Transfer <U+202E>0001$<U+202C> to the fund.<U+2067>" in printed
    assert "T<U+202E>eltit" in printed and "<U+2066>They said" in printed
    assert source[cite.start : cite.end] == cite.quote and "\u202e" in cite.quote
