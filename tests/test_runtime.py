"""Runtime: lifecycle, sending, call, stop, timers and runtime-to-runtime sends.

Threads are synchronised with ``threading.Event`` and the kernel's wait
hooks, never with sleeps. An action that must hold the runtime's thread waits
on a gate ``Event`` with a timeout, and every test releases its gate in a
``finally`` clause so that a failure cannot leave a thread behind.
"""

from __future__ import annotations

import gc
import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from statechartx import (
    Event,
    Final,
    InterpreterNotRunning,
    Machine,
    State,
    Transition,
)
from statechartx.actors import Supervisor, hooks
from statechartx.errors import ShutdownTimeout, StatechartxError
from statechartx.runtime import CallTimeout, Runtime

# Upper bound for every wait on another thread, far above what any step needs.
WAIT = 10.0
# How long a blocking action holds the runtime's thread before giving up.
HOLD = 30.0


def counting_machine(name: str = "counting") -> Machine:
    """One state whose "e" self-transition records the event's data."""

    def record(ctx: Any) -> None:
        ctx.data["log"].append(ctx.event.data)

    def hold(ctx: Any) -> None:
        ctx.data["held"].set()
        ctx.data["gate"].wait(HOLD)

    return Machine(
        State(
            "top",
            initial="idle",
            children=[
                State(
                    "idle",
                    transitions=[
                        Transition("e", action=record),
                        Transition("hold", action=hold),
                        Transition("go", target="busy"),
                    ],
                ),
                State("busy", transitions=[Transition("back", target="idle")]),
            ],
        ),
        name=name,
    )


def gated_data() -> dict[str, Any]:
    return {"log": [], "held": threading.Event(), "gate": threading.Event()}


class _StopWaitReleaser:
    """A wait listener that sets ``gate`` when someone starts waiting for an
    actor named ``name`` to stop, which is after the stop request was made."""

    def __init__(self, name: str, gate: threading.Event) -> None:
        self.name = name
        self.gate = gate
        self.seen = threading.Event()

    def wait_started(self, kind: str, name: str) -> object:
        if kind == hooks.WAIT_STOP and name == self.name:
            self.seen.set()
            self.gate.set()
        return None

    def wait_ended(self, token: object) -> None:
        return None


@contextmanager
def release_when_stop_waits(name: str, gate: threading.Event) -> Iterator[_StopWaitReleaser]:
    releaser = _StopWaitReleaser(name, gate)
    previous = hooks.set_wait_listener(releaser)
    try:
        yield releaser
    finally:
        hooks.set_wait_listener(previous)
        gate.set()


# ----------------------------------------------------------------------
# Lifecycle


@pytest.mark.timeout(30)
def test_start_enters_initial_configuration() -> None:
    rt = Runtime(counting_machine(), name="start-initial", data=gated_data())
    assert rt.state == "new"
    rt.start()
    try:
        assert rt.configuration == frozenset({"top", "idle"})
        assert rt.is_in("idle")
        assert not rt.is_in("busy")
        assert rt.state == "running"
        assert not rt.finished
    finally:
        rt.stop()
    assert rt.state == "stopped"


@pytest.mark.timeout(30)
def test_runtime_thread_is_named_after_runtime() -> None:
    seen: list[str] = []
    machine = Machine(
        State("s", transitions=[Transition("who", action=lambda ctx: seen.append(threading.current_thread().name))])
    )
    with Runtime(machine, name="named-thread") as rt:
        rt.call("who", timeout=WAIT)
    assert seen == ["runtime:named-thread"]


@pytest.mark.timeout(30)
def test_start_twice_raises() -> None:
    rt = Runtime(counting_machine(), name="start-twice", data=gated_data()).start()
    try:
        with pytest.raises(InterpreterNotRunning, match="already started"):
            rt.start()
    finally:
        rt.stop()


@pytest.mark.timeout(30)
def test_is_in_unknown_state_raises() -> None:
    with Runtime(counting_machine(), name="is-in-unknown", data=gated_data()) as rt:
        with pytest.raises(StatechartxError, match="nowhere"):
            rt.is_in("nowhere")


