"""Dispatchers: where an actor's loop runs.

``ThreadDispatcher`` gives each actor its own named OS thread, which parks on
the mailbox when there is nothing to do. ``PoolDispatcher`` runs many actors
in turns over a few worker threads: a turn processes at most one batch, then
the actor goes to the back of the run queue, so a busy actor cannot starve
the others.

Exactly-once scheduling on the pool: an actor is in the run queue, or running
on a worker, or idle, and never two of these. Only two things put it in the
queue: the worker that just ran its turn (when more messages wait), and the
one producer that clears its mailbox's ``_parked`` flag under the park lock.
See ``Mailbox`` for why no wake-up is lost.
"""

from __future__ import annotations

import functools
import logging
import threading
import weakref
from collections import deque
from time import monotonic
from typing import Protocol

from ..errors import ShutdownTimeout
from . import hooks
from .actor import DEFAULT_STOP_TIMEOUT, Actor, describe_stuck, stack_of

__all__ = ["Dispatcher", "PoolDispatcher", "ThreadDispatcher"]

logger = logging.getLogger(__name__)


class Dispatcher(Protocol):
    """Something that runs actors' loops on threads it starts."""

    name: str

    def attach(self, actor: Actor, thread_name: str | None = None) -> None:
        """Start running ``actor``, whose state is already STARTING."""
        ...

    def threads(self) -> list[threading.Thread]:
        """Return the threads this dispatcher started that are still alive."""
        ...

    def shutdown(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        """Stop the actors still attached, then end the dispatcher's threads."""
        ...


def _stop_attached(
    actors: list[Actor], deadline: float, timeout: float, owner: str
) -> list[Actor]:
    """Request a draining stop of ``actors``; return those not ended by ``deadline``."""
    live = [actor for actor in actors if not actor.state.terminal]
    if live:
        logger.warning(
            "%s shuts down with %d actor(s) still running; stopping them: %s",
            owner,
            len(live),
            ", ".join(repr(actor.name) for actor in live[:10]),
        )
    for actor in live:
        actor.request_stop(drain=True)
    return [actor for actor in live if not actor.join(max(deadline - monotonic(), 0.0))]


class ThreadDispatcher:
    """Run each actor on its own named, non-daemon OS thread.

    The thread is named by the spawner (``thread_name``, e.g. "runtime:foo")
    or after the actor. Threads are not daemons: a thread that never ends
    keeps the interpreter from exiting instead of vanishing silently, which
    makes leaks visible.
    """

    def __init__(self, name: str = "threads") -> None:
        self.name = name
        self._lock = threading.Lock()
        self._threads: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
        self._actors: weakref.WeakSet[Actor] = weakref.WeakSet()

    def __repr__(self) -> str:
        return f"<ThreadDispatcher {self.name!r} threads={len(self.threads())}>"

    def attach(self, actor: Actor, thread_name: str | None = None) -> None:
        """Start a thread that runs the whole life of ``actor``."""
        thread = threading.Thread(
            target=actor._run_on_thread,
            name=thread_name or actor.name,
            daemon=False,
        )
        actor._thread = thread
        with self._lock:
            self._threads.add(thread)
            self._actors.add(actor)
        try:
            thread.start()
        except BaseException:
            actor._thread = None
            with self._lock:
                self._threads.discard(thread)
                self._actors.discard(actor)
            raise

    def threads(self) -> list[threading.Thread]:
        """Return the actor threads started here that are still alive."""
        with self._lock:
            started = list(self._threads)
        return [thread for thread in started if thread.is_alive()]

    def shutdown(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        """Stop actors still running here and join their threads.

        Raises ``ShutdownTimeout`` naming each actor or thread still running
        after ``timeout`` seconds.
        """
        deadline = monotonic() + timeout
        with self._lock:
            actors = list(self._actors)
        stuck = _stop_attached(actors, deadline, timeout, f"dispatcher {self.name!r}")
        if stuck:
            raise ShutdownTimeout(describe_stuck(stuck, timeout))
        for thread in self.threads():
            thread.join(max(deadline - monotonic(), 0.0))
        alive = self.threads()
        if alive:
            raise ShutdownTimeout(_describe_threads(alive, timeout))


class _Worker:
    """A pool thread and the binary semaphore it sleeps on when idle."""

    __slots__ = ("thread", "wakeup")

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        # Locked while no wake-up is pending, like Mailbox._wakeup.
        self.wakeup = threading.Lock()
        self.wakeup.acquire()


class PoolDispatcher:
    """Run many actors in turns over ``workers`` threads named "<name>-<i>".

    A turn processes at most the actor's ``batch_size`` messages, then the
    actor goes to the back of the run queue. An actor whose mailbox is empty
    goes idle and costs nothing until a message arrives. An actor runs on one
    worker at a time. Worker threads start with the first ``attach``.

    Idle workers sleep on their own semaphore. A submit wakes one only when
    no other wake-up is in flight; a woken worker that finds more queued work
    wakes the next one. This keeps a fast producer from paying a system call
    per message while still bringing every worker in under load.

    Limitations: a handler that blocks holds its worker for as long, and
    ``workers`` handlers that block stall the whole pool.
    """

    def __init__(self, workers: int = 4, *, name: str = "pool") -> None:
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(
                f"pool {name!r}: workers must be a positive int, got {workers!r}"
            )
        self.name = name
        self._worker_count = workers
        self._run_queue: deque[Actor] = deque()
        self._enqueue = self._run_queue.append
        self._dequeue = self._run_queue.popleft
        self._lock = threading.Lock()
        # Idle workers, most recent last; _idle_count mirrors its length. Both
        # are written under _lock; submitters read _idle_count and _waking
        # without it, after their append, in the order Mailbox.park explains.
        self._idle: list[_Worker] = []
        self._idle_count = 0
        # True from choosing an idle worker until it is running again.
        self._waking = False
        self._closing = False
        self._workers: list[_Worker] = []
        self._actors: weakref.WeakSet[Actor] = weakref.WeakSet()

    def __repr__(self) -> str:
        return (
            f"<PoolDispatcher {self.name!r} workers={self._worker_count} "
            f"queued={len(self._run_queue)}>"
        )

    @property
    def workers(self) -> int:
        """Number of worker threads."""
        return self._worker_count

    def attach(self, actor: Actor, thread_name: str | None = None) -> None:
        """Queue the first turn of ``actor``, which runs its ``on_start``.

        ``thread_name`` is ignored: pool actors have no thread of their own.
        """
        with self._lock:
            if self._closing:
                raise RuntimeError(
                    f"pool {self.name!r} is shut down; cannot attach actor "
                    f"{actor.name!r}"
                )
            if not self._workers:
                self._start_workers()
            self._actors.add(actor)
        actor.mailbox.bind_wake(functools.partial(self._submit, actor))
        self._submit(actor)

    def _start_workers(self) -> None:
        for index in range(self._worker_count):
            worker = _Worker()
            thread = threading.Thread(
                target=self._work,
                args=(worker,),
                name=f"{self.name}-{index}",
                daemon=False,
            )
            worker.thread = thread
            thread.start()
            self._workers.append(worker)
        logger.info("pool %r started %d workers", self.name, self._worker_count)

    def _submit(self, actor: Actor) -> None:
        # Hot path of a wake-up: one append, and a worker wake-up only when one
        # sleeps and none is on its way. Callers guarantee the actor is not
        # queued already (see the module docstring).
        self._enqueue(actor)
        if self._idle_count and not self._waking:
            self._wake_one()

    def _wake_one(self) -> None:
        with self._lock:
            if self._waking or not self._idle:
                return
            worker = self._idle.pop()
            self._idle_count -= 1
            self._waking = True
        worker.wakeup.release()

    def _work(self, worker: _Worker) -> None:
        dequeue = self._dequeue
        run_queue = self._run_queue
        while True:
            try:
                actor = dequeue()
            except IndexError:
                # A closing pool still runs the turns already queued, so that
                # actors whose stop was requested can end.
                if self._closing:
                    return
                self._sleep(worker)
                continue
            if run_queue and self._idle_count and not self._waking:
                # More work is queued than this worker can take: wake a peer.
                self._wake_one()
            try:
                again = actor._run_turn()
            except BaseException:
                # _run_turn handles the actor's own errors; this is a bug.
                logger.exception(
                    "pool %r: turn of actor %r raised", self.name, actor.name
                )
                again = False
            if again:
                self._submit(actor)

    def _sleep(self, worker: _Worker) -> None:
        """Wait until a submitter wakes this worker, or return at once if work came."""
        with self._lock:
            if self._closing:
                return
            self._idle.append(worker)
            self._idle_count += 1
        # Re-check after publishing this worker as idle. extend(()) takes the
        # run queue's lock, which orders it with a submitter's append, so
        # either len() sees the actor or the submitter sees _idle_count.
        self._run_queue.extend(())
        if self._run_queue:
            with self._lock:
                if worker in self._idle:
                    self._idle.remove(worker)
                    self._idle_count -= 1
                    return
            # A submitter chose this worker; take its wake-up so the next
            # sleep blocks again.
            worker.wakeup.acquire()
            self._woken()
            return
        token = None
        if hooks.listener is not None:
            token = hooks.wait_started(hooks.WAIT_PARK, threading.current_thread().name)
        try:
            worker.wakeup.acquire()
        finally:
            hooks.wait_ended(token)
        self._woken()

    def _woken(self) -> None:
        with self._lock:
            self._waking = False
        # The dequeue that follows takes the run queue's lock after this
        # store, so a submitter that reads _waking after its append either
        # sees False or has its actor found by that dequeue.

    def threads(self) -> list[threading.Thread]:
        """Return the worker threads that are still alive."""
        with self._lock:
            threads = [worker.thread for worker in self._workers]
        return [
            thread for thread in threads if thread is not None and thread.is_alive()
        ]

    def shutdown(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        """Stop actors still attached, then end the workers.

        Raises ``ShutdownTimeout`` naming each actor or worker still running
        after ``timeout`` seconds.
        """
        deadline = monotonic() + timeout
        with self._lock:
            actors = list(self._actors)
        stuck = _stop_attached(actors, deadline, timeout, f"pool {self.name!r}")
        with self._lock:
            self._closing = True
            sleeping = self._idle
            self._idle = []
            self._idle_count = 0
        for worker in sleeping:
            worker.wakeup.release()
        for thread in self.threads():
            thread.join(max(deadline - monotonic(), 0.0))
        alive = self.threads()
        if stuck or alive:
            parts = []
            if stuck:
                parts.append(describe_stuck(stuck, timeout))
            if alive:
                parts.append(_describe_threads(alive, timeout))
            raise ShutdownTimeout("\n".join(parts))
        logger.info("pool %r shut down", self.name)


def _describe_threads(threads: list[threading.Thread], timeout: float) -> str:
    names = ", ".join(repr(thread.name) for thread in threads)
    lines = [f"{len(threads)} thread(s) did not end within {timeout} s: {names}"]
    for thread in threads:
        lines.append(f"\nstack of thread {thread.name!r}:\n{stack_of(thread.ident)}")
    return "\n".join(lines)
