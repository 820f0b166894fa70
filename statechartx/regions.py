"""Region actors: the regions of a concurrent parallel state on their own actors.

``RegionActors`` is the region executor a ``Runtime`` gives its interpreter
when some parallel state is concurrent. The interpreter selects transitions
and does all bookkeeping on the runtime's thread exactly as in sequential
mode; for each phase of a microstep (exits, transition actions, entries) it
hands every region that has callbacks a ``RegionTask``. ``run_tasks`` posts
each task to its region's actor and waits until all have run, which is the
barrier between phases; the interpreter then merges the events the regions
raised in sequential SCXML order.

The wait is a countdown rather than ``threading.Barrier`` because region
actors may share a few pool workers: a barrier that every region thread must
reach would deadlock once regions outnumber workers.

Region actors are created when their parallel state is first entered and
kept until the runtime stops (``keep=True``), because re-entering a parallel
state then costs no thread start; with ``keep=False`` they stop when the
state is exited.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from . import tracing
from .actors import Actor, ThreadDispatcher
from .errors import ActorCrashed, ShutdownTimeout, StatechartxError

if TYPE_CHECKING:
    from .interpreter import RegionTask
    from .runtime import Runtime

__all__ = ["RegionActors", "in_region_of"]

logger = logging.getLogger("statechartx.regions")

_local = threading.local()

# How often the runtime's thread, waiting for region tasks, checks that the
# region actors involved are still alive; a dead one raises ActorCrashed
# instead of leaving the runtime waiting forever.
_LIVENESS_INTERVAL = 1.0


def in_region_of(runtime: Runtime) -> bool:
    """Return whether the calling thread is running a region task of ``runtime``."""
    return getattr(_local, "runtime", None) is runtime


class _Countdown:
    """Counts finished tasks of one phase; the last one wakes the waiter.

    ``failure`` records an exception that escaped a task (a crash of its
    region actor), which the waiter raises as ``ActorCrashed``.
    """

    __slots__ = ("remaining", "lock", "done", "failure")

    def __init__(self, count: int) -> None:
        self.remaining = count
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.failure: tuple[str, BaseException] | None = None

    def finish_one(self) -> None:
        with self.lock:
            self.remaining -= 1
            last = self.remaining == 0
        if last:
            self.done.set()


class RegionActors:
    """A region executor that runs region tasks on one actor per region."""

    def __init__(self, runtime: Runtime, *, keep: bool = True) -> None:
        self.runtime = runtime
        self.keep = keep
        # Region actors must not share the runtime's pool: the runtime's turn
        # holds a worker while it waits for their tasks, so with few workers
        # they would never run. Without a region dispatcher they get threads.
        self._dispatcher = runtime._region_dispatcher
        self._own_dispatcher: ThreadDispatcher | None = None
        if self._dispatcher is None:
            self._own_dispatcher = ThreadDispatcher(f"{runtime.name}.regions")
            self._dispatcher = self._own_dispatcher
        self._actors: dict[str, Actor] = {}
        self._stopping: list[Actor] = []
        self._closed = False

    # -- RegionExecutor protocol ------------------------------------------

    def regions_entered(self, parallel: str, regions: tuple[str, ...]) -> None:
        """Start an actor for every region that has none."""
        for region in regions:
            if region not in self._actors:
                self._actors[region] = self._spawn(region)

    def regions_exited(self, parallel: str, regions: tuple[str, ...]) -> None:
        """Stop the regions' actors unless they are kept for the runtime's life."""
        if self.keep:
            return
        # Forget actors stopped on earlier exits once they have ended, so
        # that entering and leaving the state keeps no growing list.
        self._stopping = [a for a in self._stopping if not a.state.terminal]
        for region in regions:
            actor = self._actors.pop(region, None)
            if actor is not None:
                actor.request_stop()
                self._stopping.append(actor)

    def run_tasks(self, tasks: list[RegionTask]) -> None:
        """Post each task to its region's actor and wait until all have run."""
        countdown = _Countdown(len(tasks))
        runtime = self.runtime
        involved: list[Actor] = []
        for task in tasks:
            actor = self._actors.get(task.region)
            if actor is None:
                # Entered before this executor existed (a restart) or a region
                # of a nested parallel state: start its actor now.
                actor = self._actors[task.region] = self._spawn(task.region)
            involved.append(actor)
            try:
                actor.send((task, countdown, runtime))
            except StatechartxError as exc:
                raise ActorCrashed(
                    f"region actor {actor.name!r} of runtime {runtime.name!r} "
                    f"no longer takes tasks ({actor.state.value})"
                ) from exc
        tracer = tracing.active_tracer()
        start = tracer.getts() if tracer is not None else 0.0
        while not countdown.done.wait(_LIVENESS_INTERVAL):
            for actor in involved:
                if actor.state.terminal:
                    raise ActorCrashed(
                        f"region actor {actor.name!r} of runtime "
                        f"{runtime.name!r} ended ({actor.state.value}) with a "
                        f"task pending: {actor.failure!r}"
                    )
        if tracer is not None:
            tracing.span(tracer, "wait:barrier", start, {"regions": len(tasks)})
        if countdown.failure is not None:
            region, error = countdown.failure
            self._actors.pop(region, None)
            raise ActorCrashed(
                f"region actor for {region!r} of runtime {runtime.name!r} "
                f"crashed running its task: {error!r}"
            ) from error

    # -- lifecycle ----------------------------------------------------------

    def _spawn(self, region: str) -> Actor:
        runtime = self.runtime
        name = f"region:{runtime.name}/{region}"
        actor = Actor(name, handler=_run_region_task)
        runtime.supervisor.spawn(
            actor,
            dispatcher=self._dispatcher,
            strategy="stop",
            thread_name=name,
        )
        return actor

    @property
    def actors(self) -> dict[str, Actor]:
        """The live region actors by region id."""
        return dict(self._actors)

    def close(self, timeout: float = 10.0) -> None:
        """Stop every region actor; raise ShutdownTimeout naming stuck ones."""
        if self._closed:
            return
        self._closed = True
        actors = list(self._actors.values()) + self._stopping
        self._actors.clear()
        self._stopping.clear()
        for actor in actors:
            actor.request_stop()
        stuck = [actor for actor in actors if not actor.join(timeout)]
        if self._own_dispatcher is not None:
            self._own_dispatcher.shutdown(timeout)
        if stuck:
            names = ", ".join(repr(a.name) for a in stuck)
            raise ShutdownTimeout(
                f"region actors of runtime {self.runtime.name!r} did not stop "
                f"within {timeout} s: {names}"
            )


def _run_region_task(message: Any) -> None:
    task, countdown, runtime = message
    _local.runtime = runtime
    tracer = tracing.active_tracer()
    start = tracer.getts() if tracer is not None else 0.0
    try:
        task.run()
        if tracer is not None:
            tracing.span(tracer, f"region task {task.region}", start)
    except BaseException as error:
        # RegionTask.run turns user exceptions into error.execution, so this
        # is a crash: the runtime raises it after the barrier, and the
        # region actor ends (strategy "stop") and is replaced on next use.
        countdown.failure = (task.region, error)
        raise
    finally:
        _local.runtime = None
        countdown.finish_one()