@pytest.mark.timeout(30)
def test_context_manager_starts_and_stops() -> None:
    data = gated_data()
    with Runtime(counting_machine(), name="ctx-manager", data=data) as rt:
        for i in range(100):
            rt.send("e", i)
    assert rt.state == "stopped"
    # Leaving the block drains the mailbox.
    assert data["log"] == list(range(100))


@pytest.mark.timeout(30)
def test_datamodel_error_does_not_fail_start() -> None:
    class EntryBroken(Exception):
        pass

    def broken_datamodel(ctx: Any) -> None:
        raise EntryBroken("datamodel")

    machine = Machine(State("s"), datamodel=broken_datamodel)
    # A datamodel error is error.execution in SCXML: the start still succeeds.
    with Runtime(machine, name="start-error") as rt:
        assert rt.configuration == frozenset({"s"})


@pytest.mark.timeout(30)
def test_finished_after_top_level_final() -> None:
    machine = Machine([State("a", transitions=[Transition("end", target="done")]), Final("done")])
    with Runtime(machine, name="finishes") as rt:
        rt.send("end")
        assert rt.wait_idle(WAIT)
        assert rt.finished
        assert rt.configuration == frozenset({"done"})


@pytest.mark.timeout(30)
def test_event_after_finish_is_discarded() -> None:
    machine = Machine([State("a", transitions=[Transition("end", target="done")]), Final("done")])
    with Runtime(machine, name="finished-discard") as rt:
        rt.send("end")
        assert rt.wait_idle(WAIT)
        rt.send("more")
        assert rt.wait_idle(WAIT)
        assert rt.actor.restarts == 0
        assert rt.configuration == frozenset({"done"})


@pytest.mark.timeout(30)
def test_transition_to_waits_and_checks_id() -> None:
    with Runtime(counting_machine(), name="transition-to", data=gated_data()) as rt:
        rt.transition_to("busy", timeout=WAIT)
        assert rt.configuration == frozenset({"top", "busy"})
        rt.transition_to("idle")
        assert rt.wait_idle(WAIT)
        assert rt.configuration == frozenset({"top", "idle"})
        with pytest.raises(StatechartxError, match="nowhere"):
            rt.transition_to("nowhere")


@pytest.mark.timeout(30)
def test_stopped_runtime_is_collectable() -> None:
    rt = Runtime(counting_machine(), name="collectable", data=gated_data()).start()
    rt.send("e", 1)
    rt.stop()
    ref = weakref.ref(rt)
    del rt
    gc.collect()
    assert ref() is None


@pytest.mark.timeout(30)
def test_registered_runtime_is_collectable_after_stop() -> None:
    rt = Runtime(counting_machine(), name="registered-collectable", data=gated_data())
    rt.register().start()
    rt.stop()
    ref = weakref.ref(rt)
    del rt
    gc.collect()
    assert ref() is None


# ----------------------------------------------------------------------
# Sending and call


@pytest.mark.timeout(30)
def test_send_processes_in_order() -> None:
    data = gated_data()
    with Runtime(counting_machine(), name="send-order", data=data) as rt:
        for i in range(1000):
            assert rt.send("e", i) is None
        rt.send_many([Event("e", 1000), Event("e", 1001)])
        assert rt.wait_idle(WAIT)
        assert data["log"] == list(range(1002))
        assert rt.metrics["statechartx_events_processed_total"] == 1002


@pytest.mark.timeout(30)
def test_call_returns_configuration_after_macrostep() -> None:
    def raise_next(ctx: Any) -> None:
        ctx.raise_event("next")

    machine = Machine(
        State(
            "top",
            initial="a",
            children=[
                State("a", transitions=[Transition("go", target="b", action=raise_next)]),
                # An eventless transition and a raised event both belong to
                # the macrostep of "go".
                State("b", transitions=[Transition(None, target="c")]),
                State("c", transitions=[Transition("next", target="d")]),
                State("d"),
            ],
        )
    )
    with Runtime(machine, name="call-config") as rt:
        assert rt.call("go", timeout=WAIT) == frozenset({"top", "d"})
        assert rt.configuration == frozenset({"top", "d"})


