"""When to send a request again, and how long to wait first: one policy for every call.

``RetryPolicy`` holds the numbers; ``RetryPolicy.retrying`` turns them into a tenacity
``Retrying`` bound to one call's deadline, which ``complete``, ``stream`` and ``health`` all use.

Retried, all before the first byte of an answer (so a caller never sees text twice):
429 and 5xx answers, and connects that failed or timed out.
Not retried: a refused connection (nothing listens on the port, and trying again within seconds
only delays the fallback answer, by 1.5 s with the default backoff), other statuses, read
timeouts, anything that goes wrong mid-answer.
Waits: exponential from ``backoff_base``, each capped at ``backoff_cap``; a ``Retry-After``
header on the failed answer wins. A server asking for more than ``retry_after_max`` seconds is
not waited for at all: the last failure is raised at once, so the answer falls back to the
offline one instead of leaving the user looking at a spinner. The call's one deadline bounds
the whole: a wait that would end past it is not started, and the last failure is raised instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import tenacity

from assistant.llm.errors import is_refused, retry_after

log = logging.getLogger(__name__)


def is_retryable(exc: BaseException) -> bool:
    """A failure that a second try soon may not meet: overload, rate limits, a failed connect."""
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return status == 429 or status >= 500
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return not is_refused(exc)
    return False


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait before trying again (429, 5xx, failed connects)."""

    max_retries: int = 2
    backoff_base: float = 0.5  # seconds before the first retry; doubles each time
    backoff_cap: float = 8.0  # no single backoff is longer than this
    retry_after_max: float = 5.0  # a server asking for longer than this is not retried

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0-based)."""
        if retry_after is not None:
            return max(retry_after, 0.0)
        return min(self.backoff_cap, self.backoff_base * 2.0**attempt)

    def gives_up(self, retry_after: float | None) -> bool:
        """A ``Retry-After`` this long means the answer should fall back now, not wait."""
        return retry_after is not None and retry_after > self.retry_after_max

    def retrying(
        self,
        *,
        deadline: float,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> tenacity.Retrying:
        """A tenacity controller for one call that must be over by ``deadline`` (on ``clock``).

        It re-raises the last failure as it was, for the caller to map to a typed error.
        """

        def wait(state: tenacity.RetryCallState) -> float:
            return self.delay(state.attempt_number - 1, retry_after(_failure(state)))

        def stop(state: tenacity.RetryCallState) -> bool:
            # Computes the wait itself rather than reading tenacity's upcoming sleep: whether
            # the wait is known when stop runs differs between tenacity releases.
            if self.gives_up(retry_after(_failure(state))):
                return True
            return state.attempt_number > self.max_retries or clock() + wait(state) > deadline

        def before_sleep(state: tenacity.RetryCallState) -> None:
            failure = _failure(state)
            reason = str(failure) if isinstance(failure, httpx.HTTPStatusError) else None
            log.warning(
                "LLM request failed (%s); retry %d of %d in %.1f s",
                reason or type(failure).__name__,
                state.attempt_number,
                self.max_retries,
                wait(state),
            )

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_retryable),
            stop=stop,
            wait=wait,
            sleep=sleep,
            before_sleep=before_sleep,
            reraise=True,
        )


def _failure(state: tenacity.RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None
