"""Runtime: an Interpreter hosted by an actor.

A ``Runtime`` owns one ``Interpreter`` and one actor. Only the actor's thread
touches the interpreter (configuration, history, datamodel, queues); every
other thread talks to it through the actor's mailbox or reads the snapshot
the actor publishes after each macrostep with one reference assignment.
Nothing here holds a lock while user code (a guard, an action) runs.

Event flow: ``send`` appends ``(event, enqueue time)`` to the mailbox and
returns; the actor pops it and runs the macrostep. Events that actions send
to their own machine go through the same mailbox, delayed ones through the
supervisor's timer thread. ``call`` and ``wait_idle`` post a request and wait
on a ``threading.Event`` with a timeout, so no call blocks forever.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from .actors import Actor, Dispatcher, Supervisor
from .actors.actor import DEFAULT_STOP_TIMEOUT
from .errors import ChartError, InterpreterNotRunning, MailboxFull, StatechartxError
from .events import Event, make_event
from .interpreter import Interpreter, RegionExecutor
from .machine import PARALLEL, Machine
from . import tracing
from .metrics import RuntimeMetrics, gc_monitor, to_json
from .regions import in_region_of

__all__ = ["Runtime", "CallTimeout"]

logger = logging.getLogger("statechartx.runtime")

_names = itertools.count(1)
_perf_ns = time.perf_counter_ns


class CallTimeout(StatechartxError, TimeoutError):
    """``call`` or ``wait_idle`` did not complete within its timeout."""



class _Request:
    """A message that a caller waits for: call, wait_idle, transition_to."""

    __slots__ = ("kind", "payload", "done", "result", "error")

    def __init__(self, kind: str, payload: Any = None) -> None:
        self.kind = kind
        self.payload = payload
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result = result
        self.error = error
        self.done.set()


class _RuntimeHost:
    """Delivers events that the machine's actions send (runs on any thread
    that executes actions: the runtime's, or a region actor's)."""

    __slots__ = ("runtime",)

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def send_event(
        self, interpreter: Interpreter, event: Event, delay: float, target: str | None
    ) -> None:
        rt = self.runtime
        if target == "#_internal":
            if delay > 0:
                raise ValueError(
                    f"event {event.name!r}: a delay cannot apply to target "
                    "'#_internal'; send it without target to delay it"
                )
            interpreter.ctx.raise_event(event._replace(type="internal"))
            return
        destination = rt if target is None else rt._resolve_target(target)
        if delay > 0:
            rt._schedule(destination, event, delay)
        else:
            destination._post_own(event)

    def cancel_event(self, interpreter: Interpreter, sendid: str) -> bool:
        return self.runtime.cancel(sendid)


class _RuntimeActor(Actor):
    """The actor that hosts a runtime's interpreter."""

    __slots__ = ("runtime",)

    def __init__(self, runtime: Runtime, name: str, **options: Any) -> None:
        super().__init__(name, **options)
        self.runtime = runtime

    def on_start(self) -> None:
        self.runtime._boot()

    def receive(self, message: object) -> None:
        self.runtime._receive(message)

    def on_restart(self, error: BaseException) -> None:
        # A crash is an exception that escaped the interpreter (an internal
        # error or MacrostepLimitError). The mailbox is kept; the machine
        # starts over from its initial configuration.
        logger.warning("runtime %r restarts after %r", self.runtime.name, error)
        self.runtime._boot()

    def on_stop(self) -> None:
        self.runtime._on_actor_stop()


