"""How an ``Answer`` looks in the terminal (``assistant ask`` and ``assistant chat``).

A pure function from the answer to rich markup lines, apart from the commands that print them,
so the look can be read and changed in one place and the CLI module stays a thin edge.
"""

from __future__ import annotations

import re

from rich.markup import escape

from assistant.invisible import reveal_invisible
from assistant.types import HEDGE_TEXT, Answer

# ANSI/VT escape sequences (CSI "ESC [ … final", OSC "ESC ] … BEL|ESC \\", and two-byte ESC x),
# then every other C0/C1 control character but newline and tab: an article or a model can
# carry them, and a terminal would obey them (retitle the window, move the cursor, hide text).
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window title, hyperlinks
    r"|\x1b[@-Z\\-_]"  # two-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: str) -> str:
    """``text`` without escape sequences or control characters (newline and tab kept), and
    with invisible formatting characters (bidi overrides, zero-width) shown as ``<U+XXXX>``:
    a terminal would obey an override and show the text around it reversed."""
    return reveal_invisible(_CONTROLS.sub("", _ESCAPES.sub("", text)))


def shown(text: str) -> str:
    """Data for a rich console: no control characters, and no rich markup either (a title or
    a ``--doc`` value of ``[bold red]…[/]`` is printed as written, never styled or rejected)."""
    return escape(plain(text))


CITED_CHARS = 160  # a removed claim's cited sentence, cut: the dim lines are a note, not a quote


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CITED_CHARS else text[:CITED_CHARS].rsplit(" ", 1)[0] + " …"


def answer_lines(answer: Answer) -> list[str]:
    """Rich markup: the answer (a decline in yellow; the short answer bold inside its quoted
    sentence when the reader marked one), then per citation its sentence (LLM answers cite by
    sentence, so the quote is not in the text) and a dim line naming where it stands; last,
    dim, what the checks left out of a model's answer, each removed claim with its reason."""
    note = answer.left_out()
    tail = [f"[dim]{shown(note)}[/]"] if note else []
    for c in answer.removed_claims:
        tail.append(f"[dim]  – “{shown(c.text)}”: {shown(c.reason)}[/]")
        tail += [f"[dim]      cited: “{shown(_clip(s))}”[/]" for s in c.sentences]
    if answer.hedged and answer.citations:
        c = answer.citations[0]
        return [
            f"[yellow]{shown(HEDGE_TEXT)}[/]",
            f"“{shown(c.quote)}” [{c.n}]",
            f"  [dim]\\[{c.n}] {shown(c.title)} — characters {c.start}–{c.end}[/]",
            *tail,
        ]
    if not answer.grounded:
        return [f"[yellow]{shown(answer.text)}[/]", *tail]
    short = answer.short_answer
    first = answer.citations[0] if answer.citations else None
    if (
        answer.mode == "extractive"
        and short
        and first
        and first.start <= short.start < short.end <= first.end
    ):
        s, e = short.start - first.start, short.end - first.start
        q = first.quote
        lines = [f"“{shown(q[:s])}[bold]{shown(q[s:e])}[/bold]{shown(q[e:])}” [{first.n}]"]
    else:
        lines = [shown(answer.text)]
    for c in answer.citations:
        if answer.mode == "llm":
            lines.append(f"  \\[{c.n}] “{shown(c.quote)}”")
        lines.append(f"  [dim]\\[{c.n}] {shown(c.title)} — characters {c.start}–{c.end}[/]")
    return lines + tail
