"""Runtime-level supervision: crashes, restarts, escalation and leak checks.

A crash is an exception that escapes the interpreter, here a
``MacrostepLimitError`` from an eventless cycle. The runtime's actor is then
restarted by its strategy: the machine starts over from its initial
configuration and the events queued behind the crashing one are kept.
"""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest

from statechartx import MacrostepLimitError, Machine, State, Transition
from statechartx.actors import Supervisor
from statechartx.errors import EscalatedFailure
from statechartx.runtime import Runtime

WAIT = 10.0
HOLD = 30.0


def cycling_machine() -> Machine:
    """"loop" enters an eventless cycle x <-> y, and "mark" records its data.

    "hold" parks the runtime's thread on a gate so that a test can queue
    events behind the crashing one before the crash happens.
    """

    def mark(ctx: Any) -> None:
        ctx.data["marks"].append(ctx.event.data)

    def hold(ctx: Any) -> None:
        ctx.data["held"].set()
        ctx.data["gate"].wait(HOLD)

    def booted(ctx: Any) -> None:
        ctx.data["boots"].append(threading.current_thread().name)

    return Machine(
        State(
            "top",
            initial="idle",
            on_entry=booted,
            transitions=[
                Transition("mark", action=mark),
                Transition("hold", action=hold),
                Transition("loop", target="x", internal=True),
            ],
            children=[
                State(
                    "idle",
                    transitions=[
                        Transition("go", target="other"),
                    ],
                ),
                State("other"),
                State("x", transitions=[Transition(None, target="y")]),
                State("y", transitions=[Transition(None, target="x")]),
            ],
        )
    )


def cycling_data() -> dict[str, Any]:
    # Runtime copies the dict on every (re)start, but not its values, so the
    # lists collect across restarts.
    return {"marks": [], "boots": [], "held": threading.Event(), "gate": threading.Event()}


@pytest.mark.timeout(30)
def test_macrostep_limit_restarts_and_keeps_mailbox() -> None:
    data = cycling_data()
    sup = Supervisor("restart-keeps-mailbox")
    rt = Runtime(
        cycling_machine(), name="restarting", supervisor=sup, data=data, max_microsteps=100
    )
    try:
        rt.start()
        rt.send("go")
        rt.send("hold")
        assert data["held"].wait(WAIT)
        # Queued while the runtime is held: the crash, then events behind it.
        rt.send("loop")
        for i in range(10):
            rt.send("mark", i)
        data["gate"].set()
        assert rt.wait_idle(WAIT)
        assert rt.actor.restarts == 1
        assert sup.restarts == 1
        assert sup.failure is None
        # The restart re-entered the initial configuration ("idle", not
        # "other") and ran the entry actions again.
        assert rt.configuration == frozenset({"top", "idle"})
        assert len(data["boots"]) == 2
        assert data["marks"] == list(range(10))
        assert rt.state == "running"
    finally:
        data["gate"].set()
        rt.stop()
        sup.stop(WAIT)
    sup.check_leaks()


@pytest.mark.timeout(30)
def test_restart_counts_every_event() -> None:
    data = cycling_data()
    sup = Supervisor("restart-accounting")
    rt = Runtime(
        cycling_machine(), name="restart-accounting", supervisor=sup, data=data, max_microsteps=50
    )
    try:
        rt.start()
        for i in range(100):
            rt.send("mark", i)
            if i % 40 == 39:
                rt.send("loop")
        assert rt.wait_idle(WAIT)
        metrics = rt.metrics
        assert rt.actor.restarts == 2
        assert data["marks"] == list(range(100))
        # The crashing events count as processed: they were consumed.
        assert metrics["statechartx_events_processed_total"] == 102
    finally:
        rt.stop()
        sup.stop(WAIT)


