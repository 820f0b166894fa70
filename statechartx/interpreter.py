"""Interpreter: the SCXML algorithm (W3C recommendation, Appendix D).

An ``Interpreter`` runs one ``Machine`` on the calling thread. It uses no
threads and no locks, because a ``Runtime`` hosts it in an actor whose thread
is the only one that touches its state.

Vocabulary, as in SCXML: the *configuration* is the set of active states; a
*microstep* takes one set of non-conflicting transitions (exit, transition
actions, entry); a *macrostep* processes one external event and then every
eventless transition and internal event that follows, until the configuration
is stable.

Differences a user may notice:

- Each callable in an ``on_entry``/``on_exit``/``action`` list is its own
  block of executable content: when one raises, ``error.execution`` is queued
  and the next callable still runs, like separate ``<onentry>`` elements.
- After the machine finishes, ``configuration`` keeps the configuration in
  which it finished, although every exit action has run, so that callers can
  still ask which final state was reached.
"""

from __future__ import annotations

import heapq
import logging
from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from .errors import ChartError, InterpreterNotRunning, MacrostepLimitError
from .events import Event, make_event
from .machine import (
    ATOMIC,
    COMPOUND,
    FINAL,
    HISTORY,
    PARALLEL,
    ROOT,
    CompiledTransition,
    Machine,
)

__all__ = [
    "ActionContext",
    "Host",
    "Interpreter",
    "RegionContext",
    "RegionExecutor",
    "RegionTask",
    "SequentialRegions",
    "Macrostep",
    "Microstep",
    "DEFAULT_MAX_MICROSTEPS",
]

logger = logging.getLogger("statechartx.interpreter")

#: Microsteps allowed in one macrostep before ``MacrostepLimitError``. A
#: legitimate macrostep rarely needs more than a few hundred; a cycle of
#: eventless transitions or of raised events would otherwise never end.
DEFAULT_MAX_MICROSTEPS = 100_000

_NO_TRANSITIONS: tuple[CompiledTransition, ...] = ()


class Microstep(NamedTuple):
    """Record of one microstep: its event, transitions, exited and entered ids."""

    event: Event | None
    transitions: tuple[Any, ...]
    exited: tuple[str, ...]
    entered: tuple[str, ...]


class Macrostep(NamedTuple):
    """Record of one macrostep: its event, microsteps and final configuration."""

    event: Event | None
    microsteps: tuple[Microstep, ...]
    configuration: frozenset[str]


class Host(Protocol):
    """Delivers events that actions send outside the internal queue.

    The synchronous interpreter is its own host: it keeps sent events in its
    external queue and delayed ones on a virtual clock (``advance``). A
    ``Runtime`` replaces it to deliver through its mailbox and timers.
    """

    def send_event(
        self, interpreter: Interpreter, event: Event, delay: float, target: str | None
    ) -> None: ...

    def cancel_event(self, interpreter: Interpreter, sendid: str) -> bool: ...


class ActionContext:
    """The single argument of every guard and action.

    One context exists per interpreter and is reused for every callback, so
    callbacks must not keep it beyond their call expecting ``event`` to stay.
    """

    __slots__ = ("event", "data", "_interpreter")

    def __init__(self, interpreter: Interpreter, data: dict[str, Any]) -> None:
        self.event: Event | None = None
        self.data = data
        self._interpreter = interpreter

    @property
    def interpreter(self) -> Interpreter:
        """The interpreter running this callback."""
        return self._interpreter

    @property
    def session_id(self) -> str:
        """The interpreter's session id (SCXML ``_sessionid``)."""
        return self._interpreter.session_id

    @property
    def name(self) -> str | None:
        """The machine's name (SCXML ``_name``)."""
        return self._interpreter.machine.name

    def is_in(self, state_id: str) -> bool:
        """Return whether a state is active (SCXML ``In()``)."""
        return self._interpreter.is_in(state_id)

    def raise_event(self, event: str | Event, data: Any = None) -> None:
        """Append an event to the internal queue, processed in this macrostep."""
        if event.__class__ is not Event:
            event = Event(event, data, type="internal")
        self._interpreter._internal.append(event)

    def send(
        self,
        event: str | Event,
        data: Any = None,
        *,
        delay: float = 0.0,
        target: str | None = None,
        sendid: str | None = None,
    ) -> str | None:
        """Send an event to the external queue (or to ``target``).

        Returns the send id, generated when ``delay`` is positive and none was
        given, so that ``cancel`` can stop a delayed event.
        """
        interp = self._interpreter
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay!r}")
        if event.__class__ is not Event:
            event = Event(event, data)
        if sendid is None and delay > 0:
            # NOTE: the generated id is stored in the event's sendid field,
            # where hosts find it for cancel; SCXML would leave _event.sendid
            # blank for a <send> without id, which the SCXML layer does by
            # passing its own ids.
            sendid = self._next_sendid()
        if sendid is not None and event.sendid != sendid:
            event = event._replace(sendid=sendid)
        interp._host.send_event(interp, event, delay, target)
        return sendid

    def cancel(self, sendid: str) -> bool:
        """Cancel a delayed event by send id; returns whether one was pending."""
        interp = self._interpreter
        return interp._host.cancel_event(interp, sendid)

    def _next_sendid(self) -> str:
        interp = self._interpreter
        interp._send_counter += 1
        return f"{interp.session_id}.send{interp._send_counter}"


class RegionContext(ActionContext):
    """The action context of callbacks that run in a region's actor.

    It differs from the interpreter's own context in one way: raised events
    go to the region's buffer, which the interpreter merges into the
    internal queue in sequential SCXML order after every region finished.
    """

    __slots__ = ("events", "_region", "_sent")

    def __init__(self, interpreter: Interpreter, region: str, event: Event | None) -> None:
        super().__init__(interpreter, interpreter.data)
        self.event = event
        self.events: list[Event] = []
        self._region = region
        self._sent = 0

    def raise_event(self, event: str | Event, data: Any = None) -> None:
        """Buffer an internal event; merged in SCXML order after the region step."""
        if event.__class__ is not Event:
            event = Event(event, data, type="internal")
        self.events.append(event)

    def _next_sendid(self) -> str:
        # The interpreter's counter belongs to the runtime's thread; each
        # region numbers its own sends.
        self._sent += 1
        return f"{self._interpreter.session_id}.{self._region}.send{self._sent}"


class _DoneItem(NamedTuple):
    """A deferred done event whose data comes from a donedata callable."""

    name: str
    donedata: Callable[[Any], Any] | None


