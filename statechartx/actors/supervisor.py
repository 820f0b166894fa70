"""Supervisor: spawns actors, stops them last-started-first, owns their failures.

A crash (an exception escaping an actor's ``receive`` or ``on_start``) is
handled on the crashed actor's thread by the strategy given at ``spawn``:

- ``"restart"``: the actor calls ``on_restart`` and goes on with the same
  mailbox. If it already restarted ``max_restarts`` times within the last
  ``window`` seconds, the crash escalates instead.
- ``"stop"``: the actor ends FAILED; the supervisor logs it and goes on.
- ``"escalate"``: the actor ends FAILED and the supervisor fails. A child
  supervisor passes the failure to its parent, which applies the strategy
  it gave that child ("stop" or "escalate"). A top supervisor records an
  ``EscalatedFailure``, logs it, requests every child to stop, and raises it
  when its ``with`` block ends.

Failure handling never blocks: it only requests stops. Waiting for actors is
left to ``stop``, which runs on the caller's thread.
"""

from __future__ import annotations

import enum
import gc
import logging
import threading
import weakref
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic
from types import TracebackType
from typing import Final, Literal, TypeVar

from ..errors import EscalatedFailure, LeakError, ShutdownTimeout
from . import hooks
from .actor import DEFAULT_STOP_TIMEOUT, Actor, describe_stuck
from .dispatch import Dispatcher, PoolDispatcher, ThreadDispatcher
from .mailbox import Mailbox, MailboxStats
from .timers import TimerService

__all__ = ["Strategy", "Supervisor", "SupervisorState"]

logger = logging.getLogger(__name__)

Strategy = Literal["restart", "stop", "escalate"]
_ACTOR_STRATEGIES: Final = ("restart", "stop", "escalate")
_SUPERVISOR_STRATEGIES: Final = ("stop", "escalate")

_ActorT = TypeVar("_ActorT", bound=Actor)

# Containers that the object leak check follows from kernel objects.
_CONTAINERS: Final = (dict, list, tuple, set, frozenset, deque)


class SupervisorState(enum.Enum):
    """Lifecycle state of a supervisor."""

    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(slots=True)
class _ChildSpec:
    strategy: Strategy
    max_restarts: int = 0
    window: float = 0.0
    restart_times: deque[float] = field(default_factory=deque)


