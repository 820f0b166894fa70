"""Fixtures for the actor kernel tests: dispatchers, gates and a thread-leak check."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from statechartx.actors import PoolDispatcher, ThreadDispatcher

# Upper bound for any wait in these tests. A correct run waits microseconds;
# the bound only turns a hang into a failure.
WAIT = 10.0


class Gate:
    """An Event that a handler blocks on, with a bounded wait.

    ``entered`` is set when a handler reaches the gate, so a test can tell
    that the actor is busy without sleeping.
    """

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    def block(self, message: object = None) -> None:
        self.entered.set()
        assert self.opened.wait(WAIT), "gate was never opened"

    def open(self) -> None:
        self.opened.set()


@pytest.fixture
def gate() -> Iterator[Gate]:
    blocker = Gate()
    yield blocker
    # Never leave a handler blocked behind a failed assertion.
    blocker.open()


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread running after its teardown."""
    before = set(threading.enumerate())
    yield
    leftover = [
        thread
        for thread in threading.enumerate()
        if thread not in before and not isinstance(thread, threading.Timer)
    ]
    for thread in leftover:
        thread.join(WAIT)
    alive = [thread.name for thread in leftover if thread.is_alive()]
    assert not alive, f"threads still running after the test: {alive}"


@pytest.fixture(params=["thread", "pool"])
def dispatcher(
    request: pytest.FixtureRequest,
) -> Iterator[ThreadDispatcher | PoolDispatcher]:
    """Each dispatcher kind in turn; shut down (stopping leftovers) afterwards."""
    made: ThreadDispatcher | PoolDispatcher
    if request.param == "thread":
        made = ThreadDispatcher("test-threads")
    else:
        made = PoolDispatcher(2, name="test-pool")
    yield made
    made.shutdown(WAIT)
