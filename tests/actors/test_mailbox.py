"""Mailbox: parking without lost wake-ups, ordering, bounded policies, accounting."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest

from statechartx.actors import (
    Actor,
    Mailbox,
    MailboxStats,
    PoolDispatcher,
    ThreadDispatcher,
)
from statechartx.actors import hooks
from statechartx.errors import MailboxClosed, MailboxFull

from .conftest import WAIT, Gate

PRODUCERS = 8
PER_PRODUCER = 50_000


def assert_identity(stats: MailboxStats, offered: int) -> None:
    assert stats.sent == offered
    assert (
        stats.sent == stats.processed + stats.rejected + stats.dropped + stats.pending
    )


def run_producers(count: int, body: Callable[[int], None]) -> None:
    """Run ``body(index)`` on ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count)

    def produce(index: int) -> None:
        barrier.wait(WAIT)
        body(index)

    threads = [
        threading.Thread(target=produce, args=(index,), name=f"producer-{index}")
        for index in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)


def test_mailbox_fifo_and_stats() -> None:
    mailbox = Mailbox("fifo")
    for number in range(5):
        mailbox.put(number)

    assert mailbox.pending == 5
    assert [mailbox.pop() for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(IndexError):
        mailbox.pop()
    mailbox.consumed(5)
    stats = mailbox.stats()
    assert stats.processed == 5
    assert stats.pending == 0
    assert_identity(stats, 5)


@pytest.mark.timeout(60)
def test_park_ping_pong_loses_no_wakeup() -> None:
    """Each round the consumer empties the mailbox and parks again.

    A lost wake-up leaves a producer waiting for its acknowledgement, which
    fails the test after WAIT seconds instead of hanging it.
    """
    producers = 4
    rounds = 5_000
    mailbox = Mailbox("ping-pong")
    acknowledgements = [threading.Semaphore(0) for _ in range(producers)]
    received = [0] * producers
    stop = object()

    def consume() -> None:
        mailbox.bind_consumer(threading.get_ident())
        while True:
            try:
                message = mailbox.pop()
            except IndexError:
                mailbox.park(WAIT)
                continue
            if message is stop:
                return
            assert isinstance(message, int)
            received[message] += 1
            acknowledgements[message].release()

    consumer = threading.Thread(target=consume, name="consumer")
    consumer.start()
    failures: list[str] = []

    def produce(index: int) -> None:
        for round_number in range(rounds):
            mailbox.put(index)
            if not acknowledgements[index].acquire(timeout=WAIT):
                failures.append(
                    f"producer {index} lost its wake-up in round {round_number}"
                )
                return

    try:
        run_producers(producers, produce)
    finally:
        mailbox.put(stop)
        consumer.join(WAIT)
    assert not consumer.is_alive()
    assert failures == []
    assert received == [rounds] * producers


def test_park_times_out_then_wakes() -> None:
    mailbox = Mailbox("timeout")
    mailbox.bind_consumer(threading.get_ident())

    assert mailbox.park(0.01) is False
    mailbox.put("late")
    assert mailbox.park(WAIT) is True
    assert mailbox.pop() == "late"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["thread", "pool"])
def test_eight_producers_order_and_count(kind: str) -> None:
    seen: list[tuple[int, int]] = []
    actor = Actor("sink", handler=seen.append)
    pool = PoolDispatcher(2, name="order-pool") if kind == "pool" else None
    actor.start(pool or ThreadDispatcher())

    def produce(index: int) -> None:
        send = actor.send
        for sequence in range(PER_PRODUCER):
            send((index, sequence))

    try:
        run_producers(PRODUCERS, produce)
        assert actor.stop(timeout=60) == []
    finally:
        if pool is not None:
            pool.shutdown(WAIT)

    assert len(seen) == PRODUCERS * PER_PRODUCER
    per_producer: list[list[int]] = [[] for _ in range(PRODUCERS)]
    for index, sequence in seen:
        per_producer[index].append(sequence)
    for index in range(PRODUCERS):
        assert per_producer[index] == list(range(PER_PRODUCER)), f"producer {index}"
    stats = actor.mailbox.stats()
    assert stats.processed == PRODUCERS * PER_PRODUCER
    assert_identity(stats, PRODUCERS * PER_PRODUCER)