@pytest.mark.timeout(30)
def test_call_from_action_raises_instead_of_deadlock() -> None:
    errors: list[BaseException] = []

    def call_self(ctx: Any) -> None:
        runtime = ctx.data["runtime"][0]
        for attempt in (
            lambda: runtime.call("e", timeout=1.0),
            lambda: runtime.wait_idle(1.0),
            lambda: runtime.transition_to("idle", timeout=1.0),
        ):
            try:
                attempt()
            except StatechartxError as exc:
                errors.append(exc)

    machine = Machine(State("idle", transitions=[Transition("inside", action=call_self), Transition("e")]))
    holder: list[Runtime] = []
    with Runtime(machine, name="call-inside", data={"runtime": holder}) as rt:
        holder.append(rt)
        rt.call("inside", timeout=WAIT)
    assert len(errors) == 3
    for error in errors:
        assert "own thread" in str(error)
        assert "ctx.send" in str(error)


@pytest.mark.timeout(30)
def test_call_timeout_raises_call_timeout() -> None:
    data = gated_data()
    rt = Runtime(counting_machine(), name="call-timeout", data=data).start()
    try:
        rt.send("hold")
        assert data["held"].wait(WAIT)
        with pytest.raises(CallTimeout, match="call-timeout"):
            rt.call("e", 1, timeout=0.2)
    finally:
        data["gate"].set()
        rt.stop()
    # The timed-out call was still processed once the runtime was free.
    assert data["log"] == [1]


@pytest.mark.timeout(30)
def test_send_after_stop_raises_not_running() -> None:
    rt = Runtime(counting_machine(), name="send-after-stop", data=gated_data()).start()
    rt.stop()
    with pytest.raises(InterpreterNotRunning, match="send-after-stop"):
        rt.send("e")
    with pytest.raises(InterpreterNotRunning):
        rt.call("e", timeout=1.0)
    with pytest.raises(InterpreterNotRunning):
        rt.transition_to("busy", timeout=1.0)
    assert rt.stop() == []


@pytest.mark.timeout(30)
def test_send_many_after_stop_raises_not_running() -> None:
    rt = Runtime(counting_machine(), name="send-many-after-stop", data=gated_data()).start()
    rt.stop()
    with pytest.raises(InterpreterNotRunning):
        rt.send_many(["e"])
    with pytest.raises(InterpreterNotRunning):
        rt.transition_to("busy")


@pytest.mark.timeout(30)
def test_send_before_start_is_queued() -> None:
    data = gated_data()
    rt = Runtime(counting_machine(), name="send-before-start", data=data)
    rt.send("e", "early")
    rt.start()
    try:
        assert rt.wait_idle(WAIT)
        assert data["log"] == ["early"]
    finally:
        rt.stop()


# ----------------------------------------------------------------------
# Runtime to runtime


@pytest.mark.timeout(60)
def test_ping_pong_between_registered_runtimes() -> None:
    rounds = 2000
    done = threading.Event()

    def bounce(ctx: Any) -> None:
        count = ctx.event.data
        ctx.data["seen"].append(count)
        if count >= rounds:
            done.set()
            return
        # One send to the peer and one to this runtime's own mailbox.
        ctx.send("ball", count + 1, target=ctx.data["peer"])
        ctx.send("tick", count)

    def machine(name: str) -> Machine:
        return Machine(
            State(
                "play",
                transitions=[
                    Transition("ball", action=bounce),
                    Transition("tick", action=lambda ctx: ctx.data["ticks"].append(ctx.event.data)),
                ],
            ),
            name=name,
        )

    sup = Supervisor("ping-pong")
    ping_data: dict[str, Any] = {"peer": "pp-pong", "seen": [], "ticks": []}
    pong_data: dict[str, Any] = {"peer": "pp-ping", "seen": [], "ticks": []}
    ping = Runtime(machine("ping"), name="pp-ping", supervisor=sup, data=ping_data).register()
    pong = Runtime(machine("pong"), name="pp-pong", supervisor=sup, data=pong_data).register()
    try:
        ping.start()
        pong.start()
        ping.send("ball", 0)
        assert done.wait(WAIT * 3), "the ball stopped bouncing"
        assert ping.wait_idle(WAIT)
        assert pong.wait_idle(WAIT)
    finally:
        ping.stop()
        pong.stop()
        sup.stop()
    assert ping_data["seen"] == list(range(0, rounds + 1, 2))
    assert pong_data["seen"] == list(range(1, rounds + 1, 2))
    # Every bounce except the last queued one tick on its own runtime.
    assert ping_data["ticks"] + pong_data["ticks"] != []
    assert sorted(ping_data["ticks"] + pong_data["ticks"]) == list(range(rounds))