class RegionTask:
    """One region's share of a microstep phase, run by a region executor.

    ``items`` are, in SCXML order, callables to run with the region's
    context, events to raise, and done events to build. ``run()`` executes
    them on the calling thread; errors become ``error.execution`` events in
    the buffer, exactly as in sequential mode.
    """

    __slots__ = ("region", "parallel", "items", "ctx")

    def __init__(self, interpreter: Interpreter, region: int, event: Event | None) -> None:
        m = interpreter.machine
        self.region: str = m.ids[region]  # type: ignore[assignment]
        self.parallel: str = m.ids[m.parent[region]]  # type: ignore[assignment]
        self.items: list[Any] = []
        self.ctx = RegionContext(interpreter, self.region, event)

    @property
    def events(self) -> list[Event]:
        """Events raised by this task, in order."""
        return self.ctx.events

    def run(self) -> None:
        """Run every item in order on the calling thread."""
        ctx = self.ctx
        events = ctx.events
        for item in self.items:
            if item.__class__ is Event:
                events.append(item)
            elif item.__class__ is _DoneItem:
                data = None
                if item.donedata is not None:
                    try:
                        data = item.donedata(ctx)
                    except Exception as exc:  # noqa: BLE001 - user code
                        events.append(Event("error.execution", exc, type="platform"))
                events.append(Event(item.name, data, type="platform"))
            else:
                try:
                    item(ctx)
                except Exception as exc:  # noqa: BLE001 - user code; SCXML says error.execution
                    logger.debug("error.execution in region %s: %r", self.region, exc)
                    events.append(Event("error.execution", exc, type="platform"))


class RegionExecutor(Protocol):
    """Runs the region tasks of one microstep phase, possibly in parallel.

    ``run_tasks`` must call ``task.run()`` exactly once for every task and
    return only when all have returned. The hooks tell it when a concurrent
    parallel state is entered and exited, so that it can start and stop
    region actors.
    """

    def run_tasks(self, tasks: list[RegionTask]) -> None: ...

    def regions_entered(self, parallel: str, regions: tuple[str, ...]) -> None: ...

    def regions_exited(self, parallel: str, regions: tuple[str, ...]) -> None: ...


class SequentialRegions:
    """A region executor that runs every task in order on the caller's thread.

    It gives exactly the sequential SCXML results and is what tests compare
    concurrent executors against.
    """

    def run_tasks(self, tasks: list[RegionTask]) -> None:
        """Run the tasks one after the other."""
        for task in tasks:
            task.run()

    def regions_entered(self, parallel: str, regions: tuple[str, ...]) -> None:
        """Do nothing: there are no region actors."""

    def regions_exited(self, parallel: str, regions: tuple[str, ...]) -> None:
        """Do nothing: there are no region actors."""


