"""TimerService: due order, cancellation, owners, shutdown, one thread for all."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from statechartx.actors import TimerService

from .conftest import WAIT


class Latch:
    """Counts callbacks and opens once ``expected`` have run."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.fired: list[object] = []
        self.done = threading.Event()
        self._lock = threading.Lock()

    def callback(self, label: object) -> object:
        def fire() -> None:
            with self._lock:
                self.fired.append(label)
                if len(self.fired) == self.expected:
                    self.done.set()

        return fire


@pytest.fixture
def timers() -> Iterator[TimerService]:
    service = TimerService("test")
    yield service
    service.shutdown(WAIT)


def test_timers_fire_in_due_order(timers: TimerService) -> None:
    delays = [0.05, 0.01, 0.04, 0.02, 0.03]
    latch = Latch(len(delays))
    for delay in delays:
        timers.schedule(delay, latch.callback(delay))  # type: ignore[arg-type]

    assert latch.done.wait(WAIT)
    assert latch.fired == sorted(delays)


def test_equal_due_times_fire_in_schedule_order(timers: TimerService) -> None:
    latch = Latch(50)
    gate = threading.Event()
    # Hold the timer thread so that all 50 are due before any runs.
    timers.schedule(0, gate.wait)
    for label in range(50):
        timers.schedule(0, latch.callback(label))  # type: ignore[arg-type]
    gate.set()

    assert latch.done.wait(WAIT)
    assert latch.fired == list(range(50))


def test_cancel_prevents_delivery(timers: TimerService) -> None:
    latch = Latch(1)
    cancelled = timers.schedule(1.0, latch.callback("cancelled"))  # type: ignore[arg-type]
    assert timers.cancel(cancelled) is True
    assert timers.cancel(cancelled) is False
    fired = timers.schedule(1.2, latch.callback("fired"))  # type: ignore[arg-type]

    assert latch.done.wait(WAIT)
    assert latch.fired == ["fired"]
    assert timers.cancel(fired) is False
    assert timers.pending() == 0


def test_cancel_owner_cancels_only_its_timers(timers: TimerService) -> None:
    latch = Latch(1)
    owner, other = object(), object()
    for label in range(3):
        timers.schedule(1.0, latch.callback(("owner", label)), owner=owner)  # type: ignore[arg-type]
    timers.schedule(1.2, latch.callback("other"), owner=other)  # type: ignore[arg-type]

    assert timers.cancel_owner(owner) == 3
    assert timers.cancel_owner(owner) == 0
    assert latch.done.wait(WAIT)
    assert latch.fired == ["other"]
    assert timers.pending() == 0


def test_nothing_fires_after_shutdown() -> None:
    timers = TimerService("closing")
    latch = Latch(1)
    for label in range(100):
        timers.schedule(1.0 + label / 1_000, latch.callback(label))  # type: ignore[arg-type]
    thread = timers.thread

    timers.shutdown(WAIT)

    # The only thread that runs callbacks has ended, so none can run later.
    assert thread is not None
    assert not thread.is_alive()
    assert timers.pending() == 0
    assert latch.fired == []
    with pytest.raises(RuntimeError, match="shut down"):
        timers.schedule(0, latch.callback("late"))  # type: ignore[arg-type]


def test_shutdown_waits_for_running_callback() -> None:
    timers = TimerService("busy")
    started = threading.Event()
    release = threading.Event()
    finished: list[bool] = []

    def slow() -> None:
        started.set()
        release.wait(WAIT)
        finished.append(True)

    timers.schedule(0, slow)
    assert started.wait(WAIT)
    releaser = threading.Timer(0.01, release.set)
    releaser.start()
    timers.shutdown(WAIT)
    releaser.join(WAIT)

    assert finished == [True]


def test_ten_thousand_timers_share_one_thread(timers: TimerService) -> None:
    assert timers.thread is None
    before = set(threading.enumerate())

    for index in range(10_000):
        timers.schedule(3_600 + index, lambda: None, owner="many")

    started = [thread for thread in threading.enumerate() if thread not in before]
    assert started == [timers.thread]
    assert timers.thread is not None
    assert timers.thread.name == "timers:test"
    assert timers.pending() == 10_000
    assert timers.cancel_owner("many") == 10_000
    assert timers.pending() == 0


def test_raising_callback_is_logged(
    timers: TimerService, caplog: pytest.LogCaptureFixture
) -> None:
    latch = Latch(1)

    def broken() -> None:
        raise ValueError("broken timer")

    with caplog.at_level(logging.ERROR, logger="statechartx.actors.timers"):
        timers.schedule(0, broken)
        timers.schedule(0, latch.callback("after"))  # type: ignore[arg-type]
        assert latch.done.wait(WAIT)

    assert latch.fired == ["after"]
    assert "broken timer" in caplog.text


@pytest.mark.parametrize("delay", [float("nan"), float("inf"), "1"])
def test_invalid_delay_is_rejected(timers: TimerService, delay: object) -> None:
    with pytest.raises(ValueError, match="delay"):
        timers.schedule(delay, lambda: None)  # type: ignore[arg-type]
    assert timers.thread is None
