"""Actor on each dispatcher: lifecycle, stop protocol, crashes, thread identity."""

from __future__ import annotations

import threading

import pytest

from statechartx.actors import Actor, ActorState, PoolDispatcher, ThreadDispatcher
from statechartx.errors import MailboxClosed, ShutdownTimeout

from .conftest import WAIT, Gate

Dispatcher = ThreadDispatcher | PoolDispatcher


class Recorder(Actor):
    """Records the state it observes in each hook and every message."""

    def __init__(self, name: str = "recorder") -> None:
        super().__init__(name)
        self.events: list[tuple[str, object]] = []
        self.received = threading.Event()

    def on_start(self) -> None:
        self.events.append(("start", self.state))

    def receive(self, message: object) -> None:
        self.events.append((repr(message), self.state))
        self.received.set()

    def on_stop(self) -> None:
        self.events.append(("stop", self.state))


def test_lifecycle_transitions(dispatcher: Dispatcher) -> None:
    actor = Recorder()
    assert actor.state is ActorState.NEW

    actor.start(dispatcher)
    actor.send("hello")
    assert actor.received.wait(WAIT)
    assert actor.state is ActorState.RUNNING
    undelivered = actor.stop(timeout=WAIT)

    assert undelivered == []
    assert actor.state is ActorState.STOPPED
    assert actor.events == [
        ("start", ActorState.STARTING),
        ("'hello'", ActorState.RUNNING),
        ("stop", ActorState.STOPPING),
    ]


def test_stop_with_drain_processes_pending(dispatcher: Dispatcher, gate: Gate) -> None:
    seen: list[object] = []

    def handle(message: object) -> None:
        if message == 0:
            gate.block()
        seen.append(message)

    actor = Actor("drainer", handler=handle).start(dispatcher)
    actor.send(0)
    assert gate.entered.wait(WAIT)
    for number in range(1, 10):
        actor.send(number)

    actor.request_stop(drain=True)
    assert actor.state is ActorState.STOPPING
    with pytest.raises(MailboxClosed):
        actor.send("too late")
    gate.open()

    assert actor.join(WAIT)
    assert seen == list(range(10))
    assert actor.undelivered == []
    stats = actor.mailbox.stats()
    assert stats.processed == 10
    assert stats.rejected == 1
    assert stats.sent == 11


def test_stop_without_drain_reports_pending(dispatcher: Dispatcher, gate: Gate) -> None:
    seen: list[object] = []

    def handle(message: object) -> None:
        if message == 0:
            gate.block()
        seen.append(message)

    actor = Actor("dropper", handler=handle).start(dispatcher)
    actor.send(0)
    assert gate.entered.wait(WAIT)
    for number in range(1, 10):
        actor.send(number)

    actor.request_stop(drain=False)
    gate.open()
    assert actor.join(WAIT)

    assert seen == [0]
    assert actor.undelivered == list(range(1, 10))
    stats = actor.mailbox.stats()
    assert stats.processed == 1
    assert stats.dropped == 9
    assert stats.pending == 0
    assert stats.sent == 10


def test_stop_returns_undelivered(dispatcher: Dispatcher, gate: Gate) -> None:
    actor = Actor("returner", handler=gate.block).start(dispatcher)
    actor.send("busy")
    assert gate.entered.wait(WAIT)
    actor.send("a")
    actor.send("b")
    releaser = threading.Timer(0.0, gate.open)

    actor.request_stop(drain=False)
    releaser.start()
    undelivered = actor.stop(drain=False, timeout=WAIT)
    releaser.join(WAIT)

    assert undelivered == ["a", "b"]


def test_stop_times_out_naming_blocked_actor(
    dispatcher: Dispatcher, gate: Gate
) -> None:
    def block_forever(message: object) -> None:
        gate.block()

    actor = Actor("stuck-actor", handler=block_forever).start(dispatcher)
    actor.send("go")
    assert gate.entered.wait(WAIT)

    with pytest.raises(ShutdownTimeout) as raised:
        actor.stop(timeout=0.05)

    text = str(raised.value)
    assert "'stuck-actor'" in text
    assert "block_forever" in text, "the report shows the stuck stack"
    assert actor.state is ActorState.STOPPING
    gate.open()
    assert actor.join(WAIT)
    assert actor.state is ActorState.STOPPED