class Interpreter:
    """Runs one ``Machine`` with SCXML semantics on the calling thread.

    ``data`` is the initial datamodel (a dict that actions reach as
    ``ctx.data``; it is owned by this interpreter). ``host`` delivers sent
    events; the default keeps them here. ``max_microsteps`` caps one
    macrostep (see ``DEFAULT_MAX_MICROSTEPS``).

    Not thread-safe: one thread at a time, which is what ``Runtime`` ensures.
    """

    _instances = 0

    def __init__(
        self,
        machine: Machine,
        *,
        data: dict[str, Any] | None = None,
        host: Host | None = None,
        session_id: str | None = None,
        max_microsteps: int = DEFAULT_MAX_MICROSTEPS,
        region_executor: RegionExecutor | None = None,
        all_parallel_concurrent: bool = False,
    ) -> None:
        if not isinstance(machine, Machine):
            raise TypeError(f"Interpreter needs a Machine, got {machine!r}")
        if max_microsteps < 1:
            raise ValueError(f"max_microsteps must be >= 1, got {max_microsteps!r}")
        Interpreter._instances += 1
        self.machine = machine
        self.session_id = session_id or f"session{Interpreter._instances}"
        self.max_microsteps = max_microsteps
        self.data: dict[str, Any] = {} if data is None else data
        self.ctx = ActionContext(self, self.data)
        self._host: Host = host if host is not None else _LocalHost()
        self.done_data: Any = None

        self._config: set[int] = set()
        # Active child of each active compound state (and of the document
        # root), so that exit sets never scan a compound state's children.
        self._active_child: dict[int, int] = {}
        # While no parallel state is active the configuration is one chain
        # and ``_leaf`` is its atomic state: the fast path of every step.
        self._parallel_active = 0
        self._leaf = 0
        # The fast-path plans of the current leaf (Machine._leaf_plans[leaf]).
        self._here: dict[str, Any] | None = None
        self._history: dict[int, tuple[int, ...]] = {}
        self._internal: deque[Event] = deque()
        self._external: deque[Event] = deque()
        self._to_invoke: set[int] = set()
        self._invocations: dict[tuple[int, int], Any] = {}
        self._initialized: set[int] = set()
        self._listeners: list[Callable[[Microstep], Any]] = []
        self._send_counter = 0
        self._started = False
        self._running = False
        self._finished = False
        self._busy = False
        # True while send() may take the plan path: running, not inside a
        # macrostep, one chain, no listener, no invocation. Recomputed by
        # _leave() whenever a macrostep ends.
        self._fast = False
        self._version = 0
        self._snapshot: frozenset[str] = frozenset()
        self._snapshot_version = -1
        self._microsteps = 0
        # Totals since start, read by Runtime.metrics from other threads (an
        # int attribute read is atomic on both builds).
        self.microsteps_total = 0
        self.errors_total = 0
        # True from the moment a top-level final state is entered.
        self.final_reached = False

        # Virtual clock for delayed events of the synchronous host.
        self._clock = 0.0
        self._timers: list[tuple[float, int, Event]] = []
        self._timer_seq = 0

        # Up-pointers that skip states without transitions, so that event
        # selection in a deep chain visits only states that can match.
        self._up = machine.up

        # Concurrent regions: with an executor, the callbacks of a microstep
        # are collected per region (the outermost region of a concurrent
        # parallel state containing the state, 0 for none) and handed over
        # in blocks; see _flush_phase.
        self._executor = region_executor
        self._deferred: list[tuple[int, Any]] | None = None
        # States exited by a deferred microstep, removed after their exit
        # actions ran.
        self._leaving: list[int] = []
        # Domains of history-target transitions for the current microstep.
        self._frozen_domains: dict[int, int | None] | None = None
        self._region_of: Any = None
        if region_executor is not None:
            self._region_of = _region_table(machine, all_parallel_concurrent)
            if not any(self._region_of):
                self._executor = None

    # ------------------------------------------------------------------
    # Public API

    @property
    def configuration(self) -> frozenset[str]:
        """The ids of the active states (cached until the next microstep)."""
        if self._snapshot_version != self._version:
            m = self.machine
            if not self._parallel_active and self._running:
                # A chain configuration is determined by its leaf, so the
                # machine caches one frozenset per leaf; a Runtime publishes
                # this after every macrostep (perf/bench_runtime.py).
                snapshot = m._chain_snapshots.get(self._leaf)
                if snapshot is None:
                    ids = m.ids
                    snapshot = frozenset([ids[s] for s in self._config])
                    if len(m._chain_snapshots) < 10_000:
                        m._chain_snapshots[self._leaf] = snapshot
            else:
                ids = m.ids
                snapshot = frozenset([ids[s] for s in self._config])
            self._snapshot = snapshot
            self._snapshot_version = self._version
        return self._snapshot

    @property
    def running(self) -> bool:
        """Whether the interpreter has started and not finished."""
        return self._running

    @property
    def finished(self) -> bool:
        """Whether a top-level final state was entered."""
        return self._finished

    @property
    def started(self) -> bool:
        """Whether ``start()`` was called."""
        return self._started

    def is_in(self, state_id: str) -> bool:
        """Return whether the state ``state_id`` is active."""
        i = self.machine.index.get(state_id)
        if i is None:
            raise ChartError(
                f"unknown state id {state_id!r}: not in machine {self.machine!r}"
            )
        return i in self._config

    def add_listener(self, listener: Callable[[Microstep], Any]) -> None:
        """Call ``listener(microstep)`` after every microstep.

        A listener that raises is detached and logged so that it cannot stop
        the machine. With no listener the interpreter builds no records.
        """
        self._listeners.append(listener)
        self._fast = False

    def remove_listener(self, listener: Callable[[Microstep], Any]) -> None:
        """Detach a listener added with ``add_listener``."""
        self._listeners.remove(listener)
        if not self._busy:
            self._leave()

    def start(self) -> None:
        """Initialise the datamodel, enter the initial configuration and run
        to a stable configuration."""
        if self._started:
            raise InterpreterNotRunning(
                f"interpreter {self.session_id!r} was already started; create a "
                "new Interpreter to run the machine again"
            )
        self._started = True
        self._running = True
        m = self.machine
        ctx = self.ctx
        ctx.event = None
        if m.datamodel is not None:
            self._run(m.datamodel)
        if m.binding == "early":
            for s in m.datamodel_states:
                self._initialized.add(s)
                self._run(m.nodes[s].datamodel)
        if m.script is not None:
            self._run(m.script)
        self._busy = True
        self._fast = False
        try:
            self._microstep((m.initial[0],), None)
            self._stabilize()
            self._drain_external()
        finally:
            self._leave()

    def send(self, event: str | Event, data: Any = None) -> None:
        """Process an external event: its macrostep, then those of every event
        that actions sent to this interpreter meanwhile.

        Called from inside an action, the event is queued and processed after
        the current macrostep.
        """
        # Hot path (perf/bench_engine.py "transition"): while the
        # configuration is one chain and no guard takes part, (leaf, event
        # name) determines the transition and the whole microstep, which was
        # precomputed as a plan; replaying it is a few set operations.
        if not self._fast:
            self._send_general(event, data)
            return
        if event.__class__ is Event:
            if event.target is not None:
                self._send_general(event, data)
                return
            name = event.name
        else:
            name = event
            event = None
        here = self._here
        hit = here.get(name) if here is not None else None
        if hit is None:
            self._send_general(event if event is not None else name, data)
            return
        transition, plan = hit
        (exits, exit_actions, entry, entry_actions, child_updates,
         child_deletes, new_leaf, has_callbacks, settle, next_here) = plan
        if not has_callbacks:
            # Nothing user-visible runs, so nothing can raise or re-enter.
            # Loops of discard/add beat difference_update/update on these
            # one- or two-element tuples by about 5x (CPython 3.13).
            config = self._config
            for x in exits:
                config.discard(x)
            active_child = self._active_child
            for p in child_deletes:
                del active_child[p]
            for x in entry:
                config.add(x)
            for p, x in child_updates:
                active_child[p] = x
            self._leaf = new_leaf
            self._here = next_here
            self._version += 1
            self.microsteps_total += 1
            if settle:
                self.ctx.event = event if event is not None else make_event(name, data)
                self._busy = True
                self._fast = False
                try:
                    self._microsteps = 1
                    self._stabilize()
                    if self._external:
                        self._drain_external()
                finally:
                    self._leave()
            return
        if event is None:
            event = make_event(name, data)
        self._busy = True
        self._fast = False
        try:
            self._run_plan(transition, plan, event)
            if self._external:
                self._drain_external()
        finally:
            self._leave()

    def _leave(self) -> None:
        """Mark the end of a macrostep and recompute the fast-path flag."""
        self._busy = False
        self._fast = (
            self._running
            and not self._parallel_active
            and not self._listeners
            and not self._invocations
        )

    def _send_general(self, event: str | Event, data: Any) -> None:
        if not self._running:
            self._raise_not_running(event)
        if self._busy:
            if event.__class__ is not Event:
                event = Event(event, data)
            self._external.append(event)
            return
        self._busy = True
        self._fast = False
        try:
            if (
                self._parallel_active
                or self._listeners
                or self._invocations
                or not self._chain_step(event, data)
            ):
                if event.__class__ is not Event:
                    event = Event(event, data)
                self._process_external(event)
            if self._external:
                self._drain_external()
        finally:
            self._leave()

    def _chain_step(self, event: str | Event, data: Any) -> bool:
        """Select and run one macrostep through a chain plan, if one applies.

        Returns False, having changed nothing, when the general algorithm
        must run (a parallel, final or history state is involved).
        """
        if event.__class__ is Event:
            if event.target is not None:
                return False
            name = event.name
        else:
            name = event
            event = None
        hit = self._select_plan(self._leaf, name, event, data)
        if hit is None:
            return True
        transition, plan = hit
        if event is None:
            event = make_event(name, data)
        self._run_plan(transition, plan, event)
        return True

    def _run_plan(self, transition: CompiledTransition, plan: Any, event: Event) -> None:
        (exits, exit_actions, entry, entry_actions, child_updates,
         child_deletes, new_leaf, has_callbacks, settle, next_here) = plan
        ctx = self.ctx
        ctx.event = event
        run = self._run
        for action in exit_actions:
            run(action)
        config = self._config
        for x in exits:
            config.discard(x)
        active_child = self._active_child
        for p in child_deletes:
            del active_child[p]
        for action in transition.actions:
            run(action)
        for x in entry:
            config.add(x)
        for p, x in child_updates:
            active_child[p] = x
        for action in entry_actions:
            run(action)
        self._leaf = new_leaf
        self._here = next_here
        self._version += 1
        self.microsteps_total += 1
        if settle or self._internal:
            self._microsteps = 1
            self._stabilize()

    def _select_plan(self, leaf: int, name: str, event: Event | None, data: Any) -> Any:
        """Select a transition from the chain for ``_chain_step``.

        Returns (transition, plan), or None when the macrostep already ran
        here: no transition was enabled (raised events are settled), or the
        transition needs the general microstep. The pair is cached per
        (leaf, name) when no guard was evaluated.
        """
        m = self.machine
        ctx = self.ctx
        up = self._up
        parent = m.parent
        chosen = None
        guarded = False
        s = up[leaf]
        while s > 0:
            for t in m.candidates(s, name):
                if t.guard is None:
                    chosen = t
                    break
                guarded = True
                if event is None:
                    event = make_event(name, data)
                ctx.event = event
                if self._guard_passes(t):
                    chosen = t
                    break
            if chosen is not None:
                break
            s = up[parent[s]]
        if chosen is None:
            if self._internal or m.eventless or self._to_invoke:
                ctx.event = event if event is not None else make_event(name, data)
                self._microsteps = 0
                self._stabilize()
            return None
        plans = chosen.chain_plans
        plan = plans.get(leaf) if plans is not None else None
        if plan is None:
            plan = self._chain_plan(chosen, leaf)
        if plan is False:
            # The general microstep runs here, so that a guard is not
            # evaluated twice for one event.
            if event is None:
                event = make_event(name, data)
            ctx.event = event
            self._microsteps = 0
            self._microstep((chosen,), event)
            if self._internal or m.eventless or self._to_invoke:
                self._stabilize()
            return None
        if not guarded:
            by_name = m._leaf_plans.setdefault(leaf, {})
            if leaf == self._leaf:
                self._here = by_name
            if len(by_name) < 1024:
                by_name[name] = (chosen, plan)
        return (chosen, plan)

    def _chain_plan(self, t: CompiledTransition, leaf: int) -> Any:
        """Precompute the microstep of ``t`` taken from the chain ending at
        ``leaf``, or store False when it needs the general algorithm.

        A plan applies when the microstep records no history, enters no
        parallel or final state, runs no default-entry or history actions,
        binds no late data and starts no invocation; everything else about
        it is fixed by (t, leaf).
        """
        m = self.machine
        plan: Any = False
        domain = t.domain
        kind = m.kind
        if (
            domain is not None
            and domain != -1
            and not m.has_invoke
            and m.binding == "early"
        ):
            exits: list[int] = []
            s = leaf
            while s != domain:
                exits.append(s)
                s = m.parent[s]
            entry, default_entry, history_content = self._entry_for(t)
            simple = (
                not default_entry
                or all(not m.initial[d].actions for d in default_entry)
            ) and not history_content
            simple = simple and not any(s in m.history for s in exits)
            simple = simple and all(kind[e] in (ATOMIC, COMPOUND) for e in entry)
            if simple and entry and kind[entry[-1]] == ATOMIC:
                child_updates = tuple((m.parent[e], e) for e in entry)
                updated = {p for p, _ in child_updates}
                child_deletes = tuple(
                    m.parent[x]
                    for x in exits
                    if m.parent[x] not in updated
                )
                exit_actions = tuple(a for x in exits for a in m.nodes[x].on_exit)
                entry_actions = tuple(a for e in entry for a in m.nodes[e].on_entry)
                has_callbacks = bool(exit_actions or entry_actions or t.actions)
                settle = bool(m.eventless)
                plan = (
                    tuple(exits),
                    exit_actions,
                    entry,
                    entry_actions,
                    child_updates,
                    child_deletes,
                    entry[-1],
                    has_callbacks,
                    settle,
                    m._leaf_plans.setdefault(entry[-1], {}),
                )
        plans = t.chain_plans
        if plans is None:
            plans = t.chain_plans = {}
        # Bounded like the event cache: a transition on a high ancestor can
        # be taken from many leaves of a large chart.
        if len(plans) < 1024:
            plans[leaf] = plan
        return plan

    def process(self, event: Event) -> None:
        """Run the macrostep of one external event.

        This is the entry point of hosts that own the external queue (a
        ``Runtime``'s mailbox), which never leave events in this
        interpreter's own queue. With the default host, events that actions
        sent meanwhile are processed afterwards, as ``send`` does.
        """
        if not self._external:
            # Nothing else is queued here (a host that owns the external
            # queue never appends to it), so send() does exactly one
            # macrostep and may take its fast path.
            self.send(event)
            return
        if not self._running:
            self._raise_not_running(event)
        self._busy = True
        self._fast = False
        try:
            self._process_external(event)
        finally:
            self._leave()

    def step(self, event: str | Event, data: Any = None) -> Macrostep:
        """Process one external event and return what its macrostep did."""
        if event.__class__ is not Event:
            event = Event(event, data)
        records: list[Microstep] = []
        self._listeners.insert(0, records.append)
        self._fast = False
        try:
            self.process(event)
        finally:
            self._listeners.remove(records.append)
        return Macrostep(event, tuple(records), self.configuration)

    def transition_to(self, state_id: str) -> None:
        """Force a transition into ``state_id`` and run to a stable configuration.

        The nearest active compound ancestor of the target stays active; the
        rest of the configuration below it is exited in reverse document
        order and the target entered with its default descendants, exactly as
        an external transition from that ancestor would. Meant for tests,
        operators and restoring state, not for ordinary control flow.
        """
        if not self._running:
            raise InterpreterNotRunning(
                f"cannot transition_to({state_id!r}): interpreter "
                f"{self.session_id!r} is {self._status()}"
            )
        m = self.machine
        target = m.index.get(state_id)
        if target is None:
            raise ChartError(
                f"transition_to: unknown state id {state_id!r}: not in "
                f"machine {m!r}"
            )
        domain = m.parent[target]
        kind = m.kind
        while domain > 0 and not (kind[domain] == COMPOUND and domain in self._config):
            domain = m.parent[domain]
        forced = CompiledTransition(-1, domain, None, None, (), (target,), True, None)
        if kind[target] == HISTORY:
            forced.domain = -1
            forced.has_history_target = True
        else:
            forced.domain = domain
        self._busy = True
        self._fast = False
        try:
            self._microsteps = 0
            self._microstep((forced,), None)
            self._stabilize()
            self._drain_external()
        finally:
            self._leave()

    def advance(self, seconds: float | None = None) -> int:
        """Move the virtual clock of the synchronous host and deliver due events.

        With ``seconds=None`` the clock jumps to the next delayed event. Returns
        the number of delayed events delivered. Only meaningful with the
        default host; a ``Runtime`` delivers delayed events on real time.
        """
        if seconds is not None and seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        if not self._timers:
            if seconds is not None:
                self._clock += seconds
            return 0
        end = self._timers[0][0] if seconds is None else self._clock + seconds
        delivered = 0
        # Each event is delivered at its own due time, so that a delay sent
        # by its macrostep counts from then, not from the end of the window.
        while self._timers and self._timers[0][0] <= end and self._running:
            due, _, event = heapq.heappop(self._timers)
            self._clock = max(self._clock, due)
            delivered += 1
            self.send(event)
        self._clock = max(self._clock, end)
        return delivered

    @property
    def pending_delayed(self) -> int:
        """Delayed events waiting on the virtual clock (synchronous host)."""
        return len(self._timers)

    def stop(self) -> None:
        """Exit every active state (running their exit actions) and stop.

        This is SCXML's cancellation of a session; ``finished`` stays False.
        """
        if not self._running:
            return
        self._exit_interpreter()

    # ------------------------------------------------------------------
    # Macrostep

    def _process_external(self, event: Event) -> None:
        # Hot path for every event: one chain lookup, one microstep, and a
        # stability check that is a no-op when nothing was raised
        # (perf/bench_engine.py "transition").
        self.ctx.event = event
        if self._invocations:
            for handle in list(self._invocations.values()):
                handler = getattr(handle, "handle_event", None)
                if handler is not None:
                    self._run(handler, event)
        if event.target is not None:
            region = self._address(event)
            enabled = self._select_general(event.name, region) if region else _NO_TRANSITIONS
        elif self._parallel_active:
            enabled = self._select_general(event.name)
        else:
            enabled = self._select_chain(event.name)
        self._microsteps = 0
        if enabled:
            self._microstep(enabled, event)
        if self._internal or self.machine.eventless or self._to_invoke:
            self._stabilize()

    def _address(self, event: Event) -> int:
        """Return the region an addressed event targets, or 0 after queueing
        an error when the address is not a region of an active parallel state."""
        m = self.machine
        region = m.index.get(event.target)  # type: ignore[arg-type]
        if region is None or m.kind[m.parent[region]] != PARALLEL:
            problem = "is not a region (child) of a parallel state"
        elif region not in self._config:
            problem = "is a region of a parallel state that is not active"
        else:
            return region
        self._queue_error(
            ValueError(
                f"event {event.name!r} addressed to {event.target!r}, which "
                f"{problem}; address a region of an active parallel state or "
                "send without target to broadcast"
            ),
            "event address",
        )
        return 0

    def _drain_external(self) -> None:
        external = self._external
        while external and self._running:
            self._process_external(external.popleft())

    def _stabilize(self) -> None:
        """Take eventless transitions and internal events until stable, then
        start invocations (SCXML mainEventLoop, the part before the external
        queue)."""
        m = self.machine
        internal = self._internal
        while self._running:
            while self._running:
                enabled = self._select_eventless() if m.eventless else _NO_TRANSITIONS
                if not enabled:
                    if not internal:
                        break
                    event = internal.popleft()
                    self.ctx.event = event
                    if self._parallel_active:
                        enabled = self._select_general(event.name)
                    else:
                        enabled = self._select_chain(event.name)
                    if not enabled:
                        continue
                    self._microstep(enabled, event)
                else:
                    self._microstep(enabled, self.ctx.event)
            if not self._running or not self._to_invoke:
                break
            self._start_invocations()
            if not internal:
                break

    # ------------------------------------------------------------------
    # Transition selection

    def _guard_passes(self, t: CompiledTransition) -> bool:
        try:
            return bool(t.guard(self.ctx))
        except Exception as exc:  # noqa: BLE001 - user code; SCXML says error.execution
            self._queue_error(exc, f"guard of transition {t.order} in {self.machine.ids[t.source]!r}")
            return False

    def _select_chain(self, name: str) -> tuple[CompiledTransition, ...]:
        m = self.machine
        up = self._up
        parent = m.parent
        s = up[self._leaf]
        while s > 0:
            for t in m.candidates(s, name):
                if t.guard is None or self._guard_passes(t):
                    return (t,)
            s = up[parent[s]]
        return _NO_TRANSITIONS

    def _select_general(self, name: str, region: int = 0) -> tuple[CompiledTransition, ...]:
        m = self.machine
        up = self._up
        parent = m.parent
        enabled: list[CompiledTransition] = []
        seen: set[int] = set()
        # An addressed event is seen only by the region's subtree: atomic
        # states inside it, and ancestors up to the region itself.
        atomics = self._atomic_states()
        if region:
            last = m.end[region]
            atomics = [a for a in atomics if region <= a < last]
            floor = region
        else:
            floor = 1
        for atomic in atomics:
            s = up[atomic]
            while s >= floor:
                chosen = None
                for t in m.candidates(s, name):
                    if t.guard is None or self._guard_passes(t):
                        chosen = t
                        break
                if chosen is not None:
                    if id(chosen) not in seen:
                        seen.add(id(chosen))
                        enabled.append(chosen)
                    break
                s = up[parent[s]]
        if len(enabled) > 1:
            return self._remove_conflicts(enabled)
        return tuple(enabled)

    def _select_eventless(self) -> tuple[CompiledTransition, ...]:
        m = self.machine
        eventless = m.eventless
        parent = m.parent
        enabled: list[CompiledTransition] = []
        seen: set[int] = set()
        atomics = (self._leaf,) if not self._parallel_active else self._atomic_states()
        up = m.eventless_up
        for atomic in atomics:
            s = up[atomic]
            while s > 0:
                chosen = None
                for t in eventless.get(s, _NO_TRANSITIONS):
                    if t.guard is None or self._guard_passes(t):
                        chosen = t
                        break
                if chosen is not None:
                    if id(chosen) not in seen:
                        seen.add(id(chosen))
                        enabled.append(chosen)
                    break
                s = up[parent[s]]
        if len(enabled) > 1:
            return self._remove_conflicts(enabled)
        return tuple(enabled)

    def _atomic_states(self) -> list[int]:
        """Return the active atomic states in document order."""
        m = self.machine
        kind = m.kind
        children = m.children
        active_child = self._active_child
        result: list[int] = []
        stack = [active_child[0]] if 0 in active_child else []
        while stack:
            s = stack.pop()
            k = kind[s]
            if k == PARALLEL:
                stack.extend(reversed(children[s]))
            elif k == COMPOUND:
                c = active_child.get(s)
                if c is not None:
                    stack.append(c)
            else:
                result.append(s)
        return result

    def _domain(self, t: CompiledTransition) -> int | None:
        if t.domain != -1:
            return t.domain
        frozen = self._frozen_domains
        if frozen is not None and id(t) in frozen:
            return frozen[id(t)]
        targets = self._effective_targets(t)
        return self.machine.transition_domain(t.source, targets, t.internal)

    def _effective_targets(self, t: CompiledTransition) -> list[int]:
        m = self.machine
        result: list[int] = []
        pending = list(reversed(t.targets))
        while pending:
            s = pending.pop()
            if m.kind[s] == HISTORY:
                stored = self._history.get(s)
                if stored is not None:
                    result.extend(x for x in stored if x not in result)
                else:
                    pending.extend(reversed(m.history_default[s].targets))
            elif s not in result:
                result.append(s)
        return result

    def _remove_conflicts(
        self, enabled: list[CompiledTransition]
    ) -> tuple[CompiledTransition, ...]:
        """SCXML removeConflictingTransitions, with exit-set intersection
        decided from domains.

        Two exit sets intersect exactly when both transitions have targets
        and one domain is the other or contains it, because a domain always
        has an active descendant. That makes each test O(1); candidates are
        found through the domains already kept instead of a scan of them all.
        """
        m = self.machine
        end = m.end
        parent = m.parent
        kept: dict[int, CompiledTransition] = {}
        by_domain: dict[int, list[CompiledTransition]] = {}
        domains: list[int] = []
        domain_of: dict[int, int] = {}
        for t1 in enabled:
            d1 = self._domain(t1)
            if d1 is None:
                kept[id(t1)] = t1
                continue
            conflicting: list[CompiledTransition] = []
            a = d1
            while a >= 0:
                conflicting.extend(by_domain.get(a, ()))
                a = parent[a]
            if domains:
                lo = bisect_right(domains, d1)
                hi = bisect_left(domains, end[d1])
                for d in domains[lo:hi]:
                    conflicting.extend(by_domain.get(d, ()))
            preempted = False
            for t2 in conflicting:
                if not m.is_descendant_index(t1.source, t2.source):
                    preempted = True
                    break
            if preempted:
                continue
            for t2 in conflicting:
                del kept[id(t2)]
                d2 = domain_of.pop(id(t2))
                group = by_domain[d2]
                group.remove(t2)
                if not group:
                    del by_domain[d2]
                    domains.pop(bisect_left(domains, d2))
            kept[id(t1)] = t1
            domain_of[id(t1)] = d1
            if d1 not in by_domain:
                by_domain[d1] = []
                insort(domains, d1)
            by_domain[d1].append(t1)
        return tuple(kept.values())

    # ------------------------------------------------------------------
    # Microstep

    def _microstep(self, transitions: tuple[CompiledTransition, ...], event: Event | None) -> None:
        self._microsteps += 1
        self.microsteps_total += 1
        if self._microsteps > self.max_microsteps:
            self._raise_limit(transitions)
        m = self.machine
        listening = bool(self._listeners)

        # The domain of a transition to a history state depends on the
        # history values, which the exit below records anew. The
        # recommendation recomputes it for the entry set, which can then
        # skip a parallel ancestor that was just exited and leave an illegal
        # configuration; statechartx uses the domain computed before exit
        # for both halves of the microstep.
        frozen: dict[int, int | None] | None = None
        for t in transitions:
            if t.domain == -1:
                if frozen is None:
                    frozen = {}
                frozen[id(t)] = self._domain(t)
        self._frozen_domains = frozen

        # 1. Exit set, in reverse document order.
        if len(transitions) == 1:
            t = transitions[0]
            domain = self._domain(t)
            if domain is None:
                exits: list[int] = []
            elif not self._parallel_active:
                exits = []
                s = self._leaf
                while s != domain:
                    exits.append(s)
                    s = m.parent[s]
            else:
                exits = self._active_descendants(domain)
                exits.sort(reverse=True)
        else:
            exit_set: set[int] = set()
            for t in transitions:
                domain = self._domain(t)
                if domain is not None and domain not in exit_set:
                    exit_set.update(self._active_descendants(domain))
            exits = sorted(exit_set, reverse=True)

        deferring = self._executor is not None
        region_of = self._region_of

        # 2. Exit, recording history first.
        if exits:
            if deferring:
                self._deferred = []
            self._exit_states(exits)
            if deferring:
                self._flush_phase(event)
                self._config.difference_update(self._leaving)
                self._leaving.clear()

        # 3. Transition actions, in the order the transitions were selected.
        # With regions as actors, a transition runs in its source's region
        # when its domain lies inside that region too.
        if deferring:
            self._deferred = []
        for t in transitions:
            if t.actions:
                self.ctx.event = event
                if deferring:
                    group = region_of[t.source]
                    domain = self._domain(t)
                    if group and domain is not None and region_of[domain] != group:
                        group = 0
                    for action in t.actions:
                        self._deferred.append((group, action))  # type: ignore[union-attr]
                else:
                    for action in t.actions:
                        self._run(action)
        if deferring:
            self._flush_phase(event)

        # 4. Entry, in document order.
        if deferring:
            self._deferred = []
        entered = self._enter_states(transitions)
        self._frozen_domains = None
        if deferring:
            self._flush_phase(event)

        if listening:
            ids = m.ids
            self._notify(
                Microstep(
                    event,
                    tuple(t.spec for t in transitions),
                    tuple(ids[s] for s in exits),
                    tuple(ids[s] for s in entered),
                )
            )

    def _call(self, fn: Callable[[ActionContext], Any], state: int) -> None:
        """Run a callback of ``state`` now, or defer it to its region."""
        deferred = self._deferred
        if deferred is None:
            self._run(fn)
        else:
            deferred.append((self._region_of[state], fn))

    def _raise_platform(self, event: Event, state: int) -> None:
        deferred = self._deferred
        if deferred is None:
            self._internal.append(event)
        else:
            deferred.append((self._region_of[state], event))

    def _flush_phase(self, event: Event | None) -> None:
        """Run the deferred items of one phase in SCXML order.

        Items of the main group run here. A run of consecutive items that
        belong to regions becomes one block: each region's items go to one
        task, the executor runs the tasks (concurrently), and their raised
        events are appended in the order the regions appeared, which is the
        order sequential SCXML raises them in because each region's states
        are contiguous in document order.
        """
        items = self._deferred
        self._deferred = None
        if not items:
            return
        ctx = self.ctx
        ctx.event = event
        i = 0
        n = len(items)
        while i < n:
            group, payload = items[i]
            if group == 0:
                if payload.__class__ is Event:
                    self._internal.append(payload)
                elif payload.__class__ is _DoneItem:
                    data = None
                    if payload.donedata is not None:
                        data = self._evaluate(payload.donedata, payload.name)
                    self._internal.append(Event(payload.name, data, type="platform"))
                else:
                    self._run(payload)
                i += 1
                continue
            tasks: dict[int, RegionTask] = {}
            while i < n and items[i][0] != 0:
                group, payload = items[i]
                task = tasks.get(group)
                if task is None:
                    task = tasks[group] = RegionTask(self, group, event)
                task.items.append(payload)
                i += 1
            ordered = list(tasks.values())
            self._executor.run_tasks(ordered)  # type: ignore[union-attr]
            for task in ordered:
                self._internal.extend(task.events)
                for raised in task.events:
                    if raised.name == "error.execution":
                        self.errors_total += 1

    def _active_descendants(self, state: int) -> list[int]:
        """Return the active proper descendants of ``state`` (any order)."""
        m = self.machine
        kind = m.kind
        children = m.children
        active_child = self._active_child
        result: list[int] = []
        stack = [state]
        while stack:
            s = stack.pop()
            k = kind[s]
            if k == PARALLEL:
                result.extend(children[s])
                stack.extend(children[s])
            elif k == COMPOUND or k == ROOT:
                c = active_child.get(s)
                if c is not None:
                    result.append(c)
                    stack.append(c)
        return result

    def _exit_states(self, exits: list[int]) -> None:
        m = self.machine
        kind = m.kind
        parent = m.parent
        config = self._config
        active_child = self._active_child

        if self._to_invoke:
            self._to_invoke.difference_update(exits)

        # Record history for every exited state before any state is removed.
        if m.history:
            for s in exits:
                hs = m.history.get(s)
                if hs is None:
                    continue
                for h in hs:
                    if m.nodes[h].deep:
                        self._history[h] = tuple(
                            sorted(
                                x
                                for x in self._active_descendants(s)
                                if kind[x] == ATOMIC or kind[x] == FINAL
                            )
                        )
                    elif kind[s] == PARALLEL:
                        self._history[h] = m.children[s]
                    else:
                        child = active_child.get(s)
                        self._history[h] = (
                            (child,)
                            if child is not None
                            # Only an entry set computed after history
                            # changed its own domain can leave a compound
                            # state without a recorded child; read the
                            # configuration instead.
                            else tuple(c for c in m.children[s] if c in config)
                        )

        nodes = m.nodes
        executor = self._executor
        deferring = self._deferred is not None
        leaving = self._leaving
        for s in exits:
            node = nodes[s]
            if node.on_exit:
                for action in node.on_exit:
                    self._call(action, s)
            if self._invocations:
                self._cancel_invocations(s)
            if deferring:
                # Region exit actions run after this loop; until then the
                # state stays in the configuration, as it would sequentially.
                leaving.append(s)
            else:
                config.discard(s)
            p = parent[s]
            if active_child.get(p) == s:
                del active_child[p]
            if kind[s] == PARALLEL:
                self._parallel_active -= 1
                if executor is not None and self._region_of[m.children[s][0]] == m.children[s][0]:
                    executor.regions_exited(
                        m.ids[s], tuple(m.ids[c] for c in m.children[s])  # type: ignore[misc]
                    )
        self._version += 1

    def _entry_for(self, t: CompiledTransition) -> tuple[tuple[int, ...], frozenset[int], tuple[tuple[int, CompiledTransition], ...]]:
        cached = t.entry_cache
        if cached:
            return cached
        result, uses_history = self._compute_entry(t)
        if not uses_history:
            t.entry_cache = result
        return result

    def _compute_entry(
        self, t: CompiledTransition
    ) -> tuple[tuple[tuple[int, ...], frozenset[int], tuple[tuple[int, CompiledTransition], ...]], bool]:
        """SCXML computeEntrySet for one transition, without recursion.

        Returns ((states to enter in document order, states entered by
        default, history defaults to run keyed by parent), whether any
        history state was involved, which makes the result uncacheable).
        """
        m = self.machine
        kind = m.kind
        parent = m.parent
        children = m.children
        to_enter: set[int] = set()
        # States with a proper descendant in to_enter, for the parallel-region
        # test "no state to enter is a descendant of this child" in O(1).
        covered: set[int] = set()
        default_entry: set[int] = set()
        history_content: list[tuple[int, CompiledTransition]] = []
        uses_history = False

        def add(s: int) -> None:
            if s in to_enter:
                return
            to_enter.add(s)
            p = parent[s]
            while p >= 0 and p not in covered:
                covered.add(p)
                p = parent[p]

        domain = self._domain(t)
        # Tasks mirror the recursive calls of the recommendation:
        # ("d", s) addDescendantStatesToEnter, ("a", s, ancestor)
        # addAncestorStatesToEnter, ("r", child) a parallel child entered by
        # default unless one of its descendants is already being entered.
        tasks: list[tuple[Any, ...]] = []
        effective = self._effective_targets(t) if t.has_history_target else t.targets
        for s in reversed(effective):
            tasks.append(("a", s, domain))
        for s in reversed(t.targets):
            tasks.append(("d", s))
        while tasks:
            task = tasks.pop()
            op = task[0]
            if op == "d":
                s = task[1]
                k = kind[s]
                if k == HISTORY:
                    uses_history = True
                    p = parent[s]
                    stored = self._history.get(s)
                    if stored is not None:
                        targets: tuple[int, ...] = stored
                    else:
                        default = m.history_default[s]
                        if default.actions:
                            history_content.append((p, default))
                        targets = default.targets
                    for x in reversed(targets):
                        tasks.append(("a", x, p))
                    for x in reversed(targets):
                        tasks.append(("d", x))
                    continue
                add(s)
                if k == COMPOUND:
                    default_entry.add(s)
                    init = m.initial[s]
                    for x in reversed(init.targets):
                        tasks.append(("a", x, s))
                    for x in reversed(init.targets):
                        tasks.append(("d", x))
                elif k == PARALLEL:
                    for child in reversed(children[s]):
                        tasks.append(("r", child))
            elif op == "a":
                s, ancestor = task[1], task[2]
                chain: list[tuple[Any, ...]] = []
                a = parent[s]
                while a != ancestor and a > 0:
                    chain.append(("add", a))
                    if kind[a] == PARALLEL:
                        for child in children[a]:
                            chain.append(("r", child))
                    a = parent[a]
                tasks.extend(reversed(chain))
            elif op == "add":
                add(task[1])
            else:
                child = task[1]
                if child not in covered and child not in to_enter:
                    tasks.append(("d", child))
        entry = (
            tuple(sorted(to_enter)),
            frozenset(default_entry),
            tuple(history_content),
        )
        return entry, uses_history

    def _enter_states(self, transitions: tuple[CompiledTransition, ...]) -> tuple[int, ...]:
        m = self.machine
        if len(transitions) == 1:
            t = transitions[0]
            if not t.targets:
                return ()
            to_enter, default_entry, history_content = self._entry_for(t)
        else:
            merged: set[int] = set()
            defaults: set[int] = set()
            contents: list[tuple[int, CompiledTransition]] = []
            for t in transitions:
                if t.targets:
                    e, d, h = self._entry_for(t)
                    merged.update(e)
                    defaults.update(d)
                    contents.extend(h)
            if not merged:
                return ()
            to_enter = tuple(sorted(merged))
            default_entry = frozenset(defaults)
            history_content = tuple(contents)

        kind = m.kind
        parent = m.parent
        nodes = m.nodes
        config = self._config
        active_child = self._active_child
        late = m.binding == "late"
        track_invoke = m.has_invoke
        entered: list[int] = []
        for s in to_enter:
            if s in config:
                # The recommendation would enter an active state again when a
                # history state's parent lies above the transition domain;
                # statechartx leaves it active and runs no entry actions.
                continue
            entered.append(s)
            config.add(s)
            p = parent[s]
            k = kind[s]
            if kind[p] != PARALLEL:
                active_child[p] = s
            if k == PARALLEL:
                self._parallel_active += 1
                executor = self._executor
                if executor is not None and self._region_of[m.children[s][0]] == m.children[s][0]:
                    executor.regions_entered(
                        m.ids[s], tuple(m.ids[c] for c in m.children[s])  # type: ignore[misc]
                    )
            if track_invoke:
                self._to_invoke.add(s)
            node = nodes[s]
            if late and s in m.datamodel_set and s not in self._initialized:
                self._initialized.add(s)
                self._call(node.datamodel, s)
            if node.on_entry:
                for action in node.on_entry:
                    self._call(action, s)
            if default_entry and s in default_entry:
                init = m.initial[s]
                for action in init.actions:
                    self._call(action, s)
            if history_content:
                for owner, default in history_content:
                    if owner == s:
                        for action in default.actions:
                            self._call(action, s)
            if k == FINAL:
                self._enter_final(s)
                if not self._running:
                    break
        self._version += 1
        if not self._parallel_active and entered:
            leaf = entered[-1]
            if kind[leaf] == ATOMIC or kind[leaf] == FINAL:
                self._leaf = leaf
                self._here = m._leaf_plans.get(leaf)
        return tuple(entered)

    def _enter_final(self, s: int) -> None:
        m = self.machine
        p = m.parent[s]
        if p == 0:
            # Set before the exit actions run, so that a host that sees an
            # event they send also sees that the machine is finishing.
            self.final_reached = True
            if self._deferred is not None:
                # Callbacks queued so far run before the exit actions of
                # the whole configuration, as they would sequentially.
                self._flush_phase(self.ctx.event)
            donedata = m.nodes[s].donedata
            if donedata is not None:
                self.done_data = self._evaluate(donedata, f"donedata of {m.ids[s]!r}")
            self._exit_interpreter()
            return
        donedata = m.nodes[s].donedata
        name = f"done.state.{m.ids[p]}"
        if self._deferred is not None:
            # donedata is user code: it runs with the region's callbacks.
            self._deferred.append((self._region_of[s], _DoneItem(name, donedata)))
        else:
            data = None
            if donedata is not None:
                data = self._evaluate(donedata, f"donedata of {m.ids[s]!r}")
            self._internal.append(Event(name, data, type="platform"))
        grandparent = m.parent[p]
        if m.kind[grandparent] == PARALLEL and all(
            self._in_final_state(c) for c in m.children[grandparent]
        ):
            self._raise_platform(
                Event(f"done.state.{m.ids[grandparent]}", None, type="platform"), s
            )

    def _in_final_state(self, state: int) -> bool:
        """SCXML isInFinalState, iterative over nested parallel states."""
        m = self.machine
        kind = m.kind
        stack = [state]
        while stack:
            s = stack.pop()
            k = kind[s]
            if k == COMPOUND:
                c = self._active_child.get(s)
                if c is None or kind[c] != FINAL:
                    return False
            elif k == PARALLEL:
                stack.extend(m.children[s])
            else:
                return False
        return True

    def _exit_interpreter(self) -> None:
        """Exit every active state in reverse document order and stop."""
        m = self.machine
        final_config = set(self._config)
        for s in sorted(self._config, reverse=True):
            for action in m.nodes[s].on_exit:
                self._run(action)
            if self._invocations:
                self._cancel_invocations(s)
        self._running = False
        if any(m.parent[s] == 0 and m.kind[s] == FINAL for s in final_config):
            self._finished = True
        self._internal.clear()
        self._to_invoke.clear()
        self._timers.clear()
        self._version += 1

    # ------------------------------------------------------------------
    # Invocations

    def _start_invocations(self) -> None:
        m = self.machine
        pending = sorted(self._to_invoke)
        self._to_invoke.clear()
        for s in pending:
            for position, inv in enumerate(m.nodes[s].invoke):
                try:
                    handle = inv.start(self.ctx)
                except Exception as exc:  # noqa: BLE001 - user code
                    self._queue_error(exc, f"invoke in {m.ids[s]!r}")
                    continue
                if handle is not None:
                    self._invocations[(s, position)] = handle

    def _cancel_invocations(self, state: int) -> None:
        for position in range(len(self.machine.nodes[state].invoke)):
            handle = self._invocations.pop((state, position), None)
            cancel = getattr(handle, "cancel", None)
            if cancel is not None:
                try:
                    cancel()
                except Exception as exc:  # noqa: BLE001 - user code
                    self._queue_error(exc, f"cancel of invoke in {self.machine.ids[state]!r}")

    # ------------------------------------------------------------------
    # Running user code

    def _run(self, fn: Callable[..., Any], *extra: Any) -> None:
        try:
            fn(self.ctx, *extra)
        except Exception as exc:  # noqa: BLE001 - user code; SCXML says error.execution
            self._queue_error(exc, getattr(fn, "__qualname__", repr(fn)))

    def _evaluate(self, fn: Callable[[ActionContext], Any], what: str) -> Any:
        try:
            return fn(self.ctx)
        except Exception as exc:  # noqa: BLE001 - user code
            self._queue_error(exc, what)
            return None

    def _queue_error(self, exc: Exception, where: str) -> None:
        self.errors_total += 1
        count = self.errors_total
        # The 1st, 2nd, 4th, 8th... error of an interpreter is logged at
        # WARNING, so a failing callback is visible without one line per
        # event; every error is logged at DEBUG.
        level = logging.WARNING if count & (count - 1) == 0 else logging.DEBUG
        logger.log(
            level,
            "error.execution in %s of %s (%d so far): %r",
            where,
            self.session_id,
            count,
            exc,
        )
        self._internal.append(Event("error.execution", exc, type="platform"))

    def _notify(self, record: Microstep) -> None:
        for listener in list(self._listeners):
            try:
                listener(record)
            except Exception:  # noqa: BLE001 - a listener must not stop the machine
                logger.exception(
                    "listener %r of interpreter %s raised; it is detached",
                    listener,
                    self.session_id,
                )
                self._listeners.remove(listener)

    def _raise_limit(self, transitions: tuple[CompiledTransition, ...]) -> None:
        m = self.machine
        states: list[str] = []
        for t in transitions:
            for s in (t.source, *t.targets):
                state_id = m.ids[s]
                if state_id is not None and state_id not in states:
                    states.append(state_id)
        for s in sorted(self._config):
            state_id = m.ids[s]
            if state_id not in states:
                states.append(state_id)
        self._internal.clear()
        self._microsteps = 0
        raise MacrostepLimitError(
            f"macrostep of interpreter {self.session_id!r} exceeded "
            f"{self.max_microsteps} microsteps: an eventless transition or a "
            f"raised event keeps firing among states {states}; add a guard "
            "that becomes false, or raise max_microsteps if the work is real",
            tuple(states),
        )

    def _raise_not_running(self, event: Any) -> None:
        name = event.name if isinstance(event, Event) else event
        raise InterpreterNotRunning(
            f"cannot send {name!r}: interpreter {self.session_id!r} is "
            f"{self._status()}"
        )

    def _status(self) -> str:
        if not self._started:
            return "not started; call start() first"
        if self._finished:
            return "finished (a top-level final state was entered)"
        return "stopped"


