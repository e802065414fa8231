"""What is known of the LLM endpoint's health, so a known-down endpoint costs no question a wait.

An endpoint that accepts connections and never answers costs each call its read timeout (30 s
by default). Paying that once is unavoidable; paying it on every question, and before the
page's first render, is not. ``EndpointWatch`` keeps one verdict per endpoint:

- ``unknown`` until a check or a call says otherwise: questions try the endpoint;
- ``down`` after a check failed or a call timed out or could not connect: questions are
  answered offline at once (``down_reason``), and once the verdict is ``cooldown`` seconds old
  the endpoint is checked again in a background thread, never in a question's time;
- ``up`` after a check or a call worked.

``status()`` never waits: it reports the verdict as it stands and starts a background check
when none was made or the last is stale, so the page can draw at once and show "checking".
Only failures that made the caller wait (a timeout, no connection) mark the endpoint down: a
5xx or a bad reply came back at once and says nothing about the next question's wait.
One check at a time; each is bounded by the client's own timeouts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from assistant.errors import LLMError, LLMTimeoutError, LLMUnreachableError

if TYPE_CHECKING:
    from assistant.llm.wire import Health

log = logging.getLogger(__name__)

RECHECK_SECONDS = 30.0  # a down endpoint is checked again this long after the last verdict
State = Literal["unknown", "up", "down"]


@dataclass(frozen=True, slots=True)
class EndpointStatus:
    """The verdict as it stands: ``detail`` says why (one sentence), ``checking`` whether a
    check is under way."""

    state: State
    detail: str
    checking: bool


class EndpointWatch:
    """One endpoint's verdict, shared by every question (and, on the page, every session).

    ``probe`` is the real check (``LLMClient.health``); ``clock`` lets tests move time.
    """

    def __init__(
        self,
        probe: Callable[[], Health],
        *,
        cooldown: float = RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "unknown"
        self._detail = ""
        self._since: float | None = None  # when the verdict was reached
        self._thread: threading.Thread | None = None

    def status(self) -> EndpointStatus:
        """The verdict now, without waiting; starts a background check if it is stale."""
        with self._lock:
            found = EndpointStatus(self._state, self._detail, self._checking())
            stale = self._stale()
        if stale:
            self._start_check()
            found = EndpointStatus(found.state, found.detail, checking=True)
        return found

    def down_reason(self) -> str | None:
        """Why the endpoint is known to be down, or None (up, or not known: try it).

        A stale down verdict starts a check in the background; this question is still
        answered offline, so it does not wait for that check either.
        """
        with self._lock:
            if self._state != "down":
                return None
            reason, stale = self._detail, self._stale()
        if stale:
            self._start_check()
        return reason

    def record(self, error: LLMError | None) -> None:
        """What a real call learned: None when it worked; a timeout or a failed connection
        marks the endpoint down; other failures leave the verdict as it was."""
        if error is None:
            self._set("up", "The LLM endpoint answered.")
        elif isinstance(error, LLMTimeoutError | LLMUnreachableError):
            self._set("down", str(error))

    def check(self) -> Health:
        """A real check now, waiting for it (``assistant config --check``, tests)."""
        health = self._probe()
        self._set("up" if health.ok else "down", str(health.detail))
        return health

    def wait(self, timeout: float) -> bool:
        """Wait for a background check under way; True when none is running afterwards."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self._checking()

    # internals ---------------------------------------------------------------------------

    def _set(self, state: State, detail: str) -> None:
        with self._lock:
            self._state, self._detail, self._since = state, detail, self._clock()

    def _stale(self) -> bool:
        return self._since is None or self._clock() - self._since >= self.cooldown

    def _checking(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _start_check(self) -> None:
        """Start a background check unless one is running."""
        with self._lock:
            if self._checking():
                return
            self._thread = threading.Thread(
                target=self._check_quietly, name="llm-endpoint-check", daemon=True
            )
            self._thread.start()

    def _check_quietly(self) -> None:
        try:
            self.check()
        except Exception:  # a thread has no caller to raise to: the verdict says it
            log.exception("the LLM endpoint check failed")
            self._set("down", "The LLM endpoint check failed; details are in the log.")