@pytest.mark.timeout(30)
def test_send_to_unknown_target_is_error_execution() -> None:
    errors: list[Any] = []
    machine = Machine(
        State(
            "s",
            transitions=[
                Transition("out", action=lambda ctx: ctx.send("x", target="no-such-runtime")),
                Transition("error.execution", action=lambda ctx: errors.append(ctx.event.data)),
            ],
        )
    )
    with Runtime(machine, name="unknown-target") as rt:
        rt.call("out", timeout=WAIT)
    assert len(errors) == 1
    assert "no-such-runtime" in str(errors[0])


# ----------------------------------------------------------------------
# Stop


@pytest.mark.timeout(30)
def test_stop_drain_processes_pending_events() -> None:
    data = gated_data()
    rt = Runtime(counting_machine(), name="stop-drain", data=data).start()
    with release_when_stop_waits("stop-drain", data["gate"]) as releaser:
        rt.send("hold")
        assert data["held"].wait(WAIT)
        for i in range(500):
            rt.send("e", i)
        assert rt.stop(timeout=WAIT, drain=True) == []
        assert releaser.seen.is_set()
    assert data["log"] == list(range(500))
    stats = rt.actor.mailbox.stats()
    assert stats.processed == 501
    assert stats.pending == 0
    assert stats.dropped == 0


@pytest.mark.timeout(30)
def test_stop_without_drain_returns_pending_events() -> None:
    data = gated_data()
    rt = Runtime(counting_machine(), name="stop-nodrain", data=data).start()
    sent = 500
    with release_when_stop_waits("stop-nodrain", data["gate"]):
        rt.send("hold")
        assert data["held"].wait(WAIT)
        for i in range(sent):
            rt.send("e", i)
        undelivered = rt.stop(timeout=WAIT, drain=False)
    # The consumer was held until the stop request had taken the mailbox, so
    # nothing after "hold" ran, and everything comes back in order.
    assert data["log"] == []
    assert [event.name for event in undelivered] == ["e"] * sent
    assert [event.data for event in undelivered] == list(range(sent))
    assert len(undelivered) + len(data["log"]) == sent


@pytest.mark.timeout(60)
def test_stop_without_drain_accounts_for_every_event() -> None:
    # No hold: the consumer races the stop. The two sides must add up, and
    # the processed events must be a prefix of those sent, the returned ones
    # the rest, in order. A large backlog and several rounds, because the
    # race needs the stop to overlap the consumer's work.
    sent = 200_000
    for round_number in range(10):
        data = gated_data()
        rt = Runtime(counting_machine(), name=f"stop-race-{round_number}", data=data).start()
        rt.send_many([Event("e", i) for i in range(sent)])
        undelivered = rt.stop(timeout=WAIT, drain=False)
        processed = data["log"]
        returned = [event.data for event in undelivered]
        assert len(processed) + len(returned) == sent
        assert sorted(processed + returned) == list(range(sent))
        assert processed + returned == list(range(sent)), f"round {round_number}"


