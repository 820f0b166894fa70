"""A session registry that hosts every SCXML session in a ``Runtime``.

``RuntimeSessions`` implements the ``SessionRegistry`` protocol on threads.
The top session and every session it invokes run in their own ``Runtime``
(an interpreter hosted by an actor) under one supervisor. Delayed events
wait on real time in that supervisor's timer thread.

- ``start(machine)`` creates the top session; ``spawn`` (called by
  ``<invoke>`` on the parent's actor thread) creates a child session and
  starts it without waiting, so a parent never waits for its child to boot.
- ``route`` delivers ``#_parent``, ``#_<invokeid>`` and
  ``#_scxml_<sessionid>`` sends to the destination runtime's mailbox,
  directly or through the sender's timers (so that ``<cancel>`` and the
  sender's end cancel them).
- A session that enters a top-level final state is retired: its parent gets
  ``done.invoke.<invokeid>`` with the done data, and its runtime stops, which
  cancels its pending delayed events.
- Cancelling an invocation unlinks the child from its parent first, then
  stops the child's runtime. What the child sends to ``#_parent`` from then
  on, such as from its exit actions, is dropped.

Thread safety: ``route`` runs on any thread that executes actions (a
runtime's, a region actor's, the timer thread for delayed events); ``spawn``,
``forward`` and ``cancel`` run on the parent's actor thread; ``start``,
``wait`` and ``stop`` on any thread outside the sessions. One lock guards
the session table and the parent-child links. It is held while an event is
appended to a mailbox, which never blocks (mailboxes here are unbounded),
so that a send to ``#_parent`` and the cancel of that child are ordered.
It is never held while user code runs or while a runtime is waited for.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from ..actors import Dispatcher, Supervisor
from ..actors.actor import DEFAULT_STOP_TIMEOUT
from ..errors import InterpreterNotRunning, ShutdownTimeout
from ..events import Event
from ..interpreter import Interpreter
from ..machine import Machine
from ..runtime import Runtime
from .datamodel import SCXML_PROCESSOR, SessionInfo

__all__ = ["RuntimeSessions"]

logger = logging.getLogger("statechartx.scxml.runtime_sessions")


class _Session:
    __slots__ = ("runtime", "parent", "invokeid", "children")

    def __init__(self, runtime: Runtime, parent: str | None, invokeid: str | None) -> None:
        self.runtime = runtime
        self.parent = parent
        self.invokeid = invokeid
        # invokeid -> child session id, for the invocations still linked.
        self.children: dict[str, str] = {}


class _RuntimeChild:
    """The parent's handle on one invoked child session (``ChildSession``)."""

    __slots__ = ("sessions", "parent", "invokeid", "session_id")

    def __init__(self, sessions: RuntimeSessions, parent: str, invokeid: str, session_id: str) -> None:
        self.sessions = sessions
        self.parent = parent
        self.invokeid = invokeid
        self.session_id = session_id

    def forward(self, event: Event) -> None:
        self.sessions._forward(self.parent, self.invokeid, self.session_id, event)

    def cancel(self) -> None:
        self.sessions._cancel_child(self.parent, self.invokeid, self.session_id)

    def __repr__(self) -> str:
        return f"<invoked session {self.session_id!r} ({self.invokeid!r} of {self.parent!r})>"


