"""Supervisor: restart strategies, escalation, stop order, nesting and leak checks."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator

import objgraph
import pytest

from statechartx.actors import (
    Actor,
    ActorState,
    PoolDispatcher,
    Supervisor,
    SupervisorState,
    ThreadDispatcher,
)
from statechartx.actors import supervisor as supervisor_module
from statechartx.errors import EscalatedFailure, LeakError, ShutdownTimeout

from .conftest import WAIT, Gate

# Actors deliberately leaked by test_check_leaks_reports_object_growth.
LEAKED: list[object] = []


class Boom(Exception):
    """The exception the test actors raise on purpose."""


def crash_on_boom(log: list[object]) -> Callable[[object], None]:
    def handle(message: object) -> None:
        log.append(message)
        if message == "boom":
            raise Boom("boom")

    return handle


class Counting(Actor):
    """Counts messages in state that ``on_start`` resets."""

    def on_start(self) -> None:
        self.seen: list[object] = []

    def receive(self, message: object) -> None:
        self.seen.append(message)
        if message == "boom":
            raise Boom(message)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Shift the supervisor's clock by the seconds in ``offset[0]``."""
    offset = [0.0]
    monkeypatch.setattr(
        supervisor_module, "monotonic", lambda: time.monotonic() + offset[0]
    )
    yield offset


def test_restart_keeps_mailbox() -> None:
    handlers: list[list[object]] = []

    def factory() -> Callable[[object], None]:
        log: list[object] = []
        handlers.append(log)
        return crash_on_boom(log)

    with Supervisor("restarts") as sup:
        actor = Actor("phoenix", handler_factory=factory)
        for message in ["a", "boom", "b", "c"]:
            actor.send(message)
        sup.spawn(actor, strategy="restart", max_restarts=3)
        actor.request_stop(drain=True)
        assert actor.join(WAIT)

    assert handlers == [["a", "boom"], ["b", "c"]]
    assert actor.restarts == 1
    assert sup.restarts == 1
    assert actor.state is ActorState.STOPPED
    assert actor.mailbox.stats().processed == 4


def test_restart_gives_subclass_fresh_state(
    dispatcher: ThreadDispatcher | PoolDispatcher,
) -> None:
    with Supervisor("fresh", dispatcher=dispatcher) as sup:
        actor = Counting("counter")
        for message in [1, 2, "boom", 3]:
            actor.send(message)
        sup.spawn(actor)
        actor.request_stop(drain=True)
        assert actor.join(WAIT)

    assert actor.seen == [3]
    assert actor.restarts == 1


def test_max_restarts_then_escalate() -> None:
    log: list[object] = []
    failures: list[EscalatedFailure] = []

    with pytest.raises(EscalatedFailure) as raised:
        with Supervisor("limited", on_failure=failures.append) as sup:
            actor = sup.spawn(
                Actor("crasher", handler=crash_on_boom(log)),
                strategy="restart",
                max_restarts=2,
                window=60.0,
            )
            for _ in range(3):
                actor.send("boom")
            actor.send("never")
            failure = sup.wait_failed(WAIT)
            assert failure is not None
            assert actor.join(WAIT)

    assert raised.value is failure
    assert isinstance(raised.value.__cause__, Boom)
    assert "'crasher'" in str(raised.value)
    assert "2 restart(s) within 60.0 s" in str(raised.value)
    assert failures == [failure]
    assert sup.state is SupervisorState.FAILED
    assert actor.state is ActorState.FAILED
    assert actor.restarts == 2
    assert log == ["boom", "boom", "boom"]
    assert actor.undelivered == ["never"]


def test_restarts_outside_window_do_not_count(fake_clock: list[float]) -> None:
    log: list[object] = []
    restarted = threading.Semaphore(0)

    def factory() -> Callable[[object], None]:
        restarted.release()
        return crash_on_boom(log)

    with Supervisor("windowed") as sup:
        actor = sup.spawn(
            Actor("periodic", handler_factory=factory),
            max_restarts=1,
            window=10.0,
        )
        assert restarted.acquire(timeout=WAIT)
        for _ in range(3):
            actor.send("boom")
            assert restarted.acquire(timeout=WAIT)
            fake_clock[0] += 11.0

        assert sup.failure is None
        assert actor.restarts == 3
        assert actor.state is ActorState.RUNNING


