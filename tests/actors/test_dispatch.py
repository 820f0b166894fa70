"""Dispatchers: pool scale, fairness, one worker per actor, shutdown, thread naming."""

from __future__ import annotations

import random
import threading
import time

import pytest

from statechartx.actors import Actor, ActorState, PoolDispatcher, ThreadDispatcher
from statechartx.errors import ShutdownTimeout

from .conftest import WAIT, Gate

Dispatcher = ThreadDispatcher | PoolDispatcher


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", [2, 4])
def test_pool_ten_thousand_actors(workers: int) -> None:
    actor_count = 10_000
    per_actor = 100
    counts = [0] * actor_count

    def make_handler(index: int) -> object:
        def handle(message: object) -> None:
            # Only one worker runs an actor at a time, so a plain += is safe.
            counts[index] += 1

        return handle

    pool = PoolDispatcher(workers, name="big-pool")
    actors = [
        Actor(f"a{index}", handler=make_handler(index)).start(pool)  # type: ignore[arg-type]
        for index in range(actor_count)
    ]
    try:
        for round_number in range(per_actor):
            for actor in actors:
                actor.send(round_number)
        for actor in actors:
            actor.request_stop(drain=True)
        for actor in actors:
            assert actor.join(WAIT), actor
        assert len(pool.threads()) == workers
    finally:
        pool.shutdown(WAIT)

    assert counts == [per_actor] * actor_count
    assert all(actor.state is ActorState.STOPPED for actor in actors)
    assert (
        sum(actor.mailbox.stats().processed for actor in actors)
        == actor_count * per_actor
    )


def test_pool_turns_are_fair(gate: Gate) -> None:
    """A chatty actor yields after each batch, so quiet actors get turns."""
    batch = 10
    order: list[str] = []

    def chatty_handle(message: object) -> None:
        if message == "hold":
            gate.block()
        order.append("chatty")

    pool = PoolDispatcher(1, name="fair-pool")
    try:
        chatty = Actor("chatty", handler=chatty_handle, batch_size=batch).start(pool)
        quiet = [
            Actor(f"quiet{index}", handler=order.append, batch_size=batch).start(pool)
            for index in range(5)
        ]
        chatty.send("hold")
        assert gate.entered.wait(WAIT)
        # The only worker is inside chatty's turn: queue a flood for chatty,
        # then one message for each quiet actor.
        for number in range(1_000):
            chatty.send(number)
        for actor in quiet:
            actor.send(actor.name)
        gate.open()
        for actor in [chatty, *quiet]:
            actor.stop(timeout=WAIT)
    finally:
        pool.shutdown(WAIT)

    assert len(order) == 1_001 + 5
    positions = [order.index(actor.name) for actor in quiet]
    # chatty's current turn ends after at most `batch` messages, then the
    # quiet actors run before its next turn. A quiet actor whose first turn
    # (its start) was still queued when its message arrived may go once
    # behind chatty, which a free-threaded run shows: one extra batch at
    # most, never starvation.
    assert max(positions) < 2 * batch + 5, positions


@pytest.mark.timeout(60)
def test_pool_never_runs_actor_on_two_workers() -> None:
    actor_count = 200
    producers = 4
    per_producer = 10_000
    busy = [False] * actor_count
    counts = [0] * actor_count
    overlaps: list[int] = []

    def make_handler(index: int) -> object:
        def handle(message: object) -> None:
            if busy[index]:
                overlaps.append(index)
            busy[index] = True
            counts[index] += 1
            time.sleep(0)  # yield the CPU to widen any race window
            busy[index] = False

        return handle

    pool = PoolDispatcher(4, name="exclusive-pool")
    actors = [
        Actor(f"x{index}", handler=make_handler(index), batch_size=4).start(pool)  # type: ignore[arg-type]
        for index in range(actor_count)
    ]
    barrier = threading.Barrier(producers)

    def produce(seed: int) -> None:
        chooser = random.Random(seed)
        barrier.wait(WAIT)
        for _ in range(per_producer):
            actors[chooser.randrange(actor_count)].send(None)

    threads = [
        threading.Thread(target=produce, args=(seed,)) for seed in range(producers)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT * 3)
        for actor in actors:
            actor.stop(timeout=WAIT)
    finally:
        pool.shutdown(WAIT)

    assert overlaps == []
    assert sum(counts) == producers * per_producer