class _LocalHost:
    """The synchronous interpreter's own delivery: external queue plus a
    virtual clock for delayed events."""

    __slots__ = ()

    def send_event(
        self, interpreter: Interpreter, event: Event, delay: float, target: str | None
    ) -> None:
        if target == "#_internal":
            if delay > 0:
                raise ValueError(
                    f"event {event.name!r}: a delay ({delay} s) cannot apply to "
                    "target '#_internal', whose events are processed in this "
                    "macrostep; send it without target to delay it"
                )
            interpreter._internal.append(event._replace(type="internal"))
            return
        if target is not None:
            raise ValueError(
                f"target {target!r} cannot be reached by a synchronous "
                "Interpreter; host the machine in a Runtime to send to other "
                "sessions"
            )
        if delay > 0:
            interpreter._timer_seq += 1
            heapq.heappush(
                interpreter._timers,
                (interpreter._clock + delay, interpreter._timer_seq, event),
            )
        else:
            interpreter._external.append(event)

    def cancel_event(self, interpreter: Interpreter, sendid: str) -> bool:
        timers = interpreter._timers
        kept = [entry for entry in timers if entry[2].sendid != sendid]
        if len(kept) == len(timers):
            return False
        heapq.heapify(kept)
        interpreter._timers = kept
        return True


def _region_table(machine: Machine, all_concurrent: bool) -> Any:
    """Return, per state, the outermost concurrent region containing it (0
    for none); a region is a child of a parallel state marked concurrent, or
    of any parallel state when ``all_concurrent``."""
    from array import array

    parent = machine.parent
    kind = machine.kind
    nodes = machine.nodes
    table = array("i", bytes(4 * len(parent)))
    for i in range(1, len(parent)):
        p = parent[i]
        inherited = table[p]
        if inherited:
            table[i] = inherited
        elif kind[p] == PARALLEL and (all_concurrent or nodes[p].concurrent):
            table[i] = i
    return table