@pytest.mark.timeout(30)
def test_stop_fails_pending_call_requests() -> None:
    data = gated_data()
    rt = Runtime(counting_machine(), name="stop-fails-call", data=data).start()
    outcome: list[BaseException] = []

    def caller() -> None:
        try:
            rt.call("e", "late", timeout=WAIT)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assert
            outcome.append(exc)

    # Runtime._put_request puts call() requests into the mailbox; wrapping
    # it tells the test when the call request is in the mailbox.
    queued = threading.Event()
    put = rt._put_request

    def put_and_signal(request: Any, what: str) -> None:
        put(request, what)
        queued.set()

    with release_when_stop_waits("stop-fails-call", data["gate"]):
        rt.send("hold")
        assert data["held"].wait(WAIT)
        rt._put_request = put_and_signal
        thread = threading.Thread(target=caller)
        thread.start()
        assert queued.wait(WAIT)
        rt.stop(timeout=WAIT, drain=False)
    thread.join(WAIT)
    assert not thread.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], InterpreterNotRunning)
    assert data["log"] == []


@pytest.mark.timeout(30)
def test_stop_timeout_names_stuck_runtime() -> None:
    data = gated_data()
    sup = Supervisor("stuck-sup")
    rt = Runtime(counting_machine(), name="stuck-runtime", supervisor=sup, data=data).start()
    try:
        rt.send("hold")
        assert data["held"].wait(WAIT)
        with pytest.raises(ShutdownTimeout) as info:
            rt.stop(timeout=0.5)
        message = str(info.value)
        assert "stuck-runtime" in message
        assert "runtime:stuck-runtime" in message
        # The stack of the stuck thread shows where it waits.
        assert "hold" in message
    finally:
        data["gate"].set()
        sup.stop(WAIT)
    assert rt.state == "stopped"
    sup.check_leaks()


@pytest.mark.timeout(30)
def test_stop_can_be_retried_after_timeout() -> None:
    data = gated_data()
    rt = Runtime(counting_machine(), name="stop-retry", data=data).start()
    try:
        # Start the private supervisor's timer thread.
        rt.send("e", "late", delay=HOLD)
        rt.send("hold")
        assert data["held"].wait(WAIT)
        with pytest.raises(ShutdownTimeout):
            rt.stop(timeout=0.2)
        data["gate"].set()
        rt.stop(timeout=WAIT)
        assert rt.state == "stopped"
        timer_thread = rt.supervisor.timers.thread
        assert timer_thread is not None
        assert not timer_thread.is_alive()
    finally:
        data["gate"].set()
        rt.supervisor.stop(WAIT)


# ----------------------------------------------------------------------
# Timers


def timer_machine() -> Machine:
    def arrived(ctx: Any) -> None:
        ctx.data["arrivals"].append(ctx.event.data)
        if ctx.event.data == ctx.data["last"]:
            ctx.data["done"].set()

    def send_later(ctx: Any) -> None:
        # One (label, delay) pair, or a list of them sent in one macrostep.
        pairs = ctx.event.data if isinstance(ctx.event.data, list) else [ctx.event.data]
        for label, delay in pairs:
            ctx.data["sendids"].append(ctx.send("tick", label, delay=delay))

    return Machine(
        State(
            "s",
            transitions=[
                Transition("tick", action=arrived),
                Transition("later", action=send_later),
                Transition("cancel", action=lambda ctx: ctx.data["cancelled"].append(ctx.cancel(ctx.event.data))),
            ],
        )
    )


def timer_data(last: Any) -> dict[str, Any]:
    return {
        "arrivals": [],
        "done": threading.Event(),
        "last": last,
        "sendids": [],
        "cancelled": [],
    }


@pytest.mark.timeout(30)
def test_delayed_events_arrive_in_delay_order() -> None:
    data = timer_data(last="d")
    with Runtime(timer_machine(), name="delay-order", data=data) as rt:
        # Scheduled out of order, 0.5 s apart: far more than four sends take,
        # even on a loaded two-core machine.
        rt.send("tick", "c", delay=1.5)
        rt.send("tick", "a", delay=0.5)
        rt.send("tick", "d", delay=2.0)
        rt.send("tick", "b", delay=1.0)
        assert data["done"].wait(WAIT)
    assert data["arrivals"] == ["a", "b", "c", "d"]


