"""What the assistant knows of the LLM endpoint's health: a known-down endpoint is answered
offline at once and checked again in the background after a cooldown, never on each question."""

from __future__ import annotations

import threading

from assistant.endpoint import EndpointWatch
from assistant.errors import LLMBadResponseError, LLMTimeoutError, LLMUnreachableError
from assistant.llm.wire import Health


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Probe:
    """A health check whose verdicts the test sets, counting its calls."""

    def __init__(self, *verdicts: Health) -> None:
        self.verdicts = list(verdicts)
        self.calls = 0
        self.release = threading.Event()
        self.release.set()

    def __call__(self) -> Health:
        self.calls += 1
        assert self.release.wait(timeout=10)
        return self.verdicts.pop(0) if len(self.verdicts) > 1 else self.verdicts[0]


def test_status_never_waits_for_the_check() -> None:
    probe = Probe(Health(False, "The endpoint timed out."))
    probe.release.clear()  # the check hangs until released
    watch = EndpointWatch(probe, clock=Clock())
    first = watch.status()
    assert first.state == "unknown" and first.checking
    probe.release.set()
    assert watch.wait(timeout=10)
    later = watch.status()
    assert later.state == "down" and later.detail == "The endpoint timed out."
    assert probe.calls == 1  # a fresh verdict is not checked again


def test_a_timeout_marks_it_down_and_later_questions_are_not_sent() -> None:
    clock = Clock()
    probe = Probe(Health(True, "ok"))
    watch = EndpointWatch(probe, cooldown=30.0, clock=clock)
    assert watch.down_reason() is None  # nothing known yet: a question may try
    watch.record(LLMTimeoutError("The LLM endpoint timed out while waiting for the answer."))
    assert watch.down_reason() == "The LLM endpoint timed out while waiting for the answer."
    clock.now += 10
    assert watch.down_reason() is not None and probe.calls == 0  # within the cooldown
    clock.now += 25  # past it: checked again in the background, still offline meanwhile
    assert watch.down_reason() is not None
    assert watch.wait(timeout=10) and probe.calls == 1
    assert watch.down_reason() is None and watch.status().state == "up"


def test_only_waiting_failures_mark_it_down() -> None:
    watch = EndpointWatch(Probe(Health(True, "ok")), clock=Clock())
    watch.record(LLMBadResponseError("HTTP 500"))  # answered at once: no wait to spare
    assert watch.down_reason() is None
    watch.record(LLMUnreachableError("Could not reach it."))
    assert watch.down_reason() == "Could not reach it."
    watch.record(None)  # a call that worked
    assert watch.down_reason() is None and watch.status().state == "up"


def test_a_check_that_raises_is_a_down_verdict_not_a_crash() -> None:
    def broken() -> Health:
        raise RuntimeError("boom")

    watch = EndpointWatch(broken, clock=Clock())
    watch.status()
    assert watch.wait(timeout=10)
    assert watch.status().state == "down"