@pytest.mark.timeout(30)
def test_too_many_restarts_escalate() -> None:
    data = cycling_data()
    sup = Supervisor("escalates")
    rt = Runtime(
        cycling_machine(),
        name="escalating",
        supervisor=sup,
        data=data,
        max_microsteps=100,
        max_restarts=2,
        window=60.0,
    )
    try:
        rt.start()
        for _ in range(3):
            rt.send("loop")
        failure = sup.wait_failed(WAIT)
        assert isinstance(failure, EscalatedFailure)
        assert sup.failure is failure
        assert "escalating" in str(failure)
        assert isinstance(failure.__cause__, MacrostepLimitError)
        assert rt.actor.restarts == 2
        assert rt.actor.join(WAIT)
        assert rt.state == "failed"
    finally:
        data["gate"].set()
        rt.stop()
        sup.stop(WAIT)


@pytest.mark.timeout(30)
def test_stop_strategy_ends_failed_without_escalation() -> None:
    data = cycling_data()
    sup = Supervisor("stop-strategy")
    rt = Runtime(
        cycling_machine(), name="stop-strategy", supervisor=sup, data=data,
        max_microsteps=100, strategy="stop",
    )
    try:
        rt.start()
        rt.send("loop")
        assert rt.actor.join(WAIT)
        assert rt.state == "failed"
        assert isinstance(rt.actor.failure, MacrostepLimitError)
        assert sup.failure is None
    finally:
        rt.stop()
        sup.stop(WAIT)


@pytest.mark.timeout(30)
def test_escalate_strategy_fails_supervisor_at_once() -> None:
    sup = Supervisor("escalate-strategy")
    rt = Runtime(
        cycling_machine(), name="escalate-strategy", supervisor=sup, data=cycling_data(),
        max_microsteps=100, strategy="escalate",
    )
    try:
        rt.start()
        rt.send("loop")
        failure = sup.wait_failed(WAIT)
        assert isinstance(failure, EscalatedFailure)
        assert rt.actor.restarts == 0
    finally:
        rt.stop()
        sup.stop(WAIT)


@pytest.mark.timeout(30)
def test_crash_during_call_restarts_like_send() -> None:
    data = cycling_data()
    sup = Supervisor("crash-in-call")
    rt = Runtime(cycling_machine(), name="crash-in-call", supervisor=sup, data=data, max_microsteps=100)
    try:
        rt.start()
        with pytest.raises(MacrostepLimitError):
            rt.call("loop", timeout=WAIT)
        assert rt.call("mark", "after", timeout=WAIT) == frozenset({"top", "idle"})
        assert rt.actor.restarts == 1
        assert data["marks"] == ["after"]
    finally:
        rt.stop()
        sup.stop(WAIT)


@pytest.mark.timeout(120)
def test_start_stop_cycles_leave_nothing_behind() -> None:
    cycles = 1000
    machine = cycling_machine()
    gc.collect()
    threads_before = {t.ident for t in threading.enumerate()}
    with Supervisor("cycles", check_objects=True) as sup:
        for i in range(cycles):
            data = cycling_data()
            rt = Runtime(machine, name=f"cycle-{i}", supervisor=sup, data=data)
            rt.register()
            rt.start()
            rt.send("mark", i)
            rt.send("go", delay=HOLD)  # a pending timer that stop must cancel
            assert rt.call("mark", -i, timeout=WAIT) == frozenset({"top", "idle"})
            assert rt.stop() == []
            assert data["marks"] == [i, -i]
        assert sup.timers.pending() == 0
        assert sup.children == []
        del rt, data
    # Leaving the block stopped the supervisor and ran check_leaks: no
    # thread, actor, pending message or statechartx object left over.
    left = [t.name for t in threading.enumerate() if t.ident not in threads_before]
    assert left == []


@pytest.mark.timeout(60)
def test_leak_check_finds_runtime_left_running() -> None:
    sup = Supervisor("leak-found", check_objects=False)
    rt = Runtime(cycling_machine(), name="left-running", supervisor=sup, data=cycling_data())
    rt.start()
    try:
        with pytest.raises(AssertionError, match="left-running"):
            sup.check_leaks()
    finally:
        rt.stop()
        sup.stop(WAIT)
    sup.check_leaks()