class Supervisor:
    """Spawn actors and child supervisors; stop them in reverse start order.

    Use it as a context manager: leaving the block stops every child (with
    ``stop_timeout``), runs ``check_leaks`` and raises the recorded
    ``EscalatedFailure`` if a crash escalated to this supervisor. An
    exception already leaving the block is never masked.

    ``dispatcher`` is where ``spawn`` runs actors by default; without one the
    supervisor creates and owns a ``ThreadDispatcher``. ``timers`` is the
    supervisor's single timer thread. With ``check_objects`` the supervisor
    records the statechartx objects alive at its start (it needs objgraph)
    and ``check_leaks`` reports their growth.
    """

    def __init__(
        self,
        name: str = "supervisor",
        *,
        dispatcher: Dispatcher | None = None,
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
        check_objects: bool = False,
        on_failure: Callable[[EscalatedFailure], object] | None = None,
    ) -> None:
        self.name = name
        self._lock = threading.Lock()
        # Live children in start order: actors and child supervisors.
        self._children: dict[Actor | Supervisor, _ChildSpec] = {}
        self._spawned: weakref.WeakSet[Actor] = weakref.WeakSet()
        self._child_supervisors: weakref.WeakSet[Supervisor] = weakref.WeakSet()
        self._owned: list[Dispatcher] = []
        if dispatcher is None:
            dispatcher = ThreadDispatcher(f"{name}.threads")
            self._owned.append(dispatcher)
        self._dispatcher = dispatcher
        self.timers = TimerService(name)
        self._stop_timeout = stop_timeout
        self._on_failure = on_failure
        self._parent: Supervisor | None = None
        self._state = SupervisorState.RUNNING
        self._failure: EscalatedFailure | None = None
        self._failed = threading.Event()
        self._restarts = 0
        self._check_objects = check_objects
        self._baseline: Counter[str] | None = None
        if check_objects:
            self._baseline = self._count_unexplained_objects()
        logger.info("supervisor %r started", name)

    def __repr__(self) -> str:
        return (
            f"<Supervisor {self.name!r} {self._state.value} "
            f"children={len(self._children)}>"
        )

    # -- observation -----------------------------------------------------------

    @property
    def state(self) -> SupervisorState:
        """The current lifecycle state."""
        return self._state

    @property
    def failure(self) -> EscalatedFailure | None:
        """The failure that escalated to this supervisor, if any."""
        return self._failure

    @property
    def restarts(self) -> int:
        """How many restarts this supervisor granted to its actors."""
        return self._restarts

    @property
    def children(self) -> list[Actor | Supervisor]:
        """Live children in start order (ended actors are forgotten)."""
        with self._lock:
            return list(self._children)

    def wait_failed(self, timeout: float) -> EscalatedFailure | None:
        """Wait up to ``timeout`` seconds for a failure; return it, or None."""
        self._failed.wait(timeout)
        return self._failure

    # -- spawning --------------------------------------------------------------

    def spawn(
        self,
        actor: _ActorT,
        *,
        dispatcher: Dispatcher | None = None,
        strategy: Strategy = "restart",
        max_restarts: int = 3,
        window: float = 60.0,
        thread_name: str | None = None,
    ) -> _ActorT:
        """Start ``actor`` under this supervisor and return it.

        ``strategy`` decides what a crash does (see the module docstring);
        ``max_restarts`` crashes within ``window`` seconds are restarted and
        the next one escalates. ``dispatcher`` overrides the supervisor's;
        ``thread_name`` names a dedicated thread.
        """
        if strategy not in _ACTOR_STRATEGIES:
            raise ValueError(
                f"supervisor {self.name!r}: strategy for actor {actor.name!r} must "
                f"be one of {', '.join(_ACTOR_STRATEGIES)}, got {strategy!r}"
            )
        if not isinstance(max_restarts, int) or max_restarts < 0:
            raise ValueError(
                f"supervisor {self.name!r}: max_restarts must be an int >= 0, "
                f"got {max_restarts!r}"
            )
        if not window > 0:
            raise ValueError(
                f"supervisor {self.name!r}: window must be > 0 seconds, got {window!r}"
            )
        if actor._failure_handler is not None:
            raise RuntimeError(f"actor {actor.name!r} is already supervised")
        spec = _ChildSpec(strategy, max_restarts, float(window))
        with self._lock:
            self._require_running(f"spawn actor {actor.name!r}")
            self._children[actor] = spec
            self._spawned.add(actor)
        actor._failure_handler = self._child_crashed
        try:
            actor.start(dispatcher or self._dispatcher, thread_name=thread_name)
        except BaseException:
            actor._failure_handler = None
            with self._lock:
                self._children.pop(actor, None)
            raise
        actor.add_done_callback(self._child_ended)
        return actor

    def spawn_supervisor(
        self,
        name: str,
        *,
        strategy: Literal["stop", "escalate"] = "escalate",
        dispatcher: Dispatcher | None = None,
        stop_timeout: float | None = None,
    ) -> Supervisor:
        """Create a child supervisor; a failure in it is handled by ``strategy``.

        "stop" stops the child supervisor's actors and this supervisor goes
        on; "escalate" fails this supervisor too. The child runs its actors on
        this supervisor's dispatcher unless given one, and has its own timers.
        """
        if strategy not in _SUPERVISOR_STRATEGIES:
            raise ValueError(
                f"supervisor {self.name!r}: strategy for child supervisor {name!r} "
                f"must be 'stop' or 'escalate' (a supervisor is not restarted), "
                f"got {strategy!r}"
            )
        with self._lock:
            self._require_running(f"spawn supervisor {name!r}")
        child = Supervisor(
            name,
            dispatcher=dispatcher or self._dispatcher,
            stop_timeout=self._stop_timeout if stop_timeout is None else stop_timeout,
        )
        child._parent = self
        with self._lock:
            # The child has started no thread yet, so dropping it needs no stop.
            self._require_running(f"spawn supervisor {name!r}")
            self._children[child] = _ChildSpec(strategy)
            self._child_supervisors.add(child)
        return child

    def pool(self, workers: int, *, name: str = "pool") -> PoolDispatcher:
        """Create a ``PoolDispatcher`` that this supervisor shuts down on stop."""
        dispatcher = PoolDispatcher(workers, name=name)
        with self._lock:
            self._require_running(f"create pool {name!r}")
            self._owned.append(dispatcher)
        return dispatcher

    def _require_running(self, action: str) -> None:
        if self._state is not SupervisorState.RUNNING:
            raise RuntimeError(
                f"supervisor {self.name!r} is {self._state.value}; cannot {action}"
            )

    def _child_ended(self, actor: Actor) -> None:
        # Runs on the actor's thread as it ends: forget it, so that a
        # long-lived supervisor does not accumulate ended actors.
        with self._lock:
            self._children.pop(actor, None)

    # -- failures --------------------------------------------------------------

    def _child_crashed(self, actor: Actor, error: BaseException) -> bool:
        """Apply the child's strategy to a crash; True restarts it (actor thread)."""
        restart = False
        escalate = False
        reason = "crashed"
        count = 0
        with self._lock:
            spec = self._children.get(actor)
            running = self._state is SupervisorState.RUNNING
            if spec is not None and running:
                if spec.strategy == "restart":
                    now = monotonic()
                    times = spec.restart_times
                    while times and now - times[0] > spec.window:
                        times.popleft()
                    if len(times) < spec.max_restarts:
                        times.append(now)
                        self._restarts += 1
                        restart = True
                        count = len(times)
                    else:
                        escalate = True
                        reason = (
                            f"crashed after {spec.max_restarts} restart(s) within "
                            f"{spec.window} s"
                        )
                elif spec.strategy == "escalate":
                    escalate = True
        if restart:
            logger.warning(
                "supervisor %r restarts actor %r after %r (restart %d of at most %d "
                "within %s s)",
                self.name,
                actor.name,
                error,
                count,
                spec.max_restarts if spec else 0,
                spec.window if spec else 0,
            )
        elif escalate:
            logger.error(
                "supervisor %r escalates: actor %r %s: %r",
                self.name,
                actor.name,
                reason,
                error,
            )
            self._escalate(f"actor {actor.name!r} {reason}", error)
        elif running:
            logger.error(
                "supervisor %r stops actor %r after its crash: %r",
                self.name,
                actor.name,
                error,
            )
        return restart

    def _escalate(self, what: str, error: BaseException) -> None:
        parent = self._parent
        failure = EscalatedFailure(
            f"supervisor {self.name!r} failed: {what}: {error!r}"
        )
        failure.__cause__ = error
        self._mark_failed(failure)
        if parent is not None:
            parent._child_supervisor_failed(self, what, error)
            return
        callback = self._on_failure
        if callback is not None:
            try:
                callback(failure)
            except Exception:
                logger.exception(
                    "on_failure callback of supervisor %r raised", self.name
                )

    def _child_supervisor_failed(
        self, child: Supervisor, what: str, error: BaseException
    ) -> None:
        with self._lock:
            spec = self._children.get(child)
        if spec is not None and spec.strategy == "escalate":
            self._escalate(f"child supervisor {child.name!r} failed ({what})", error)
        else:
            logger.error(
                "supervisor %r stopped child supervisor %r, which failed: %s: %r",
                self.name,
                child.name,
                what,
                error,
            )

    def _mark_failed(self, failure: EscalatedFailure) -> None:
        """Record ``failure`` and request every child to stop, without waiting."""
        with self._lock:
            if self._failure is not None:
                return
            self._failure = failure
            if self._state is not SupervisorState.STOPPED:
                self._state = SupervisorState.FAILED
            children = list(self._children)
        logger.error("%s", failure)
        for child in reversed(children):
            if isinstance(child, Supervisor):
                child._mark_failed(failure)
            else:
                child.request_stop(drain=False)
        self._failed.set()

    # -- stopping --------------------------------------------------------------

    def stop(self, timeout: float | None = None, *, drain: bool = True) -> None:
        """Stop every child, last started first, then the timers and owned pools.

        Each child is waited for before the previous one is asked to stop, with
        a share of ``timeout`` (default ``stop_timeout``) so that one stuck
        child does not eat the time of the others. Raises ``ShutdownTimeout``
        naming every child still running, with its stack. Safe to call again.
        """
        limit = self._stop_timeout if timeout is None else timeout
        token = None
        if hooks.listener is not None:
            token = hooks.wait_started(hooks.WAIT_STOP, f"supervisor:{self.name}")
        try:
            self._stop(limit, drain)
        finally:
            hooks.wait_ended(token)

    def _stop(self, limit: float, drain: bool) -> None:
        deadline = monotonic() + limit
        with self._lock:
            if self._state is SupervisorState.RUNNING:
                self._state = SupervisorState.STOPPING
            children = list(self._children)
        logger.info("supervisor %r stopping %d children", self.name, len(children))

        reports: list[str] = []
        late: list[Actor] = []
        remaining_children = len(children)
        for child in reversed(children):
            share = max(deadline - monotonic(), 0.0) / remaining_children
            remaining_children -= 1
            if isinstance(child, Supervisor):
                try:
                    child.stop(share, drain=drain)
                except ShutdownTimeout as error:
                    reports.append(str(error))
                continue
            child.request_stop(drain)
            if child.runs_on_current_thread():
                continue
            if not child.join(share):
                late.append(child)
        stuck = [
            actor for actor in late if not actor.join(max(deadline - monotonic(), 0.0))
        ]
        if stuck:
            reports.insert(0, describe_stuck(stuck, limit))

        for owned in self._owned_and_timers():
            try:
                owned.shutdown(max(deadline - monotonic(), 0.0))
            except ShutdownTimeout as error:
                reports.append(str(error))

        with self._lock:
            for child in children:
                if isinstance(child, Supervisor):
                    self._children.pop(child, None)
            if self._state is SupervisorState.STOPPING:
                self._state = SupervisorState.STOPPED
        if reports:
            message = f"supervisor {self.name!r} did not stop within {limit} s:\n"
            logger.error("%s", message + "\n".join(reports))
            raise ShutdownTimeout(message + "\n".join(reports))
        logger.info("supervisor %r stopped", self.name)

    def _owned_and_timers(self) -> list[Dispatcher | TimerService]:
        return [self.timers, *self._owned]

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        except ShutdownTimeout:
            if exc is None:
                raise
            logger.exception(
                "supervisor %r: stop failed while an exception was propagating",
                self.name,
            )
            return
        if exc is not None:
            return
        self.check_leaks()
        if self._failure is not None:
            raise self._failure

    # -- leak check ------------------------------------------------------------

    def check_leaks(self, *, objects: bool | None = None) -> None:
        """Raise ``LeakError`` if this supervisor left anything behind.

        Checks threads it started that are still alive, actors it spawned that
        have not ended, mailboxes that still hold messages, the same for child
        supervisors, and, with ``objects`` (default: ``check_objects``), growth
        of statechartx objects since the start after ``gc.collect()``. The
        object check does not count objects reachable from the supervisor or
        from actors that ended, exceptions, or ``MailboxStats``, so a caller
        may keep references to those.
        """
        problems = self._leak_problems()
        if objects is None:
            objects = self._check_objects
        if objects:
            problems.extend(self._object_growth())
        if problems:
            raise LeakError(
                f"supervisor {self.name!r} left {len(problems)} leak(s) behind:\n- "
                + "\n- ".join(problems)
            )

    def _leak_problems(self) -> list[str]:
        problems: list[str] = []
        threads: set[threading.Thread] = set()
        for dispatcher in self._owned:
            threads.update(dispatcher.threads())
        if self.timers.thread is not None:
            threads.add(self.timers.thread)
        actors = list(self._spawned)
        for actor in actors:
            if actor.thread is not None:
                threads.add(actor.thread)
        for thread in threading.enumerate():
            if thread in threads:
                problems.append(f"thread {thread.name!r} is still alive")
        for actor in actors:
            if not actor.state.terminal:
                problems.append(
                    f"actor {actor.name!r} is {actor.state.value}, not stopped"
                )
            pending = actor.mailbox.pending
            if pending:
                problems.append(
                    f"mailbox of actor {actor.name!r} still holds {pending} message(s)"
                )
        for child in list(self._child_supervisors):
            problems.extend(
                f"in child supervisor {child.name!r}: {problem}"
                for problem in child._leak_problems()
            )
        return problems

    def _object_growth(self) -> list[str]:
        if self._baseline is None:
            raise RuntimeError(
                f"supervisor {self.name!r} has no object baseline: create it with "
                "check_objects=True to check object growth"
            )
        now = self._count_unexplained_objects()
        growth = sorted(
            (name, count - self._baseline.get(name, 0))
            for name, count in now.items()
            if count > self._baseline.get(name, 0)
        )
        if not growth:
            return []
        listed = ", ".join(f"{name} +{count}" for name, count in growth)
        return [f"statechartx objects grew since the supervisor started: {listed}"]

    def _count_unexplained_objects(self) -> Counter[str]:
        """Count live statechartx objects by type, minus those this supervisor explains.

        Objects reachable from the supervisor or from an ended actor it
        spawned are explained: a caller may hold them. objgraph walks the heap.
        NOTE: an explained object that already existed at the baseline lowers
        its type's count, which can hide one new object of the same type.
        """
        try:
            import objgraph  # type: ignore[import-untyped]
        except ImportError as error:
            raise RuntimeError(
                "the object leak check needs objgraph; install it with "
                "'pip install objgraph' or pass objects=False"
            ) from error
        gc.collect()
        explained = self._explained_object_ids()

        def unexplained(obj: object) -> bool:
            # Exceptions and statistics snapshots are values a caller may keep.
            return (
                _is_kernel_object(obj)
                and not isinstance(obj, (BaseException, MailboxStats))
                and id(obj) not in explained
            )

        counts = objgraph.typestats(shortnames=False, filter=unexplained)
        return Counter(counts)

    def _explained_object_ids(self) -> set[int]:
        roots: list[object] = [self]
        roots.extend(actor for actor in self._spawned if actor.state.terminal)
        seen: set[int] = set()
        stack = roots
        while stack:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            for referent in gc.get_referents(obj):
                if type(referent) in _CONTAINERS or _is_kernel_object(referent):
                    stack.append(referent)
        return seen


def _is_kernel_object(obj: object) -> bool:
    module = type(obj).__module__
    return (
        module == "statechartx"
        or module.startswith("statechartx.")
        or isinstance(obj, (Actor, Mailbox))
    )
