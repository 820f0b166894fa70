"""Runtime under concurrent load: many producers, readers, bounded mailboxes.

These tests run on the GIL build and on free-threaded CPython (3.13t with
PYTHON_GIL=0); each prints whether the GIL was enabled so that a run's
output shows which one it exercised. They assert what must hold on both:
no event lost or duplicated, per-producer order kept, every snapshot a legal
configuration, and exact accounting of a bounded mailbox under overload.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from helpers import legal_configuration

from statechartx import Machine, Parallel, State, Transition
from statechartx.actors import Supervisor, hooks
from statechartx.errors import MailboxFull
from statechartx.runtime import CallTimeout, Runtime

WAIT = 10.0
HOLD = 30.0


def gil_state() -> str:
    check = getattr(sys, "_is_gil_enabled", None)
    enabled = True if check is None else check()
    return f"GIL {'enabled' if enabled else 'disabled'}"


def producer_machine(producers: int) -> Machine:
    """"e" with data (producer, seq) appends seq to that producer's list."""

    def record(ctx: Any) -> None:
        producer, seq = ctx.event.data
        log = ctx.data["logs"][producer]
        log.append(seq)
        if len(log) == ctx.data["expect"]:
            ctx.data["reached"].set()

    def hold(ctx: Any) -> None:
        ctx.data["held"].set()
        ctx.data["gate"].wait(HOLD)

    return Machine(
        State(
            "s",
            transitions=[Transition("e", action=record), Transition("hold", action=hold)],
        )
    )


def producer_data(producers: int, expect: int = -1) -> dict[str, Any]:
    """Per-producer logs; "reached" is set when one log contains ``expect`` items.

    Tests of a full mailbox wait on "reached" rather than on ``wait_idle``,
    whose request would compete with the events for the mailbox's capacity.
    """
    return {
        "logs": [[] for _ in range(producers)],
        "held": threading.Event(),
        "gate": threading.Event(),
        "expect": expect,
        "reached": threading.Event(),
    }


# ----------------------------------------------------------------------
# Many producers, one runtime


@pytest.mark.timeout(300)
def test_no_event_lost_or_duplicated() -> None:
    producers = 8
    per_producer = 50_000
    data = producer_data(producers)
    barrier = threading.Barrier(producers + 1, timeout=WAIT)
    errors: list[BaseException] = []

    def produce(producer: int, rt: Runtime) -> None:
        try:
            barrier.wait()
            send = rt.send
            for seq in range(per_producer):
                send("e", (producer, seq))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    with Runtime(producer_machine(producers), name="producers", data=data) as rt:
        threads = [
            threading.Thread(target=produce, args=(p, rt), name=f"producer-{p}")
            for p in range(producers)
        ]
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        barrier.wait()
        for thread in threads:
            thread.join(240)
        assert not any(thread.is_alive() for thread in threads)
        assert rt.wait_idle(240)
        elapsed = time.perf_counter() - started
        metrics = rt.metrics
    sent = producers * per_producer
    print(
        f"\n{gil_state()}: {producers} producers x {per_producer} events "
        f"in {elapsed:.2f} s ({sent / elapsed:,.0f} events/s)"
    )
    assert errors == []
    assert metrics["statechartx_events_processed_total"] == sent
    assert sum(len(log) for log in data["logs"]) == sent
    for producer, log in enumerate(data["logs"]):
        # Equal to range() means: none lost, none duplicated, order kept.
        assert log == list(range(per_producer)), f"producer {producer}"
    assert metrics["statechartx_events_rejected_total"] == 0
    assert metrics["statechartx_events_dropped_total"] == 0


# ----------------------------------------------------------------------
# Readers of the configuration snapshot