class RuntimeSessions:
    """A session registry that runs each SCXML session in its own ``Runtime``.

    ``supervisor`` owns every session's actor and timers; without one the
    registry creates a private supervisor and stops it in ``stop``.
    ``dispatcher``, ``concurrent_regions`` and ``max_microsteps`` are passed
    to every session's ``Runtime``. ``stop_timeout`` bounds the wait for a
    cancelled child session to stop.

    Sessions crash with the "stop" strategy: a restart would run the
    document again from its initial configuration and repeat what it already
    sent to other sessions.

    Limitations: cancelling an invocation waits on the parent's thread until
    the child's runtime has stopped. On a ``PoolDispatcher`` that needs a free
    worker for the child, so give the pool more workers than the depth of
    nested invocations.
    """

    def __init__(
        self,
        supervisor: Supervisor | None = None,
        *,
        dispatcher: Dispatcher | None = None,
        concurrent_regions: bool = False,
        max_microsteps: int | None = None,
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
    ) -> None:
        self._owns_supervisor = supervisor is None
        self.supervisor = supervisor or Supervisor("scxml-sessions")
        self._dispatcher = dispatcher
        self._concurrent_regions = concurrent_regions
        self._max_microsteps = max_microsteps
        self._stop_timeout = stop_timeout
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        # Every runtime started and not yet known to be joined, in start
        # order: stop() stops and joins them, so that no thread outlives it.
        self._runtimes: list[Runtime] = []
        self._next_id = 1
        self._closed = False

    def __repr__(self) -> str:
        return f"<RuntimeSessions {len(self._sessions)} session(s) on {self.supervisor.name!r}>"

    # -- public API ------------------------------------------------------

    def start(
        self,
        machine: Machine,
        *,
        data: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        wait: bool = True,
        timeout: float = 10.0,
    ) -> Runtime:
        """Create, register and start a top-level session; return its runtime.

        With ``wait`` it returns once the initial configuration is entered
        (see ``Runtime.start``); the session may have finished by then.
        """
        runtime = self._create(machine, data, session_id, parent=None, invokeid=None)
        self._launch(runtime)
        if wait:
            runtime.wait_started(timeout)
        return runtime

    def wait(self, session: Runtime | str, timeout: float) -> bool:
        """Wait until a session has ended (finished, cancelled, stopped or
        failed) and its thread is gone; return False after ``timeout`` seconds."""
        runtime = self._runtime_of(session)
        if runtime.actor.runs_on_current_thread():
            raise RuntimeError(
                f"wait() on session {runtime.name!r} was called from that session's "
                "own thread, where it would wait on itself"
            )
        return runtime.actor.join(timeout)

    def session(self, session_id: str) -> Runtime | None:
        """Return the runtime of a running session, or None."""
        with self._lock:
            session = self._sessions.get(session_id)
        return None if session is None else session.runtime

    @property
    def session_ids(self) -> tuple[str, ...]:
        """The ids of the running sessions, in creation order."""
        with self._lock:
            return tuple(self._sessions)

    def stop(self, timeout: float | None = None) -> None:
        """Stop every session, wait for their threads and reject new sessions.

        Sessions stop in creation order, so a parent cancels its own
        invocations (dropping what they send back) before the registry stops
        what is left. Raises ``ShutdownTimeout`` naming the sessions still
        running after ``timeout`` seconds (default ``stop_timeout``). Stops
        the supervisor too when the registry created it.
        """
        limit = self._stop_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        with self._lock:
            self._closed = True
            runtimes = list(self._runtimes)
        for runtime in runtimes:
            runtime.stop(max(deadline - time.monotonic(), 0.0))
        stuck = [
            runtime.name
            for runtime in runtimes
            if not runtime.actor.join(max(deadline - time.monotonic(), 0.0))
        ]
        with self._lock:
            self._runtimes = [
                runtime for runtime in self._runtimes if runtime not in runtimes
            ]
        if stuck:
            raise ShutdownTimeout(
                f"SCXML sessions {', '.join(map(repr, stuck))} did not stop within "
                f"{limit} s; an action may be blocked"
            )
        if self._owns_supervisor:
            self.supervisor.stop(max(deadline - time.monotonic(), 0.0))

    # -- SessionRegistry -------------------------------------------------

    def route(self, sender: Interpreter, target: str, event: Event, delay: float) -> bool:
        """Deliver ``event`` from ``sender`` to ``target`` now or after ``delay`` seconds.

        Returns False when ``target`` names no running session, which the
        ``<send>`` turns into ``error.communication``. A send to
        ``#_parent`` from a child whose invocation was cancelled returns
        True and is dropped.
        """
        sid = sender.session_id
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return False
            if target == "#_parent":
                if session.parent is None:
                    return False
                if not self._linked(session):
                    return True
                destination: str | None = session.parent
                event = event._replace(invokeid=session.invokeid)
            elif target.startswith("#_scxml_"):
                destination = target[len("#_scxml_"):]
            else:
                destination = session.children.get(target[2:])
            if destination is None or destination not in self._sessions:
                return False
            if delay <= 0:
                return self._post(destination, event)
            sender_runtime = session.runtime
        from_child = target == "#_parent"

        def deliver(event: Event) -> None:
            # Runs on the timer thread: the destination may have ended, and a
            # child may have been cancelled, since the send.
            with self._lock:
                source = self._sessions.get(sid)
                if from_child and (source is None or not self._linked(source)):
                    return
                if not self._post(destination, event):  # type: ignore[arg-type]
                    logger.info(
                        "delayed event %r from session %r not delivered: session %r "
                        "has ended",
                        event.name,
                        sid,
                        destination,
                    )

        sender_runtime.schedule_delivery(event, delay, deliver)
        return True

    def spawn(
        self,
        parent: Interpreter,
        invokeid: str,
        machine: Machine,
        data: Mapping[str, Any],
    ) -> _RuntimeChild:
        """Start ``machine`` as a child session of ``parent``; return at once."""
        parent_sid = parent.session_id
        runtime = self._create(machine, data, None, parent=parent_sid, invokeid=invokeid)
        self._launch(runtime)
        return _RuntimeChild(self, parent_sid, invokeid, runtime.name)

    # -- internals -------------------------------------------------------

    def _create(
        self,
        machine: Machine,
        data: Mapping[str, Any] | None,
        session_id: str | None,
        parent: str | None,
        invokeid: str | None,
    ) -> Runtime:
        values: dict[str, Any] = dict(data or {})
        values["_x"] = SessionInfo(self, parent, invokeid)
        with self._lock:
            if self._closed:
                raise RuntimeError(
                    "this RuntimeSessions was stopped; create a new one to start sessions"
                )
            if parent is not None and parent not in self._sessions:
                raise LookupError(f"session {parent!r} is not running in this registry")
            if session_id is None:
                session_id = f"scxml{self._next_id}"
                while session_id in self._sessions:
                    self._next_id += 1
                    session_id = f"scxml{self._next_id}"
                self._next_id += 1
            elif session_id in self._sessions:
                raise ValueError(f"session id {session_id!r} is already running here")
            runtime = Runtime(
                machine,
                name=session_id,
                supervisor=self.supervisor,
                dispatcher=self._dispatcher,
                concurrent_regions=self._concurrent_regions,
                data=values,
                strategy="stop",
                max_microsteps=self._max_microsteps,
                on_finish=self._finished,
            )
            self._sessions[session_id] = _Session(runtime, parent, invokeid)
            if parent is not None and invokeid is not None:
                self._sessions[parent].children[invokeid] = session_id
            self._prune_runtimes()
            self._runtimes.append(runtime)
        return runtime

    def _launch(self, runtime: Runtime) -> None:
        # Events sent to the session before its actor runs wait in its
        # mailbox, so registering first and starting without waiting is safe.
        try:
            runtime.start(wait=False)
        except BaseException:
            self._retire(runtime.name)
            raise
        runtime.actor.add_done_callback(lambda actor: self._retire(runtime.name))

    def _runtime_of(self, session: Runtime | str) -> Runtime:
        if isinstance(session, Runtime):
            return session
        with self._lock:
            for runtime in self._runtimes:
                if runtime.name == session:
                    return runtime
        raise LookupError(f"session {session!r} was not started by this registry")

    def _prune_runtimes(self) -> None:
        # Lock held. Drops runtimes whose thread is gone, so that a
        # long-lived registry does not grow with every invocation.
        self._runtimes = [
            runtime for runtime in self._runtimes if not _thread_gone(runtime)
        ]

    def _linked(self, session: _Session) -> bool:
        # Lock held. True while the parent still has this child's invocation.
        parent = self._sessions.get(session.parent) if session.parent else None
        return parent is not None and parent.children.get(session.invokeid or "") == session.runtime.name

    def _post(self, destination: str, event: Event) -> bool:
        # Lock held; Runtime.send on an unbounded mailbox does not block.
        session = self._sessions.get(destination)
        if session is None:
            return False
        try:
            session.runtime.send(event)
        except InterpreterNotRunning:
            return False
        return True

    def _finished(self, runtime: Runtime, done_data: Any) -> None:
        """Retire a session that entered a top-level final state (its actor thread)."""
        sid = runtime.name
        with self._lock:
            session = self._sessions.get(sid)
            if session is not None and session.parent is not None and self._linked(session):
                invokeid = session.invokeid or ""
                del self._sessions[session.parent].children[invokeid]
                done = Event(
                    f"done.invoke.{invokeid}",
                    done_data,
                    invokeid=invokeid,
                    origin=f"#_scxml_{sid}",
                    origintype=SCXML_PROCESSOR,
                )
                self._post(session.parent, done)
            self._sessions.pop(sid, None)
        logger.debug("session %s finished", sid)
        # On the runtime's own thread stop() only requests the stop; it also
        # cancels the session's pending delayed events.
        runtime.stop()

    def _retire(self, sid: str) -> None:
        """Forget a session whose actor ended (its thread, or the caller's)."""
        with self._lock:
            session = self._sessions.pop(sid, None)
            if session is not None and session.parent is not None and self._linked(session):
                del self._sessions[session.parent].children[session.invokeid or ""]
        if session is not None:
            logger.debug("session %s ended without finishing", sid)

    def _forward(self, parent: str, invokeid: str, child: str, event: Event) -> None:
        with self._lock:
            session = self._sessions.get(child)
            if session is not None and self._linked(session):
                self._post(child, event)

    def _cancel_child(self, parent: str, invokeid: str, child: str) -> None:
        """Unlink an invoked child, then stop it (the parent's thread)."""
        with self._lock:
            session = self._sessions.get(child)
            interpreter = session.runtime._interpreter if session is not None else None
            if interpreter is not None and interpreter.final_reached:
                # The child finished before this cancel: its exit actions ran
                # (what they sent reached the parent first) and its
                # done.invoke must follow, so it keeps its link and retires
                # itself. The flag is set before those sends, which take
                # this lock, so the parent cannot see one without the other.
                return
            parent_session = self._sessions.get(parent)
            if parent_session is not None and parent_session.children.get(invokeid) == child:
                del parent_session.children[invokeid]
        if session is not None:
            # The child leaves through its exit actions; what they send to
            # its parent is dropped because the link is gone.
            session.runtime.stop(self._stop_timeout, drain=False)


def _thread_gone(runtime: Runtime) -> bool:
    """Return whether a runtime's actor ended and its thread (if any) exited."""
    actor = runtime.actor
    if not actor.state.terminal:
        return False
    return actor.thread is None or not actor.thread.is_alive()
