"""The index layer: sources, chunking, embedding, the Chroma store and lexical search.

Importing it takes one cost off a cold start. Chroma marks about 160 methods with the
``overrides`` package's ``@override``, which, while each class is built, finds the base class
by reading the caller's frame and checks the method's signature against it. That is a check for
Chroma's own developers: on success the method comes back unchanged. It is a fifth of
``import chromadb`` here (0.68 s → 0.53 s on 2 cores, timed in 5 fresh interpreters each), and
a cold ``assistant ask`` imports Chroma before anything else (8 interleaved runs each, with and
without this: median 1.60 s against 2.02 s on a busy machine, 1.2 s against 1.55 s on a quiet
one). So the decorator is made to mark the
method (``__override__``, which ``EnforceOverrides`` reads) and return it, before Chroma is
imported through this package. Only Chroma uses ``overrides`` in this product's install.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def _mark_override(method: F | None = None, **_: Any) -> Any:
    """``overrides.override`` without the class lookup and signature check."""
    if method is None:  # used as ``@override(check_signature=False)``
        return _mark_override
    method.__override__ = True  # type: ignore[attr-defined]
    return method


def _skip_override_checks() -> None:
    try:
        import overrides
    except ImportError:  # not installed: nothing imports it either
        return
    overrides.override = _mark_override  # type: ignore[assignment]
    overrides.overrides = _mark_override  # type: ignore[assignment]


_skip_override_checks()
