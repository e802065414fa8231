"""What the Markdown and HTML reports both show the same way: run metadata and counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["counts_line", "flat_meta", "meta_value"]


def flat_meta(meta: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Top-level meta first, nested mappings after as ``parent.key``: settings stay readable."""
    flat: list[tuple[str, Any]] = []
    nested: list[tuple[str, Any]] = []
    for key, value in meta.items():
        if isinstance(value, Mapping):
            nested.extend((f"{key}.{k}", v) for k, v in value.items())
        else:
            flat.append((str(key), value))
    return flat + nested


def meta_value(value: Any) -> str:
    """A metadata value as text: "—" for none, lists joined, floats without trailing zeros."""
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def counts_line(counts: Mapping[str, int]) -> str:
    """ "88 items (70 answerable, 18 unanswerable); 60 passed, 12 declined"."""
    return (
        f"{counts.get('items', 0)} items ({counts.get('answerable', 0)} answerable, "
        f"{counts.get('unanswerable', 0)} unanswerable); {counts.get('passed', 0)} passed, "
        f"{counts.get('declined', 0)} declined"
        + (f", {counts['hedged']} hedged" if counts.get("hedged") else "")
    )