def nested_parallel_machine() -> Machine:
    return Machine(
        State(
            "top",
            initial="p",
            children=[
                Parallel(
                    "p",
                    transitions=[Transition("out", target="q")],
                    children=[
                        State(
                            "r1",
                            initial="a1",
                            children=[
                                State("a1", transitions=[Transition("t1", target="a2")]),
                                State(
                                    "a2",
                                    initial="a2x",
                                    transitions=[Transition("t1", target="a1")],
                                    children=[
                                        State("a2x", transitions=[Transition("t3", target="a2y")]),
                                        State("a2y", transitions=[Transition("t3", target="a2x")]),
                                    ],
                                ),
                            ],
                        ),
                        State(
                            "r2",
                            initial="b1",
                            children=[
                                State("b1", transitions=[Transition("t2", target="b2")]),
                                Parallel(
                                    "b2",
                                    transitions=[Transition("t2", target="b1")],
                                    children=[
                                        State("c1", initial="c1a", children=[State("c1a"), State("c1b")]),
                                        State("c2", initial="c2a", children=[State("c2a"), State("c2b")]),
                                    ],
                                ),
                            ],
                        ),
                    ],
                ),
                State("q", transitions=[Transition("in", target="p")]),
            ],
        )
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("concurrent_regions", [False, True], ids=["sequential", "region-actors"])
def test_configuration_readers_see_legal_snapshots(concurrent_regions: bool) -> None:
    machine = nested_parallel_machine()
    readers = 4
    events = 20_000 if not concurrent_regions else 4_000
    stop = threading.Event()
    problems: list[str] = []
    reads = [0] * readers
    distinct: list[set[frozenset[str]]] = [set() for _ in range(readers)]
    barrier = threading.Barrier(readers + 1, timeout=WAIT)

    def read(index: int, rt: Runtime) -> None:
        try:
            barrier.wait()
            # At least 100 reads each, even if the scheduler starves a reader
            # while the events flow.
            while not stop.is_set() or reads[index] < 100:
                config = rt.configuration
                if config not in distinct[index]:
                    check = legal_configuration(machine, config)
                    if not check:
                        problems.append(repr(check))
                    distinct[index].add(config)
                reads[index] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            problems.append(repr(exc))

    rng = random.Random(1)
    names = ["t1", "t2", "t3", "out", "in"]
    with Runtime(
        machine, name=f"read-config-{concurrent_regions}", concurrent_regions=concurrent_regions
    ) as rt:
        threads = [threading.Thread(target=read, args=(i, rt)) for i in range(readers)]
        for thread in threads:
            thread.start()
        try:
            barrier.wait()
            for _ in range(events):
                rt.send(rng.choice(names))
            assert rt.wait_idle(WAIT * 6)
        finally:
            stop.set()
            for thread in threads:
                thread.join(WAIT)
        final = rt.configuration
    print(
        f"\n{gil_state()}: {readers} readers, {sum(reads):,} reads, "
        f"{len(set().union(*distinct))} distinct configurations"
    )
    assert not any(thread.is_alive() for thread in threads)
    assert problems == []
    assert all(count >= 100 for count in reads)
    assert legal_configuration(machine, final)


# ----------------------------------------------------------------------
# Bounded mailboxes under overload


class _BlockedPutSignal:
    """A wait listener that sets ``blocked`` when a put blocks on a full mailbox."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.blocked = threading.Event()

    def wait_started(self, kind: str, name: str) -> object:
        if kind == hooks.WAIT_MAILBOX_FULL and name == self.name:
            self.blocked.set()
        return None

    def wait_ended(self, token: object) -> None:
        return None


@contextmanager
def signal_blocked_put(name: str) -> Iterator[_BlockedPutSignal]:
    signal = _BlockedPutSignal(name)
    previous = hooks.set_wait_listener(signal)
    try:
        yield signal
    finally:
        hooks.set_wait_listener(previous)


def assert_accounting(rt: Runtime, sent: int, processed: int) -> dict[str, Any]:
    """Check sent == processed + rejected + dropped + pending on the metrics."""
    metrics = rt.metrics
    assert metrics["statechartx_events_processed_total"] == processed
    assert sent == (
        metrics["statechartx_events_processed_total"]
        + metrics["statechartx_events_rejected_total"]
        + metrics["statechartx_events_dropped_total"]
        + metrics["statechartx_mailbox_depth"]
    )
    stats = rt.actor.mailbox.stats()
    assert stats.sent == stats.processed + stats.rejected + stats.dropped + stats.pending
    return metrics


@pytest.mark.timeout(60)
def test_block_policy_times_out_when_full() -> None:
    capacity, extra = 100, 20
    data = producer_data(1, expect=capacity)
    rt = Runtime(
        producer_machine(1), name="bounded-block", data=data, capacity=capacity, policy="block"
    ).start()
    full = 0
    try:
        rt.send("hold")
        assert data["held"].wait(WAIT)
        for seq in range(capacity):
            rt.send("e", (0, seq), timeout=WAIT)
        for seq in range(capacity, capacity + extra):
            with pytest.raises(MailboxFull, match="bounded-block"):
                rt.send("e", (0, seq), timeout=0.01)
            full += 1
        assert rt.metrics["statechartx_mailbox_depth"] == capacity
    finally:
        data["gate"].set()
    try:
        assert data["reached"].wait(WAIT)
        assert rt.wait_idle(WAIT)
        metrics = assert_accounting(rt, sent=1 + capacity + extra, processed=1 + capacity)
        assert metrics["statechartx_events_rejected_total"] == extra == full
        assert metrics["statechartx_events_dropped_total"] == 0
        assert data["logs"][0] == list(range(capacity))
    finally:
        rt.stop()


@pytest.mark.timeout(60)
def test_block_policy_waits_for_space() -> None:
    capacity = 10
    data = producer_data(1, expect=capacity + 1)
    rt = Runtime(
        producer_machine(1), name="bounded-block-wait", data=data, capacity=capacity, policy="block"
    ).start()
    outcome: list[BaseException | None] = []

    def late_sender() -> None:
        try:
            rt.send("e", (0, capacity), timeout=WAIT)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            outcome.append(exc)

    try:
        rt.send("hold")
        assert data["held"].wait(WAIT)
        for seq in range(capacity):
            rt.send("e", (0, seq))
        with signal_blocked_put("bounded-block-wait") as signal:
            thread = threading.Thread(target=late_sender)
            thread.start()
            assert signal.blocked.wait(WAIT)
    finally:
        data["gate"].set()
    try:
        thread.join(WAIT)
        assert outcome == [None]
        assert data["reached"].wait(WAIT)
        assert rt.wait_idle(WAIT)
        assert_accounting(rt, sent=1 + capacity + 1, processed=1 + capacity + 1)
        assert data["logs"][0] == list(range(capacity + 1))
    finally:
        rt.stop()


@pytest.mark.timeout(60)
def test_reject_policy_rejects_at_once() -> None:
    capacity, extra = 100, 50
    data = producer_data(1, expect=capacity)
    rt = Runtime(
        producer_machine(1), name="bounded-reject", data=data, capacity=capacity, policy="reject"
    ).start()
    try:
        rt.send("hold")
        assert data["held"].wait(WAIT)
        for seq in range(capacity):
            rt.send("e", (0, seq))
        for seq in range(capacity, capacity + extra):
            with pytest.raises(MailboxFull, match="full"):
                rt.send("e", (0, seq))
    finally:
        data["gate"].set()
    try:
        assert data["reached"].wait(WAIT)
        assert rt.wait_idle(WAIT)
        metrics = assert_accounting(rt, sent=1 + capacity + extra, processed=1 + capacity)
        assert metrics["statechartx_events_rejected_total"] == extra
        assert data["logs"][0] == list(range(capacity))
    finally:
        rt.stop()


@pytest.mark.timeout(60)
def test_drop_oldest_policy_keeps_newest() -> None:
    capacity, extra = 100, 50
    data = producer_data(1, expect=capacity)
    rt = Runtime(
        producer_machine(1), name="bounded-drop", data=data, capacity=capacity, policy="drop_oldest"
    ).start()
    try:
        rt.send("hold")
        assert data["held"].wait(WAIT)
        for seq in range(capacity + extra):
            rt.send("e", (0, seq))
        assert rt.metrics["statechartx_mailbox_depth"] == capacity
    finally:
        data["gate"].set()
    try:
        assert data["reached"].wait(WAIT)
        assert rt.wait_idle(WAIT)
        metrics = assert_accounting(rt, sent=1 + capacity + extra, processed=1 + capacity)
        assert metrics["statechartx_events_dropped_total"] == extra
        assert metrics["statechartx_events_rejected_total"] == 0
        assert data["logs"][0] == list(range(extra, capacity + extra))
    finally:
        rt.stop()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("policy", ["block", "reject", "drop_oldest"])
def test_overload_accounting_with_many_producers(policy: str) -> None:
    producers, per_producer, capacity = 4, 5_000, 64
    data = producer_data(producers)
    barrier = threading.Barrier(producers, timeout=WAIT)
    accepted = [0] * producers
    full = [0] * producers
    errors: list[BaseException] = []

    def produce(producer: int, rt: Runtime) -> None:
        try:
            barrier.wait()
            for seq in range(per_producer):
                try:
                    rt.send("e", (producer, seq), timeout=0.001)
                    accepted[producer] += 1
                except MailboxFull:
                    full[producer] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    rt = Runtime(
        producer_machine(producers),
        name=f"overload-{policy}",
        data=data,
        capacity=capacity,
        policy=policy,
    ).start()
    try:
        threads = [threading.Thread(target=produce, args=(p, rt)) for p in range(producers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(100)
        assert not any(thread.is_alive() for thread in threads)
        if policy == "block":
            assert rt.wait_idle(WAIT)
        else:
            # NOTE: wait_idle's request would take a slot of the possibly
            # full mailbox (see test_wait_idle_on_full_mailbox_loses_nothing);
            # a draining stop bypasses the capacity and leaves exact figures.
            assert rt.stop(timeout=WAIT, drain=True) == []
        processed = sum(len(log) for log in data["logs"])
        metrics = assert_accounting(rt, sent=producers * per_producer, processed=processed)
    finally:
        rt.stop()
    print(
        f"\n{gil_state()}: policy {policy}: sent {producers * per_producer}, "
        f"processed {processed}, rejected {metrics['statechartx_events_rejected_total']}, "
        f"dropped {metrics['statechartx_events_dropped_total']}"
    )
    assert errors == []
    assert sum(accepted) + sum(full) == producers * per_producer
    assert metrics["statechartx_events_rejected_total"] == sum(full)
    if policy == "drop_oldest":
        assert sum(full) == 0
        assert processed + metrics["statechartx_events_dropped_total"] == sum(accepted)
    else:
        assert metrics["statechartx_events_dropped_total"] == 0
        assert processed == sum(accepted)
    for log in data["logs"]:
        # Whatever got through kept its producer's order.
        assert log == sorted(set(log))


@pytest.mark.timeout(30)
def test_dropped_call_request_fails_promptly() -> None:
    data = producer_data(1)
    rt = Runtime(
        producer_machine(1), name="dropped-call", data=data, capacity=1, policy="drop_oldest"
    ).start()
    outcome: list[BaseException | None] = []
    queued = threading.Event()
    put = rt._put_request

    def put_and_signal(request: Any, what: str) -> None:
        put(request, what)
        queued.set()

    def caller() -> None:
        try:
            rt.call("e", (0, 0), timeout=3.0)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assert
            outcome.append(exc)

    try:
        rt.send("hold")
        assert data["held"].wait(WAIT)
        rt._put_request = put_and_signal
        thread = threading.Thread(target=caller)
        thread.start()
        assert queued.wait(WAIT)
        rt._put_request = put
        started = time.monotonic()
        rt.send("e", (0, 1))  # drops the call request
        thread.join(WAIT)
        waited = time.monotonic() - started
    finally:
        data["gate"].set()
        rt.stop()
    assert len(outcome) == 1
    assert not isinstance(outcome[0], CallTimeout), f"caller waited {waited:.1f} s"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("policy", ["reject", "drop_oldest"])
def test_wait_idle_on_full_mailbox_loses_nothing(policy: str) -> None:
    capacity = 10
    data = producer_data(1)
    rt = Runtime(
        producer_machine(1), name=f"wait-idle-full-{policy}", data=data,
        capacity=capacity, policy=policy,
    ).start()
    try:
        rt.send("hold")
        assert data["held"].wait(WAIT)
        for seq in range(capacity):
            rt.send("e", (0, seq))
        # Called while the consumer is held and the mailbox is full: it can
        # only time out.
        assert rt.wait_idle(0.2) is False
        data["gate"].set()
        assert rt.wait_idle(WAIT)
        assert data["logs"][0] == list(range(capacity))
    finally:
        data["gate"].set()
        rt.stop()


# ----------------------------------------------------------------------
# Many machines on a pool


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ten_thousand_runtimes_on_a_pool() -> None:
    machines, per_machine = 10_000, 100
    machine = producer_machine(1)
    started = time.perf_counter()
    with Supervisor("ten-thousand") as sup:
        pool = sup.pool(2, name="machines")
        runtimes: list[Runtime] = []
        datas: list[dict[str, Any]] = []
        for i in range(machines):
            data = producer_data(1)
            rt = Runtime(machine, name=f"machine-{i}", supervisor=sup, dispatcher=pool, data=data)
            rt.start(wait=False)
            runtimes.append(rt)
            datas.append(data)
        for rt in runtimes:
            for seq in range(per_machine):
                rt.send("e", (0, seq))
        undelivered = 0
        processed = 0
        for rt in runtimes:
            undelivered += len(rt.stop(timeout=WAIT * 6))
            processed += rt.metrics["statechartx_events_processed_total"]
        elapsed = time.perf_counter() - started
        threads = [t.name for t in pool.threads()]
    print(
        f"\n{gil_state()}: {machines} runtimes x {per_machine} events on a "
        f"2-worker pool: {elapsed:.1f} s; pool threads {threads}"
    )
    assert undelivered == 0
    assert processed == machines * per_machine
    for data in datas:
        assert data["logs"][0] == list(range(per_machine))