def test_stop_strategy_fails_only_the_actor() -> None:
    log: list[object] = []
    seen: list[object] = []

    with Supervisor("tolerant") as sup:
        fragile = sup.spawn(
            Actor("fragile", handler=crash_on_boom(log)), strategy="stop"
        )
        steady = sup.spawn(Actor("steady", handler=seen.append))
        fragile.send("boom")
        assert fragile.join(WAIT)
        steady.send("still here")

    assert fragile.state is ActorState.FAILED
    assert isinstance(fragile.failure, Boom)
    assert fragile.restarts == 0
    assert sup.state is SupervisorState.STOPPED
    assert sup.failure is None
    assert seen == ["still here"]


def test_escalate_through_child_supervisor() -> None:
    log: list[object] = []

    with pytest.raises(EscalatedFailure) as raised:
        with Supervisor("parent") as parent:
            bystander = parent.spawn(Actor("bystander", handler=print))
            child = parent.spawn_supervisor("child", strategy="escalate")
            actor = child.spawn(
                Actor("deep", handler=crash_on_boom(log)), strategy="escalate"
            )
            actor.send("boom")
            assert parent.wait_failed(WAIT) is not None
            assert bystander.join(WAIT)

    text = str(raised.value)
    assert "'parent'" in text
    assert "'child'" in text
    assert "'deep'" in text
    assert isinstance(raised.value.__cause__, Boom)
    assert child.state is SupervisorState.FAILED
    assert parent.state is SupervisorState.FAILED
    assert bystander.state is ActorState.STOPPED


def test_child_supervisor_with_stop_strategy_contains_failure() -> None:
    log: list[object] = []
    seen: list[object] = []

    with Supervisor("parent") as parent:
        child = parent.spawn_supervisor("child", strategy="stop")
        sibling = child.spawn(Actor("sibling", handler=print))
        actor = child.spawn(
            Actor("deep", handler=crash_on_boom(log)), strategy="escalate"
        )
        actor.send("boom")
        assert child.wait_failed(WAIT) is not None
        assert sibling.join(WAIT)
        steady = parent.spawn(Actor("steady", handler=seen.append))
        steady.send("parent goes on")

    assert child.state is SupervisorState.FAILED
    assert parent.failure is None
    assert parent.state is SupervisorState.STOPPED
    assert seen == ["parent goes on"]


def test_stop_order_is_reverse_start_order(
    dispatcher: ThreadDispatcher | PoolDispatcher,
) -> None:
    stopped: list[str] = []

    class Tracked(Actor):
        def receive(self, message: object) -> None:
            pass

        def on_stop(self) -> None:
            stopped.append(self.name)

    with Supervisor("ordered", dispatcher=dispatcher) as sup:
        first = sup.spawn(Tracked("first"))
        child = sup.spawn_supervisor("child")
        child.spawn(Tracked("child-first"))
        child.spawn(Tracked("child-second"))
        sup.spawn(Tracked("last"))
        assert [c.name for c in sup.children] == ["first", "child", "last"]
        assert first.state is not ActorState.NEW

    assert stopped == ["last", "child-second", "child-first", "first"]


def test_stop_timeout_names_stuck_actor(gate: Gate) -> None:
    def block_forever(message: object) -> None:
        gate.block()

    sup = Supervisor("stuck", stop_timeout=0.1)
    healthy = sup.spawn(Actor("healthy", handler=print))
    stuck = sup.spawn(Actor("blocker", handler=block_forever))
    stuck.send("go")
    assert gate.entered.wait(WAIT)

    with pytest.raises(ShutdownTimeout) as raised:
        sup.stop()

    text = str(raised.value)
    assert "'blocker'" in text
    assert "block_forever" in text
    assert "'healthy'" not in text
    assert healthy.state is ActorState.STOPPED
    with pytest.raises(LeakError) as leaks:
        sup.check_leaks()
    assert "thread 'blocker' is still alive" in str(leaks.value)
    assert "actor 'blocker' is stopping, not stopped" in str(leaks.value)

    gate.open()
    assert stuck.join(WAIT)
    sup.check_leaks()


