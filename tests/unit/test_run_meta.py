"""The run record names the code that produced it: the commit, and whether it was changed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from evals import runner


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=30)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real git repository, with ``runner`` asking git from inside it."""
    if shutil.which("git") is None:
        pytest.fail("git is needed for the run record's commit")
    _git(tmp_path, "init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    _git(tmp_path, "add", "code.py")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    monkeypatch.setattr(runner, "__file__", str(tmp_path / "runner.py"))
    return tmp_path


def test_clean_tree_is_not_dirty_and_names_its_commit(repo: Path) -> None:
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert runner.git_commit() == head
    assert runner.git_dirty() is False


def test_changed_tracked_file_is_dirty_and_untracked_ones_are_not(repo: Path) -> None:
    (repo / "notes.txt").write_text("untracked\n")
    assert runner.git_dirty() is False
    (repo / "code.py").write_text("x = 2\n")
    assert runner.git_dirty() is True


def test_outside_a_repository_both_are_unknown(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(runner, "__file__", str(tmp_path / "runner.py"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert runner.git_commit() is None
    assert runner.git_dirty() is None
