"""How an ``Answer`` looks in the terminal (``assistant ask`` and ``assistant chat``).

A pure function from the answer to rich markup lines, apart from the commands that print them,
so the look can be read and changed in one place and the CLI module stays a thin edge.
"""

from __future__ import annotations

from rich.markup import escape

from assistant.types import Answer


def answer_lines(answer: Answer) -> list[str]:
    """Rich markup: the answer (a decline in yellow; the short answer bold inside its quoted
    sentence when the reader marked one), then one dim line per citation."""
    if not answer.grounded:
        return [f"[yellow]{escape(answer.text)}[/]"]
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
        lines = [f"“{escape(q[:s])}[bold]{escape(q[s:e])}[/bold]{escape(q[e:])}” [{first.n}]"]
    else:
        lines = [escape(answer.text)]
    lines += [
        f"  [dim][{c.n}] {escape(c.title)} — characters {c.start}–{c.end}[/]"
        for c in answer.citations
    ]
    return lines