def test_exit_does_not_mask_propagating_exception(gate: Gate) -> None:
    with pytest.raises(ValueError, match="from the block"):
        with Supervisor("masking", stop_timeout=0.05) as sup:
            actor = sup.spawn(Actor("blocker", handler=gate.block))
            actor.send("go")
            assert gate.entered.wait(WAIT)
            raise ValueError("from the block")
    gate.open()
    assert actor.join(WAIT)


def test_check_leaks_reports_live_actor_and_mailbox(gate: Gate) -> None:
    sup = Supervisor("leaky")
    actor = sup.spawn(Actor("busy", handler=gate.block))
    actor.send("go")
    assert gate.entered.wait(WAIT)
    actor.send("waiting")

    with pytest.raises(LeakError) as raised:
        sup.check_leaks()

    text = str(raised.value)
    assert "actor 'busy' is running, not stopped" in text
    assert "thread 'busy' is still alive" in text
    assert "mailbox of actor 'busy' still holds 1 message(s)" in text
    gate.open()
    sup.stop(WAIT)
    sup.check_leaks()


def test_check_leaks_reports_object_growth() -> None:
    sup = Supervisor("objects", check_objects=True)
    kept = sup.spawn(Actor("kept", handler=print))
    kept.stop(timeout=WAIT)
    LEAKED.append(Actor("leaked", handler=print))
    try:
        with pytest.raises(LeakError) as raised:
            sup.check_leaks()
        text = str(raised.value)
        assert "statechartx.actors.mailbox.Mailbox +1" in text
        assert "statechartx.actors.actor.Actor +1" in text
    finally:
        LEAKED.clear()
    # The stopped actor is still referenced here, and that is not a leak.
    sup.stop(WAIT)
    sup.check_leaks(objects=True)
    assert kept.state is ActorState.STOPPED


def test_spawn_after_stop_is_rejected() -> None:
    sup = Supervisor("closed")
    sup.stop(WAIT)
    with pytest.raises(RuntimeError, match="'closed' is stopped"):
        sup.spawn(Actor("late", handler=print))


def test_spawn_validates_arguments() -> None:
    with Supervisor("validating") as sup:
        with pytest.raises(ValueError, match="strategy"):
            sup.spawn(Actor("a", handler=print), strategy="retry")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="max_restarts"):
            sup.spawn(Actor("b", handler=print), max_restarts=-1)
        with pytest.raises(ValueError, match="restart applies|not restarted"):
            sup.spawn_supervisor("c", strategy="restart")  # type: ignore[arg-type]


def test_stop_cancels_timers() -> None:
    fired: list[object] = []
    with Supervisor("timed") as sup:
        sup.timers.schedule(3_600, lambda: fired.append("late"))
        timer_thread = sup.timers.thread
    assert sup.timers.pending() == 0
    assert timer_thread is not None
    assert not timer_thread.is_alive()
    assert fired == []


def statechartx_counts() -> dict[str, int]:
    gc.collect()
    return objgraph.typestats(  # type: ignore[no-any-return]
        shortnames=False,
        filter=lambda obj: type(obj).__module__.startswith("statechartx"),
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("kind", "cycles"), [("thread", 1_000), ("pool", 200)])
def test_spawn_stop_cycles_leave_nothing(kind: str, cycles: int) -> None:
    def cycle() -> None:
        with Supervisor("cycle") as sup:
            dispatcher = sup.pool(2) if kind == "pool" else None
            actor = sup.spawn(Actor("cycled", handler=print), dispatcher=dispatcher)
            actor.send("")
            sup.timers.schedule(3_600, print)

    cycle()
    threads_before = set(threading.enumerate())
    objects_before = statechartx_counts()

    for _ in range(cycles):
        cycle()

    assert set(threading.enumerate()) == threads_before
    assert statechartx_counts() == objects_before