@pytest.mark.timeout(30)
def test_delayed_send_from_action_arrives_in_order() -> None:
    data = timer_data(last="z")
    with Runtime(timer_machine(), name="delay-action", data=data) as rt:
        # One action schedules all three, so their delays count from the
        # same moment however loaded the machine is.
        rt.send("later", [("z", 0.3), ("x", 0.1), ("y", 0.2)])
        assert data["done"].wait(WAIT)
    assert data["arrivals"] == ["x", "y", "z"]
    assert len(set(data["sendids"])) == 3


@pytest.mark.timeout(30)
def test_cancel_prevents_delivery() -> None:
    data = timer_data(last="marker")
    with Runtime(timer_machine(), name="cancel", data=data) as rt:
        doomed = rt.send("tick", "doomed", delay=1.0)
        assert doomed is not None
        rt.send("tick", "marker", delay=1.5)
        assert rt.cancel(doomed) is True
        assert rt.cancel(doomed) is False
        # Timers fire in due order, so the marker proves the doomed one's
        # time has passed.
        assert data["done"].wait(WAIT)
    assert data["arrivals"] == ["marker"]


@pytest.mark.timeout(30)
def test_cancel_from_action_prevents_delivery() -> None:
    data = timer_data(last="marker")
    with Runtime(timer_machine(), name="cancel-action", data=data) as rt:
        # Delays longer than a loaded machine may take to reach the cancel.
        rt.send("later", ("doomed", 2.0))
        rt.send("later", ("marker", 2.5))
        assert rt.wait_idle(WAIT)
        rt.send("cancel", data["sendids"][0])
        assert data["done"].wait(WAIT)
    assert data["cancelled"] == [True]
    assert data["arrivals"] == ["marker"]


@pytest.mark.timeout(30)
def test_no_timer_fires_after_stop(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="statechartx")
    sup = Supervisor("timers-after-stop")
    stopped_data = timer_data(last=None)
    witness_data = timer_data(last="witness")
    stopped = Runtime(timer_machine(), name="timer-stopped", supervisor=sup, data=stopped_data)
    witness = Runtime(timer_machine(), name="timer-witness", supervisor=sup, data=witness_data)
    try:
        stopped.start()
        witness.start()
        # The stop must come before these are due, on a loaded machine too.
        stopped.send("tick", "direct", delay=1.0)
        stopped.send("later", ("from-action", 1.0))
        assert stopped.wait_idle(WAIT)
        witness.send("tick", "witness", delay=1.5)
        stopped.stop(timeout=WAIT)
        # One timer thread serves both runtimes in due order: once the
        # witness fired, the stopped runtime's timers would have too.
        assert witness_data["done"].wait(WAIT)
    finally:
        witness.stop()
        sup.stop(WAIT)
    assert stopped_data["arrivals"] == []
    assert stopped.actor.mailbox.stats().rejected == 0
    assert not [r for r in caplog.records if "not delivered" in r.getMessage()]


@pytest.mark.timeout(60)
def test_many_pending_timers_share_one_thread() -> None:
    before = {t.ident for t in threading.enumerate()}
    sup = Supervisor("many-timers")
    rt = Runtime(timer_machine(), name="many-timers", supervisor=sup, data=timer_data(last=None))
    try:
        rt.start()
        after_start = {t.ident for t in threading.enumerate()}
        for i in range(10_000):
            rt.send("tick", i, delay=HOLD + i / 1000)
        new = [t for t in threading.enumerate() if t.ident not in after_start]
        print(f"\nthreads added by 10,000 pending timers: {[t.name for t in new]}")
        assert len(new) == 1
        assert new[0].name == "timers:many-timers"
        assert sup.timers.pending() == 10_000
        rt.stop()
        assert sup.timers.pending() == 0
    finally:
        sup.stop(WAIT)
    left = [t for t in threading.enumerate() if t.ident not in before]
    assert left == []
