"""Measuring tools shared by the benchmark tasks: clocks, memory, percentiles, profiles.

Standard library only: a cold-start task imports this before the product, and its import time
must be the product's alone.
"""

from __future__ import annotations

import cProfile
import inspect
import io
import pstats
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# when this process started, as near as Python lets us see it: the cold-start tasks report
# the time from here to their first line as the interpreter's own start-up
T_START = time.perf_counter()


def log(msg: str) -> None:
    """Progress of a task, indented under the runner's own lines on stderr."""
    print(f"    {msg}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """Highest resident set size of this process so far, MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_now_mb() -> float:
    """Current resident set size (``/proc/self/statm``), MiB; 0 where there is no /proc."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * resource.getpagesize() / 2**20


def pct(values: list[float], q: float) -> float | None:
    """The ``q`` quantile with linear interpolation; None for no values (never a made-up 0)."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _r(v: Any) -> Any:
    return round(v, 4) if isinstance(v, float) else v


def latency_summary(values_ms: list[float]) -> dict[str, float | None]:
    """p50, p95, mean and count of latencies in milliseconds, as stored in the results."""
    return {
        "p50": _r(pct(values_ms, 0.5)),
        "p95": _r(pct(values_ms, 0.95)),
        "mean": _r(statistics.fmean(values_ms)) if values_ms else None,
        "n": len(values_ms),
    }


class ColdStart:
    """The phases of a cold start (import, open, ask), timed back to back from this process's
    start, so product and baseline report the same fields measured the same way."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.phases: dict[str, float] = {}

    def lap(self, phase: str) -> None:
        """End ``phase`` now; the next one starts here."""
        now = time.perf_counter()
        self.phases[phase] = round(now - self.last, 3)
        self.last = now

    def summary(self) -> dict[str, float]:
        return {
            "interpreter_to_main_s": round(self.start - T_START, 4),
            **self.phases,
            "in_process_s": round(self.last - T_START, 3),
        }


class Timer:
    """Wall time and call count of one patched function."""

    def __init__(self) -> None:
        self.total = 0.0
        self.calls = 0
        self.samples: list[float] = []
        self.rss_after: float | None = None  # highest RSS (MiB) seen right after a call

    def summary(self) -> dict[str, float | int | None]:
        p50 = pct(self.samples, 0.5)
        out: dict[str, float | int | None] = {
            "seconds": round(self.total, 4),
            "calls": self.calls,
            "p50_ms": None if p50 is None else round(p50 * 1000, 3),
        }
        if self.rss_after is not None:
            out["rss_after_mb"] = round(self.rss_after, 1)
        return out


class Timers:
    """Time parts of the work: ``record`` takes what the product reports itself (its index
    and answer timings); ``patch`` wraps functions it does not time (Chroma's own methods), and
    ``restore()`` puts every original back."""

    def __init__(self) -> None:
        self.timers: dict[str, Timer] = {}
        self._undo: list[Callable[[], None]] = []

    def patch(self, owner: Any, name: str, label: str, rss: bool = False) -> None:
        raw = inspect.getattr_static(owner, name)
        original = getattr(owner, name)
        timer = self.timers.setdefault(label, Timer())

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t0
                timer.total += dt
                timer.calls += 1
                timer.samples.append(dt)
                if rss:
                    timer.rss_after = max(timer.rss_after or 0.0, rss_now_mb())

        if isinstance(raw, staticmethod | classmethod):
            setattr(owner, name, staticmethod(timed))
        elif inspect.isclass(owner) and inspect.isfunction(raw):

            def method(self: Any, *args: Any, **kwargs: Any) -> Any:
                return timed(self, *args, **kwargs)

            setattr(owner, name, method)
        else:
            setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, raw))

    def record(self, label: str, seconds: float) -> None:
        """One call of ``label`` that took ``seconds``, as the product measured it."""
        timer = self.timers.setdefault(label, Timer())
        timer.total += seconds
        timer.calls += 1
        timer.samples.append(seconds)

    def restore(self) -> None:
        while self._undo:
            self._undo.pop()()

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        return {k: t.summary() for k, t in self.timers.items()}


def profile_text(profiler: cProfile.Profile, limit: int = 30) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs()
    out.write("== by internal time ==\n")
    stats.sort_stats("tottime").print_stats(limit)
    out.write("== by cumulative time ==\n")
    stats.sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


def run_profiled(fn: Callable[[], Any], path: str | None) -> Any:
    """``fn()``, under cProfile when ``path`` is given (its report is written there)."""
    if not path:
        return fn()
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        return fn()
    finally:
        profiler.disable()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(profile_text(profiler), encoding="utf-8")


def progress_logger(rss: dict[str, float] | None = None) -> Callable[[str, int, int], None]:
    """A product ``progress`` callback that logs to stderr at most every 10 s per stage;
    ``rss`` gets the highest current RSS (MiB) seen at the start, during and end of each stage."""
    last = {"stage": "", "t": 0.0}
    t0 = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if rss is not None:
            key = f"{stage} {'start' if done == 0 else 'end' if done == total else 'during'}"
            rss[key] = round(max(rss.get(key, 0.0), rss_now_mb()), 1)
        if stage != last["stage"] or now - last["t"] > 10 or done == total:
            log(f"{now - t0:7.1f}s {stage} {done:,}/{total:,}")
            last.update(stage=stage, t=now)

    return progress