def test_stop_before_start() -> None:
    actor = Actor("never-started", handler=print)
    actor.send("queued")

    assert actor.stop(timeout=WAIT) == ["queued"]
    assert actor.state is ActorState.STOPPED
    with pytest.raises(RuntimeError, match="only a new actor"):
        actor.start()


def test_start_twice_fails(dispatcher: Dispatcher) -> None:
    actor = Actor("twice", handler=print).start(dispatcher)
    with pytest.raises(RuntimeError, match="'twice' is"):
        actor.start(dispatcher)
    actor.stop(timeout=WAIT)


def test_messages_sent_before_start_are_processed(dispatcher: Dispatcher) -> None:
    seen: list[object] = []
    actor = Actor("early", handler=seen.append)
    actor.send(1)
    actor.send(2)

    actor.start(dispatcher)
    actor.stop(timeout=WAIT)

    assert seen == [1, 2]


def test_stop_from_own_thread(dispatcher: Dispatcher) -> None:
    results: list[object] = []

    def handle(message: object) -> None:
        results.append(actor.stop(timeout=WAIT))

    actor = Actor("self-stopper", handler=handle).start(dispatcher)
    actor.send("stop yourself")

    assert actor.join(WAIT)
    assert results == [[]]
    assert actor.state is ActorState.STOPPED


def test_runs_on_current_thread(dispatcher: Dispatcher) -> None:
    inside: list[bool] = []
    actor = Actor(
        "identity",
        handler=lambda message: inside.append(actor.runs_on_current_thread()),
    ).start(dispatcher)
    actor.send("check")
    actor.stop(timeout=WAIT)

    assert inside == [True]
    assert actor.runs_on_current_thread() is False


def test_thread_is_named_by_spawner() -> None:
    names: list[str] = []
    actor = Actor(
        "named", handler=lambda message: names.append(threading.current_thread().name)
    )
    actor.start(ThreadDispatcher(), thread_name="runtime:foo")
    actor.send("where")
    thread = actor.thread
    actor.stop(timeout=WAIT)

    assert names == ["runtime:foo"]
    assert thread is not None
    assert thread.daemon is False
    assert not thread.is_alive()


def test_crash_without_supervisor_fails_actor(dispatcher: Dispatcher) -> None:
    class Fragile(Actor):
        def __init__(self) -> None:
            super().__init__("fragile")
            self.hooks: list[str] = []

        def receive(self, message: object) -> None:
            if message == "boom":
                raise ValueError("boom")

        def on_failure(self, error: BaseException) -> None:
            self.hooks.append(f"failure {error}")

        def on_stop(self) -> None:
            self.hooks.append("stop")

    actor = Fragile()
    actor.send("ok")
    actor.send("boom")
    actor.send("after")
    actor.start(dispatcher)

    assert actor.join(WAIT)
    assert actor.state is ActorState.FAILED
    assert isinstance(actor.failure, ValueError)
    assert actor.hooks == ["failure boom", "stop"]
    assert actor.undelivered == ["after"]
    stats = actor.mailbox.stats()
    assert stats.processed == 2
    assert stats.dropped == 1


def test_handler_factory_builds_handler_on_start(dispatcher: Dispatcher) -> None:
    built: list[list[object]] = []

    def factory() -> object:
        seen: list[object] = []
        built.append(seen)
        return seen.append

    actor = Actor("factory", handler_factory=factory)  # type: ignore[arg-type]
    assert built == []
    actor.start(dispatcher)
    actor.send("x")
    actor.stop(timeout=WAIT)

    assert built == [["x"]]


def test_actor_without_behaviour_is_rejected() -> None:
    with pytest.raises(TypeError, match="no behaviour"):
        Actor("empty")
    with pytest.raises(TypeError, match="not both"):
        Actor("both", handler=print, handler_factory=lambda: print)
    with pytest.raises(ValueError, match="batch_size"):
        Actor("batch", handler=print, batch_size=0)


def test_done_callback_runs_once(dispatcher: Dispatcher) -> None:
    calls: list[str] = []
    actor = Actor("callback", handler=print).start(dispatcher)
    actor.add_done_callback(lambda ended: calls.append(f"early {ended.state.value}"))

    actor.stop(timeout=WAIT)
    actor.add_done_callback(lambda ended: calls.append(f"late {ended.state.value}"))

    assert calls == ["early stopped", "late stopped"]


def test_default_names_are_unique() -> None:
    first = Actor(handler=print)
    second = Actor(handler=print)

    assert first.name != second.name
    assert first.name.startswith("actor-")