class Runtime:
    """Hosts a ``Machine`` in an actor so that any thread can send it events.

    ``supervisor``: the supervisor that owns the actor, its timers and the
    restart strategy; without one the runtime creates a private supervisor
    and stops it in ``stop``. ``dispatcher``: where the actor runs (default:
    the supervisor's, which is one OS thread per actor). ``capacity`` and
    ``policy`` bound the mailbox ("block", "reject" or "drop_oldest").
    ``concurrent_regions=True`` hosts the regions of every parallel state in
    region actors; a ``Parallel(concurrent=True)`` asks for it per state.
    Region actors run on ``region_dispatcher`` (default: a thread each) and
    are kept while the runtime lives unless ``keep_region_actors=False``,
    which stops them whenever their parallel state is exited (slower to
    re-enter, measured in docs/performance.md).
    ``data`` is the initial datamodel (copied on every start and restart).
    ``on_finish(runtime, done_data)`` runs on the actor's thread, once, after
    the macrostep in which the machine entered a top-level final state; an
    exception it raises is logged and ignored.

    Thread safety: ``send``, ``call``, ``wait_idle``, ``stop``,
    ``transition_to``, ``configuration``, ``is_in`` and ``metrics`` may be
    called from any thread.
    """

    def __init__(
        self,
        machine: Machine,
        *,
        name: str | None = None,
        supervisor: Supervisor | None = None,
        dispatcher: Dispatcher | None = None,
        capacity: int | None = None,
        policy: str = "block",
        put_timeout: float = 5.0,
        concurrent_regions: bool = False,
        region_dispatcher: Dispatcher | None = None,
        keep_region_actors: bool = True,
        data: dict[str, Any] | None = None,
        strategy: str = "restart",
        max_restarts: int = 3,
        window: float = 60.0,
        batch_size: int = 256,
        max_microsteps: int | None = None,
        on_finish: Callable[[Runtime, Any], object] | None = None,
    ) -> None:
        if not isinstance(machine, Machine):
            raise TypeError(f"Runtime needs a Machine, got {machine!r}")
        self.machine = machine
        self.name = name or machine.name or f"runtime-{next(_names)}"
        self._owns_supervisor = supervisor is None
        self.supervisor = supervisor or Supervisor(f"{self.name}.supervisor")
        self._dispatcher = dispatcher
        if region_dispatcher is not None and region_dispatcher is dispatcher:
            raise ValueError(
                f"runtime {self.name!r}: region_dispatcher must differ from "
                "the runtime's dispatcher, because the runtime holds its worker "
                "while it waits for the regions; give regions their own pool"
            )
        self._region_dispatcher = region_dispatcher
        self._keep_region_actors = keep_region_actors
        self._concurrent_regions = concurrent_regions
        self._initial_data = dict(data) if data else {}
        self._strategy = strategy
        self._max_restarts = max_restarts
        self._window = window
        self._max_microsteps = max_microsteps
        self._on_finish = on_finish
        self._actor = _RuntimeActor(
            self,
            self.name,
            capacity=capacity,
            policy=policy,  # type: ignore[arg-type]
            put_timeout=put_timeout,
            batch_size=batch_size,
        )
        self._put = self._actor.send
        self._actor.mailbox.on_drop = _fail_dropped_request
        # Read with len() for the depth metric only; an atomic read on both
        # builds, and never used to make a decision.
        self._queue = self._actor.mailbox._deque
        self._interpreter: Interpreter | None = None
        self._regions: Any = None
        self._snapshot: frozenset[str] = frozenset()
        self._finished = False
        self._metrics = RuntimeMetrics()
        self._timers: dict[str, int] = {}
        self._timers_lock = threading.Lock()
        self._sendids = itertools.count(1)
        self._started = False
        self._stopped = False
        self._lifecycle = threading.Lock()
        self._has_regions = any(k == PARALLEL for k in machine.kind)
        self._boot_error: BaseException | None = None
        self._tracer: Any = None
        self._ready = threading.Event()

    def __repr__(self) -> str:
        return f"<Runtime {self.name!r} {self._actor.state.value}>"

    # ------------------------------------------------------------------
    # Lifecycle

    def start(self, timeout: float = 10.0, *, wait: bool = True) -> Runtime:
        """Start the actor and wait until the initial configuration is entered.

        Raises the exception that the machine's start raised, or
        ``CallTimeout`` when the actor did not report ready in ``timeout``.
        With ``wait=False`` it returns at once (events sent meanwhile wait in
        the mailbox); ``wait_started`` waits later. Starting 10,000 runtimes
        on a pool that way costs no round trip per runtime.
        """
        with self._lifecycle:
            if self._started:
                raise InterpreterNotRunning(f"runtime {self.name!r} was already started")
            self._started = True
        gc_monitor.install()
        self.supervisor.spawn(
            self._actor,
            dispatcher=self._dispatcher,
            strategy=self._strategy,  # type: ignore[arg-type]
            max_restarts=self._max_restarts,
            window=self._window,
            thread_name=f"runtime:{self.name}",
        )
        if not wait or self._actor.runs_on_current_thread():
            return self
        return self.wait_started(timeout)

    def wait_started(self, timeout: float = 10.0) -> Runtime:
        """Wait until the initial configuration is entered (see ``start``)."""
        if not self._ready.wait(timeout):
            raise CallTimeout(
                f"runtime {self.name!r} did not enter its initial configuration "
                f"within {timeout} s; its start actions may be blocked"
            )
        if self._boot_error is not None:
            raise self._boot_error
        return self

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT, drain: bool = True) -> list[Event]:
        """Stop the runtime and return the events it did not process.

        With ``drain`` the events already in the mailbox are processed first;
        without it they are returned unprocessed. Pending delayed events are
        cancelled either way. Raises ``ShutdownTimeout`` naming the actor and
        its stack when it does not stop within ``timeout`` seconds.
        """
        with self._lifecycle:
            if self._stopped and self._actor.state.terminal:
                return []
            # A second stop after ShutdownTimeout waits again.
            self._stopped = True
        if _registry.get(self.name) is self:
            del _registry[self.name]
        self._cancel_all_timers()
        undelivered: list[object] = []
        if self._started:
            undelivered = self._actor.stop(drain=drain, timeout=timeout)
        events: list[Event] = []
        for message in undelivered:
            if message.__class__ is tuple:
                events.append(message[0])  # type: ignore[index]
            elif isinstance(message, _Request):
                message.finish(
                    error=InterpreterNotRunning(
                        f"runtime {self.name!r} stopped before processing "
                        f"{message.kind} request"
                    )
                )
        if events:
            logger.info(
                "runtime %r stopped with %d undelivered event(s)", self.name, len(events)
            )
        if self._owns_supervisor:
            self.supervisor.stop(timeout)
        return events

    def __enter__(self) -> Runtime:
        if not self._started:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------
    # Sending

    def send(
        self,
        event: str | Event,
        data: Any = None,
        *,
        delay: float | None = None,
        timeout: float | None = None,
    ) -> str | None:
        """Queue an event and return at once; safe from any thread.

        With ``delay`` (seconds) the event is delivered later by the
        supervisor's timer thread, and the returned send id cancels it.
        ``timeout`` bounds the wait of a full "block" mailbox. Raises
        ``MailboxFull`` under the "reject" policy (or after the block
        timeout) and ``InterpreterNotRunning`` after ``stop``.
        """
        # Hot path (perf/bench_runtime.py "send"): build the event, stamp
        # it for the latency histogram, one mailbox append.
        if event.__class__ is not Event:
            event = make_event(event, data)
        elif event.target is not None:
            self._check_address(event.target)
        if delay:
            return self._schedule(self, event, delay)
        try:
            if timeout is None:
                self._put((event, _perf_ns()))
            else:
                self._put((event, _perf_ns()), timeout)
        except MailboxFull:
            raise
        except StatechartxError as exc:
            raise InterpreterNotRunning(
                f"cannot send {event.name!r}: runtime {self.name!r} is stopping "
                "or stopped"
            ) from exc
        return None

    def send_many(self, events: Iterable[str | Event]) -> None:
        """Queue several events in order (one call, same rules as ``send``)."""
        put = self._put
        try:
            for event in events:
                if event.__class__ is not Event:
                    event = make_event(event)  # type: ignore[arg-type]
                put((event, _perf_ns()))
        except MailboxFull:
            raise
        except StatechartxError as exc:
            raise InterpreterNotRunning(
                f"cannot send: runtime {self.name!r} is stopping or stopped"
            ) from exc

    def cancel(self, sendid: str) -> bool:
        """Cancel a delayed event; returns whether it was still pending."""
        with self._timers_lock:
            timer_id = self._timers.pop(sendid, None)
        if timer_id is None:
            return False
        return self.supervisor.timers.cancel(timer_id)

    def call(self, event: str | Event, data: Any = None, timeout: float = 10.0) -> frozenset[str]:
        """Send an event and wait for the macrostep that consumes it.

        Returns the configuration after that macrostep. Raises
        ``CallTimeout`` past ``timeout`` seconds, and a clear error when
        called from the runtime's own thread (an action), where waiting
        would deadlock: use ``ctx.send`` there.
        """
        if event.__class__ is not Event:
            event = Event(event, data)
        request = _Request("call", (event, _perf_ns()))
        return self._request(request, timeout, f"call({event.name!r})")

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every event queued before the call, and every event
        those macrosteps sent to this runtime, has been processed.

        Returns False when that did not happen within ``timeout`` seconds.
        Delayed events that are not due yet do not count.
        """
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                self._request(_Request("idle"), remaining, "wait_idle")
            except CallTimeout:
                return False
            if self._actor.mailbox.pending == 0:
                return True

    def transition_to(self, state_id: str, timeout: float | None = None) -> None:
        """Force a transition into ``state_id``, processed in mailbox order.

        Returns at once unless ``timeout`` is given, in which case it waits
        for the transition and raises its error (an unknown id) if any.
        """
        if state_id not in self.machine.index:
            raise StatechartxError(
                f"transition_to: unknown state id {state_id!r}: not in machine "
                f"{self.machine!r}"
            )
        request = _Request("transition_to", state_id)
        if timeout is None:
            self._put_request(request, f"transition_to({state_id!r})")
        else:
            self._request(request, timeout, f"transition_to({state_id!r})")

    def _put_request(self, request: _Request, what: str) -> None:
        # Requests skip the capacity check: a caller waits on each, and the
        # overflow policy is for events (a full mailbox must not make
        # wait_idle raise or evict an event for it).
        try:
            self._actor.mailbox.put_unbounded(request)
        except StatechartxError as exc:
            raise InterpreterNotRunning(
                f"cannot {what}: runtime {self.name!r} is stopping or stopped"
            ) from exc

    def _request(self, request: _Request, timeout: float, what: str) -> Any:
        if not self._started:
            raise InterpreterNotRunning(
                f"cannot {what}: runtime {self.name!r} is not started; call start() first"
            )
        if self._actor.runs_on_current_thread() or in_region_of(self):
            raise StatechartxError(
                f"{what} on runtime {self.name!r} was called from the runtime's "
                "own thread (inside an action), where waiting would deadlock; "
                "use ctx.send() to queue the event instead"
            )
        self._put_request(request, what)
        if not request.done.wait(timeout):
            raise CallTimeout(
                f"{what} on runtime {self.name!r} did not complete within "
                f"{timeout} s"
            )
        if request.error is not None:
            raise request.error
        return request.result

    # ------------------------------------------------------------------
    # Reading

    @property
    def configuration(self) -> frozenset[str]:
        """The ids of the active states after the last macrostep (snapshot)."""
        return self._snapshot

    def is_in(self, state_id: str) -> bool:
        """Return whether ``state_id`` was active after the last macrostep."""
        if state_id not in self.machine.index:
            raise StatechartxError(
                f"unknown state id {state_id!r}: not in machine {self.machine!r}"
            )
        return state_id in self._snapshot

    @property
    def finished(self) -> bool:
        """Whether the machine entered a top-level final state."""
        return self._finished

    @property
    def state(self) -> str:
        """The actor's lifecycle state: new, starting, running, stopping,
        stopped or failed."""
        return self._actor.state.value

    @property
    def actor(self) -> Actor:
        """The actor hosting this runtime."""
        return self._actor

    @property
    def metrics(self) -> dict[str, Any]:
        """A snapshot of this runtime's metrics with Prometheus-style names."""
        stats = self._actor.mailbox.stats()
        metrics = self._metrics
        result = metrics.as_dict()
        interp = self._interpreter
        if interp is not None:
            result["statechartx_transitions_total"] = metrics.transitions + interp.microsteps_total
            result["statechartx_errors_total"] = metrics.errors + interp.errors_total
        result.update(
            {
                # The mailbox also carries call, wait_idle and transition_to
                # requests; those processed are not events. NOTE: while a
                # request waits in the mailbox it still counts here.
                "statechartx_events_sent_total": stats.sent - metrics.requests,
                "statechartx_requests_total": metrics.requests,
                "statechartx_events_rejected_total": stats.rejected,
                "statechartx_events_dropped_total": stats.dropped,
                "statechartx_mailbox_depth": stats.pending,
                "statechartx_mailbox_depth_max": self._metrics.max_depth,
            }
        )
        result.update(gc_monitor.as_dict())
        return result

    def metrics_json(self) -> str:
        """Return the metrics snapshot as JSON text."""
        return to_json(self.metrics)

    # ------------------------------------------------------------------
    # The actor's side

    def _boot(self) -> None:
        """Create the interpreter and enter the initial configuration (actor
        thread; also after a crash)."""
        executor: RegionExecutor | None = None
        if self._has_regions and (
            self._concurrent_regions
            or any(
                self.machine.nodes[i].concurrent
                for i, k in enumerate(self.machine.kind)
                if k == PARALLEL
            )
        ):
            from .regions import RegionActors

            if self._regions is not None:
                self._regions.close()
            self._regions = RegionActors(self, keep=self._keep_region_actors)
            executor = self._regions
        options: dict[str, Any] = {}
        if self._max_microsteps is not None:
            options["max_microsteps"] = self._max_microsteps
        previous = self._interpreter
        if previous is not None:
            # A restart: keep the totals of the interpreter that crashed.
            self._metrics.transitions += previous.microsteps_total
            self._metrics.errors += previous.errors_total
        interp = Interpreter(
            self.machine,
            data=dict(self._initial_data),
            host=_RuntimeHost(self),
            session_id=self.name,
            region_executor=executor,
            all_parallel_concurrent=self._concurrent_regions,
            **options,
        )
        self._interpreter = interp
        tracer = tracing.active_tracer()
        if tracer is not None:
            # Chosen once per start so that untraced runtimes pay nothing.
            self._tracer = tracer
            self._receive = self._receive_traced  # type: ignore[method-assign]
        try:
            interp.start()
        except BaseException as exc:
            self._boot_error = exc
            self._ready.set()
            raise
        self._publish(interp)
        self._ready.set()

    def _receive(self, message: object) -> None:
        # Hot path (perf/bench_runtime.py "throughput"): one macrostep per
        # event, one clock read, the latency bucket inlined, and the
        # snapshot published by one reference assignment. Mailbox depth and
        # macrostep time are sampled on 1 event in 64.
        if message.__class__ is not tuple:
            self._receive_request(message)  # type: ignore[arg-type]
            return
        interp = self._interpreter
        event, enqueued = message  # type: ignore[misc]
        if not interp._running:  # type: ignore[union-attr]
            # A timer or another runtime can still deliver after the machine
            # finished; processing would raise and restart the machine.
            self._discard(event)
            return
        metrics = self._metrics
        processed = metrics.processed = metrics.processed + 1
        if processed & 63:
            interp.process(event)  # type: ignore[union-attr]
            done = _perf_ns()
        else:
            self._sample(interp, event, metrics)  # type: ignore[arg-type]
            done = _perf_ns()
        ns = done - enqueued
        bits = ns.bit_length()
        if bits > 2:
            metrics.latency.counts[((bits - 2) << 2) + ((ns >> (bits - 3)) & 3)] += 1
        else:
            metrics.latency.counts[0] += 1
        if ns > metrics.latency.max_ns:
            metrics.latency.max_ns = ns
        self._snapshot = interp.configuration  # type: ignore[union-attr]
        if interp._finished and not self._finished:  # type: ignore[union-attr]
            self._mark_finished(interp)  # type: ignore[arg-type]

    def _receive_traced(self, message: object) -> None:
        tracer = self._tracer
        start = tracer.getts()
        Runtime._receive(self, message)
        if message.__class__ is tuple:
            name = f"macrostep {message[0].name}"  # type: ignore[index]
        else:
            name = f"request {message.kind}"  # type: ignore[attr-defined]
        tracing.span(tracer, name, start, {"runtime": self.name})
        if self._metrics.processed & 15 == 0:
            tracer.add_counter(f"mailbox {self.name}", {"depth": len(self._queue)})

    def _sample(self, interp: Interpreter, event: Event, metrics: RuntimeMetrics) -> None:
        depth = len(self._queue)
        if depth > metrics.max_depth:
            metrics.max_depth = depth
        started = _perf_ns()
        interp.process(event)
        metrics.macrostep.record(_perf_ns() - started)

    def _receive_request(self, request: _Request) -> None:
        interp = self._interpreter
        assert interp is not None
        kind = request.kind
        if kind != "call" and kind != "post":
            # call and post carry an event, counted as processed below.
            self._metrics.requests += 1
        try:
            if kind == "call":
                event, enqueued = request.payload
                if not interp._running:
                    raise InterpreterNotRunning(
                        f"runtime {self.name!r} has finished; {event.name!r} was "
                        "not processed"
                    )
                interp.process(event)
                done = _perf_ns()
                self._metrics.processed += 1
                self._metrics.latency.record(done - enqueued)
                self._publish(interp)
                request.finish(self._snapshot)
            elif kind == "transition_to":
                interp.transition_to(request.payload)
                self._publish(interp)
                request.finish(self._snapshot)
            elif kind == "idle":
                request.finish(True)
            elif kind == "post":
                # An event from a timer or another runtime's action.
                event = request.payload
                if interp._running:
                    interp.process(event)
                    self._metrics.processed += 1
                    self._publish(interp)
                else:
                    self._discard(event)
                request.finish(None)
            else:  # pragma: no cover - internal invariant
                raise AssertionError(f"unknown request kind {kind!r}")
        except (InterpreterNotRunning, ChartError) as exc:
            # The caller's mistake or a finished machine: report, no crash.
            request.finish(error=exc)
        except BaseException as exc:
            # Anything else is a crash, handled by the supervisor's strategy
            # exactly as when it happens for an event sent with send().
            request.finish(error=exc)
            raise

    def _publish(self, interp: Interpreter) -> None:
        self._snapshot = interp.configuration
        if interp._finished and not self._finished:
            self._mark_finished(interp)

    def _mark_finished(self, interp: Interpreter) -> None:
        self._finished = True
        if self._on_finish is None:
            return
        try:
            self._on_finish(self, interp.done_data)
        except Exception:  # noqa: BLE001 - a callback must not crash the actor
            logger.exception("on_finish callback of runtime %r raised", self.name)

    def _discard(self, event: Event) -> None:
        logger.debug(
            "runtime %r has finished; event %r discarded", self.name, event.name
        )

    def _on_actor_stop(self) -> None:
        interp = self._interpreter
        if interp is not None and interp.running:
            # Leave the machine through its exit actions, as SCXML's cancel.
            try:
                interp.stop()
            finally:
                self._publish(interp)
        if self._regions is not None:
            self._regions.close()

    # ------------------------------------------------------------------
    # Delivery helpers

    def _post_own(self, event: Event) -> None:
        """Queue an event sent by an action (any thread, never blocks)."""
        try:
            self._put((event, _perf_ns()), 0.0)
        except MailboxFull:
            logger.warning(
                "runtime %r: mailbox full, event %r sent by an action rejected",
                self.name,
                event.name,
            )
            raise

    def _schedule(self, destination: Runtime, event: Event, delay: float) -> str:
        def put(event: Event) -> None:
            try:
                destination._put((event, _perf_ns()), 0.0)
            except StatechartxError as exc:
                logger.warning(
                    "runtime %r: delayed event %r not delivered to %r: %s",
                    self.name,
                    event.name,
                    destination.name,
                    exc,
                )

        return self.schedule_delivery(event, delay, put)

    def schedule_delivery(
        self, event: Event, delay: float, deliver: Callable[[Event], object]
    ) -> str:
        """Call ``deliver(event)`` on the supervisor's timer thread after
        ``delay`` seconds, as a delayed event sent by this runtime.

        Returns the send id (the event's, else a generated one, which is then
        set on the event). ``cancel(sendid)`` cancels the delivery, and so
        does ``stop``. Hosts that route events to destinations other than
        runtimes use it, such as the SCXML session registry.
        """
        sendid = event.sendid or f"{self.name}.delayed{next(self._sendids)}"
        if event.sendid != sendid:
            event = event._replace(sendid=sendid)

        def fire() -> None:
            with self._timers_lock:
                self._timers.pop(sendid, None)
            deliver(event)

        with self._timers_lock:
            timer_id = self.supervisor.timers.schedule(delay, fire, owner=self)
            self._timers[sendid] = timer_id
        return sendid

    def _cancel_all_timers(self) -> None:
        with self._timers_lock:
            self._timers.clear()
        self.supervisor.timers.cancel_owner(self)

    def _resolve_target(self, target: str) -> Runtime:
        runtime = _registry.get(target)
        if runtime is None:
            raise StatechartxError(
                f"send target {target!r} is not a running runtime; targets are "
                "runtime names, or '#_internal'"
            )
        return runtime

    def _check_address(self, target: str) -> None:
        m = self.machine
        region = m.index.get(target)
        if region is None or m.kind[m.parent[region]] != PARALLEL:
            raise StatechartxError(
                f"event addressed to {target!r}, which is not a region (child) "
                f"of a parallel state in machine {m!r}; address a region or "
                "send without target to broadcast"
            )

    def register(self) -> Runtime:
        """Make this runtime reachable by name as a send target of others."""
        _registry[self.name] = self
        return self


def _fail_dropped_request(message: object) -> None:
    # A request evicted by "drop_oldest" (put before the mailbox filled)
    # would leave its caller waiting until the timeout.
    if isinstance(message, _Request):
        message.finish(
            error=MailboxFull(
                f"{message.kind} request dropped by a full mailbox under the "
                "drop_oldest policy; retry it or give the mailbox more capacity"
            )
        )


# Runtimes reachable by name from other runtimes' actions (``register``).
_registry: dict[str, Runtime] = {}