def overload(
    policy: str, gate: Gate, capacity: int = 100, producers: int = 4, per: int = 2_000
) -> tuple[Actor, list[tuple[int, int]], list[list[int]], int, int]:
    """Flood a bounded actor that is blocked on ``gate``, then let it drain.

    Returns the actor, the messages it processed, each producer's accepted
    sequence numbers, the failed put count and the max pending seen.
    """
    seen: list[tuple[int, int]] = []
    max_pending = [0]
    first = threading.Event()

    def handle(message: object) -> None:
        if not first.is_set():
            first.set()
            gate.block()
        max_pending[0] = max(max_pending[0], actor.mailbox.pending)
        assert isinstance(message, tuple)
        seen.append(message)

    actor = Actor("bounded", handler=handle, capacity=capacity, policy=policy)  # type: ignore[arg-type]
    actor.start()
    accepted: list[list[int]] = [[] for _ in range(producers)]
    failures = [0] * producers
    actor.send((-1, -1))
    assert gate.entered.wait(WAIT)

    def produce(index: int) -> None:
        for sequence in range(per):
            try:
                actor.send((index, sequence), timeout=0.0)
            except MailboxFull:
                failures[index] += 1
            else:
                accepted[index].append(sequence)

    run_producers(producers, produce)
    assert actor.mailbox.pending <= capacity
    gate.open()
    assert actor.stop(timeout=WAIT) == []
    return actor, seen[1:], accepted, sum(failures), max_pending[0]


@pytest.mark.timeout(60)
def test_reject_policy_accounts_every_message(gate: Gate) -> None:
    actor, seen, accepted, failures, max_pending = overload("reject", gate)

    stats = actor.mailbox.stats()
    offered = 1 + 4 * 2_000
    assert failures > 0
    assert stats.rejected == failures
    assert stats.dropped == 0
    assert stats.pending == 0
    assert stats.processed == 1 + sum(len(sequences) for sequences in accepted)
    assert_identity(stats, offered)
    assert max_pending <= 100
    for index, sequences in enumerate(accepted):
        assert [s for i, s in seen if i == index] == sequences


@pytest.mark.timeout(60)
def test_drop_oldest_policy_accounts_every_message(gate: Gate) -> None:
    actor, seen, accepted, failures, max_pending = overload("drop_oldest", gate)

    stats = actor.mailbox.stats()
    offered = 1 + 4 * 2_000
    accepted_count = sum(len(sequences) for sequences in accepted)
    assert failures == 0
    assert accepted_count == 4 * 2_000
    assert stats.rejected == 0
    assert stats.dropped > 0
    assert stats.processed == 1 + len(seen)
    assert len(set(seen)) == len(seen), "a message was processed twice"
    assert stats.dropped == accepted_count - len(seen)
    assert_identity(stats, offered)
    assert max_pending <= 100
    for index in range(4):
        mine = [s for i, s in seen if i == index]
        assert mine == sorted(mine), f"producer {index} order"


@pytest.mark.timeout(60)
def test_block_policy_waits_for_space() -> None:
    seen: list[object] = []
    max_pending = [0]

    def handle(message: object) -> None:
        max_pending[0] = max(max_pending[0], actor.mailbox.pending)
        seen.append(message)

    actor = Actor("blocking", handler=handle, capacity=10, policy="block").start()

    def produce(index: int) -> None:
        for sequence in range(5_000):
            actor.send((index, sequence), timeout=WAIT)

    run_producers(4, produce)
    actor.stop(timeout=WAIT)
    stats = actor.mailbox.stats()
    assert len(seen) == 20_000
    assert stats.rejected == 0
    assert max_pending[0] <= 10
    assert_identity(stats, 20_000)


