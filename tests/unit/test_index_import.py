"""Importing the index layer turns off the ``overrides`` decorator's import-time checks, which
Chroma pays for on every cold start (see ``index/__init__.py``); Chroma must work as before."""

from __future__ import annotations

import subprocess
import sys

import overrides

import index  # noqa: F401  (its import is what is tested)


def _python(code: str) -> str:
    """What a fresh interpreter prints running ``code`` (a fresh one: nothing imported yet)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_override_only_marks_the_method_once_index_is_imported() -> None:
    override = overrides.override  # read now: importing index replaced it

    class Base:
        def method(self, a: int) -> int:
            return a

    class Sub(Base):
        @override
        def method(self) -> int:  # type: ignore[override]  # the real check raises TypeError
            return 1

        @override(check_signature=False)
        def other(self) -> int:  # no base method at all: the real lookup raises TypeError
            return 2

    assert Sub().method() == 1 and Sub().other() == 2
    assert Sub.method.__override__ is True  # type: ignore[attr-defined]


def test_without_the_index_layer_the_real_check_still_runs() -> None:
    """The check really is what the index layer turns off: alone, ``overrides`` refuses."""
    code = (
        "from overrides import override\n"
        "class B:\n    def m(self, a: int) -> int: return a\n"
        "try:\n"
        "    class S(B):\n        @override\n        def m(self) -> int: return 1\n"
        "except TypeError:\n    print('refused')\n"
    )
    assert _python(code) == "refused"


def test_chroma_imported_after_the_index_layer_works() -> None:
    code = (
        "import index, chromadb\n"
        "c = chromadb.EphemeralClient()\n"
        "col = c.create_collection('shim-check', embedding_function=None)\n"
        "col.add(ids=['a'], embeddings=[[0.1, 0.2]], documents=['x'])\n"
        "print(col.query(query_embeddings=[[0.1, 0.2]], n_results=1)['ids'])\n"
    )
    assert _python(code) == "[['a']]"