@pytest.mark.timeout(60)
def test_ping_pong_between_actors(dispatcher: Dispatcher) -> None:
    """Two actors bounce a counter; each hop parks and wakes the other side."""
    hops = 20_000
    finished = threading.Event()
    peers: dict[str, Actor] = {}

    def make_handler(other: str) -> object:
        def handle(count: object) -> None:
            assert isinstance(count, int)
            if count >= hops:
                finished.set()
            else:
                peers[other].send(count + 1)

        return handle

    peers["ping"] = Actor("ping", handler=make_handler("pong"))  # type: ignore[arg-type]
    peers["pong"] = Actor("pong", handler=make_handler("ping"))  # type: ignore[arg-type]
    for actor in peers.values():
        actor.start(dispatcher)
    peers["ping"].send(0)

    assert finished.wait(WAIT * 3), "a wake-up was lost"
    for actor in peers.values():
        actor.stop(timeout=WAIT)
    total = sum(actor.mailbox.stats().processed for actor in peers.values())
    assert total == hops + 1


def test_pool_workers_are_named_and_shared() -> None:
    names: set[str] = set()
    pool = PoolDispatcher(3, name="pool")
    assert pool.threads() == []
    try:
        actors = [
            Actor(
                f"n{index}",
                handler=lambda message: names.add(threading.current_thread().name),
            ).start(pool)
            for index in range(1_000)
        ]
        for actor in actors:
            actor.send("hi")
        for actor in actors:
            actor.stop(timeout=WAIT)
        workers = pool.threads()
    finally:
        pool.shutdown(WAIT)

    assert sorted(thread.name for thread in workers) == ["pool-0", "pool-1", "pool-2"]
    assert names <= {"pool-0", "pool-1", "pool-2"}
    assert all(not thread.daemon for thread in workers)
    assert pool.threads() == []


def test_pool_shutdown_stops_attached_actors() -> None:
    seen: list[object] = []
    pool = PoolDispatcher(2, name="closing-pool")
    actor = Actor("left-running", handler=seen.append).start(pool)
    actor.send("drained")

    pool.shutdown(WAIT)

    assert actor.state is ActorState.STOPPED
    assert seen == ["drained"]
    with pytest.raises(RuntimeError, match="shut down"):
        pool.attach(Actor("late", handler=print))


def test_pool_shutdown_timeout_names_stuck_actor_and_worker(gate: Gate) -> None:
    def hold_worker(message: object) -> None:
        gate.block()

    pool = PoolDispatcher(1, name="stuck-pool")
    actor = Actor("hog", handler=hold_worker).start(pool)
    actor.send("go")
    assert gate.entered.wait(WAIT)

    with pytest.raises(ShutdownTimeout) as raised:
        pool.shutdown(0.05)

    text = str(raised.value)
    assert "'hog'" in text
    assert "'stuck-pool-0'" in text
    assert "hold_worker" in text
    gate.open()
    assert actor.join(WAIT)
    pool.shutdown(WAIT)


def test_thread_dispatcher_shutdown_stops_attached_actors() -> None:
    threads = ThreadDispatcher("owned")
    actor = Actor("worker", handler=print).start(threads)
    assert threads.threads() == [actor.thread]

    threads.shutdown(WAIT)

    assert actor.state is ActorState.STOPPED
    assert threads.threads() == []


def test_pool_rejects_invalid_worker_count() -> None:
    with pytest.raises(ValueError, match="workers"):
        PoolDispatcher(0)