def test_block_policy_timeout_names_mailbox(gate: Gate) -> None:
    actor = Actor(
        "slow-consumer", handler=gate.block, capacity=2, policy="block"
    ).start()
    actor.send("busy")
    assert gate.entered.wait(WAIT)
    actor.send(1)
    actor.send(2)

    with pytest.raises(MailboxFull, match="'slow-consumer'.*full"):
        actor.send(3, timeout=0.05)

    assert actor.mailbox.stats().rejected == 1
    gate.open()
    actor.stop(timeout=WAIT)
    assert_identity(actor.mailbox.stats(), 4)


def test_block_policy_from_own_consumer_fails_fast(gate: Gate) -> None:
    errors: list[BaseException] = []
    filled = threading.Event()

    def handle(message: object) -> None:
        if message == "fill":
            actor.send("a")
            actor.send("b")
            try:
                actor.send("c", timeout=WAIT)
            except MailboxFull as error:
                errors.append(error)
            filled.set()

    actor = Actor("self-sender", handler=handle, capacity=2, policy="block").start()
    actor.send("fill")
    assert filled.wait(WAIT)
    actor.stop(timeout=WAIT)

    assert len(errors) == 1
    assert "its own consumer" in str(errors[0])


def test_closed_mailbox_rejects_and_counts() -> None:
    mailbox = Mailbox("closed")
    mailbox.put(1)
    assert mailbox.close() is True
    assert mailbox.close() is False

    with pytest.raises(MailboxClosed, match="'closed'"):
        mailbox.put(2)

    stats = mailbox.stats()
    assert stats.rejected == 1
    assert stats.pending == 1
    assert_identity(stats, 2)


def test_close_wakes_blocked_producer(gate: Gate) -> None:
    actor = Actor("closing", handler=gate.block, capacity=1, policy="block").start()
    actor.send("busy")
    assert gate.entered.wait(WAIT)
    actor.send("queued")
    errors: list[BaseException] = []
    waiting = threading.Thread(
        target=lambda: errors.extend(
            _raised(lambda: actor.send("blocked", timeout=WAIT))
        )
    )
    waiting.start()

    actor.mailbox.close()
    waiting.join(WAIT)
    gate.open()
    actor.stop(timeout=WAIT)

    assert not waiting.is_alive()
    assert len(errors) == 1
    assert isinstance(errors[0], MailboxClosed)


def _raised(call: Callable[[], object]) -> list[BaseException]:
    try:
        call()
    except Exception as error:
        return [error]
    return []


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"capacity": 0}, "capacity"),
        ({"capacity": 2.5}, "capacity"),
        ({"policy": "spill"}, "policy"),
        ({"put_timeout": -1.0}, "put_timeout"),
    ],
)
def test_mailbox_rejects_invalid_arguments(
    arguments: dict[str, object], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        Mailbox("invalid", **arguments)  # type: ignore[arg-type]


class RecordingListener:
    def __init__(self) -> None:
        self.started: list[tuple[str, str]] = []
        self.ended = 0

    def wait_started(self, kind: str, name: str) -> object:
        self.started.append((kind, name))
        return len(self.started)

    def wait_ended(self, token: object) -> None:
        self.ended += 1


def test_wait_listener_sees_park_spans() -> None:
    listener = RecordingListener()
    previous = hooks.set_wait_listener(listener)
    try:
        mailbox = Mailbox("traced")
        mailbox.bind_consumer(threading.get_ident())
        assert mailbox.park(0.001) is False
    finally:
        hooks.set_wait_listener(previous)

    assert listener.started == [(hooks.WAIT_PARK, "traced")]
    assert listener.ended == 1


class BrokenListener:
    def wait_started(self, kind: str, name: str) -> object:
        raise RuntimeError("tracer is broken")

    def wait_ended(self, token: object) -> None:
        raise AssertionError("never reached")


def test_raising_listener_is_detached(caplog: pytest.LogCaptureFixture) -> None:
    previous = hooks.set_wait_listener(BrokenListener())
    try:
        mailbox = Mailbox("traced")
        mailbox.bind_consumer(threading.get_ident())
        with caplog.at_level(logging.ERROR, logger="statechartx.actors"):
            assert mailbox.park(0.001) is False
        assert hooks.listener is None
    finally:
        hooks.set_wait_listener(previous)
    assert "detached" in caplog.text
