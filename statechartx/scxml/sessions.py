"""Session registries: how SCXML sessions reach each other.

A ``<send>`` to ``#_parent``, ``#_<invokeid>`` or ``#_scxml_<sessionid>``
and an ``<invoke>`` need to find other sessions. That is the job of a
session registry, reached from a session's datamodel as ``_x.sessions``.
The executable content only talks to the ``SessionRegistry`` protocol, so
the host is pluggable:

- ``SyncSessions`` runs every session (the top one and its invoked
  children) as an ``Interpreter`` on the calling thread, with one external
  queue per session served in global send order and one virtual clock for
  every delayed event.
- A ``Runtime``-based registry hosts each session in its own actor under the
  parent's supervisor and implements the same three methods.

A plain ``Interpreter(machine)`` has no registry: sends to itself, to
``#_internal`` and delayed sends on its own virtual clock work, while sends
to other sessions give ``error.communication`` and ``<invoke>`` gives
``error.execution``.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

from ..events import Event
from ..interpreter import Interpreter
from ..machine import Machine
from .datamodel import SCXML_PROCESSOR, SessionInfo

__all__ = ["SessionRegistry", "ChildSession", "SyncSessions"]

logger = logging.getLogger("statechartx.scxml.sessions")


class ChildSession(Protocol):
    """A registry's handle on one invoked child session."""

    def forward(self, event: Event) -> None:
        """Deliver a copy of a parent's external event (``autoforward``)."""

    def cancel(self) -> None:
        """Stop the child; it sends nothing to its parent afterwards."""


class SessionRegistry(Protocol):
    """The services that SCXML executable content needs from the host of its sessions."""

    def route(self, sender: Interpreter, target: str, event: Event, delay: float) -> bool:
        """Deliver ``event`` to ``target`` (``#_parent``, ``#_<invokeid>``,
        ``#_scxml_<sessionid>``) after ``delay`` seconds; return False when
        no session is reachable at that target."""

    def spawn(
        self,
        parent: Interpreter,
        invokeid: str,
        machine: Machine,
        data: Mapping[str, Any],
    ) -> ChildSession:
        """Start ``machine`` as a child session of ``parent``.

        ``data`` overrides the child's ``<data>`` values. The child's events
        to ``#_parent`` and its ``done.invoke.<invokeid>`` reach the parent's
        external queue with ``invokeid`` set.
        """


class _Session:
    __slots__ = ("interpreter", "parent", "invokeid", "children")

    def __init__(self, interpreter: Interpreter, parent: str | None, invokeid: str | None) -> None:
        self.interpreter = interpreter
        self.parent = parent
        self.invokeid = invokeid
        # invokeid -> child session id, for the invocations still active.
        self.children: dict[str, str] = {}


class _SyncHost:
    """Host of every interpreter of a ``SyncSessions``: queues, not calls."""

    __slots__ = ("sessions",)

    def __init__(self, sessions: SyncSessions) -> None:
        self.sessions = sessions

    def send_event(self, interpreter: Interpreter, event: Event, delay: float, target: str | None) -> None:
        sid = interpreter.session_id
        if target == "#_internal":
            interpreter.ctx.raise_event(event._replace(type="internal"))
        elif target is None or target == f"#_scxml_{sid}":
            self.sessions._deliver(sid, sid, event, delay)
        elif not self.sessions.route(interpreter, target, event, delay):
            raise LookupError(f"target {target!r} cannot be reached from session {sid!r}")

    def cancel_event(self, interpreter: Interpreter, sendid: str) -> bool:
        return self.sessions._cancel(interpreter.session_id, sendid)


class _SyncChild:
    __slots__ = ("sessions", "parent", "invokeid", "session_id")

    def __init__(self, sessions: SyncSessions, parent: str, invokeid: str, session_id: str) -> None:
        self.sessions = sessions
        self.parent = parent
        self.invokeid = invokeid
        self.session_id = session_id

    def forward(self, event: Event) -> None:
        self.sessions._deliver(self.parent, self.session_id, event, 0.0)

    def cancel(self) -> None:
        self.sessions._cancel_child(self.parent, self.invokeid, self.session_id)


class SyncSessions:
    """A session registry that runs every session on the calling thread.

    ``start(machine)`` creates the top session and runs it to a stable
    configuration. Events are queued per session and processed, one
    macrostep each, in the order they were sent. An invoked child is an
    ``Interpreter`` started synchronously inside the parent's macrostep.
    Delayed events of every session wait on one virtual clock that only
    ``advance()`` moves, so runs are deterministic.

    Not thread-safe: use it from one thread, like an ``Interpreter``.
    """

    def __init__(self, *, max_microsteps: int | None = None) -> None:
        self._sessions: dict[str, _Session] = {}
        # (target session, event), in send order across all sessions.
        self._queue: deque[tuple[str, Event]] = deque()
        # (due, sequence, source session, target session, event)
        self._timers: list[tuple[float, int, str, str, Event]] = []
        self._sequence = itertools.count()
        self._ids = itertools.count(1)
        self._clock = 0.0
        self._dispatching = False
        self._max_microsteps = max_microsteps

    # -- public API ------------------------------------------------------

    def start(
        self,
        machine: Machine,
        *,
        data: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Interpreter:
        """Create, register and start a top-level session; return its interpreter."""
        interp = self._create(machine, data, session_id, parent=None, invokeid=None)
        self._start(interp)
        self.run()
        return interp

    def send(self, session: Interpreter | str, event: str | Event, data: Any = None) -> None:
        """Queue an external event for a session and process every queued event."""
        sid = session if isinstance(session, str) else session.session_id
        if sid not in self._sessions:
            raise LookupError(f"session {sid!r} is not running in this SyncSessions")
        if not isinstance(event, Event):
            event = Event(event, data)
        self._queue.append((sid, event))
        self.run()

    def run(self) -> int:
        """Process queued events until every queue is empty; return how many."""
        if self._dispatching:
            return 0
        self._dispatching = True
        processed = 0
        try:
            while self._queue:
                sid, event = self._queue.popleft()
                session = self._sessions.get(sid)
                if session is None or not session.interpreter.running:
                    continue
                processed += 1
                session.interpreter.process(event)
                self._after(session)
        finally:
            self._dispatching = False
        return processed

    def advance(self, seconds: float | None = None) -> int:
        """Move the virtual clock, deliver due delayed events and process them.

        ``None`` jumps to the next delayed event. Returns the number of
        delayed events delivered.
        """
        if seconds is not None and seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        if not self._timers:
            if seconds is not None:
                self._clock += seconds
            return 0
        until = self._timers[0][0] if seconds is None else self._clock + seconds
        delivered = 0
        while self._timers and self._timers[0][0] <= until:
            due, _, source, target, event = heapq.heappop(self._timers)
            self._clock = max(self._clock, due)
            if source not in self._sessions:
                # Delayed events die with the session that sent them.
                continue
            self._queue.append((target, event))
            delivered += 1
            self.run()
        self._clock = max(self._clock, until)
        return delivered

    @property
    def clock(self) -> float:
        """The virtual time in seconds since this registry was created."""
        return self._clock

    @property
    def pending_delayed(self) -> int:
        """Delayed events waiting on the virtual clock."""
        return len(self._timers)

    def session(self, session_id: str) -> Interpreter | None:
        """Return the interpreter of a running session, or None."""
        session = self._sessions.get(session_id)
        return None if session is None else session.interpreter

    @property
    def session_ids(self) -> tuple[str, ...]:
        """The ids of the running sessions, in creation order."""
        return tuple(self._sessions)

    def stop(self) -> None:
        """Stop every session, children before their parents."""
        for sid in reversed(list(self._sessions)):
            session = self._sessions.get(sid)
            if session is not None:
                session.interpreter.stop()
                self._after(session)
        self._queue.clear()
        self._timers.clear()

    # -- SessionRegistry -------------------------------------------------

    def route(self, sender: Interpreter, target: str, event: Event, delay: float) -> bool:
        sid = sender.session_id
        session = self._sessions.get(sid)
        if session is None:
            return False
        if target == "#_parent":
            destination = session.parent
            if destination is None:
                return False
            parent = self._sessions.get(destination)
            if parent is None or parent.children.get(session.invokeid or "") != sid:
                # A cancelled child (running its exit actions) sends nothing
                # to its parent; the event is dropped, not an error.
                return True
            event = event._replace(invokeid=session.invokeid)
        elif target.startswith("#_scxml_"):
            destination = target[len("#_scxml_"):]
        else:
            destination = session.children.get(target[2:])
        if destination is None or destination not in self._sessions:
            return False
        self._deliver(sid, destination, event, delay)
        return True

    def spawn(
        self,
        parent: Interpreter,
        invokeid: str,
        machine: Machine,
        data: Mapping[str, Any],
    ) -> _SyncChild:
        parent_session = self._sessions.get(parent.session_id)
        if parent_session is None:
            raise LookupError(f"session {parent.session_id!r} is not registered here")
        child = self._create(machine, data, None, parent=parent.session_id, invokeid=invokeid)
        parent_session.children[invokeid] = child.session_id
        handle = _SyncChild(self, parent.session_id, invokeid, child.session_id)
        self._start(child)
        return handle

    # -- internals -------------------------------------------------------

    def _create(
        self,
        machine: Machine,
        data: Mapping[str, Any] | None,
        session_id: str | None,
        parent: str | None,
        invokeid: str | None,
    ) -> Interpreter:
        if session_id is None:
            session_id = f"scxml{next(self._ids)}"
            while session_id in self._sessions:
                session_id = f"scxml{next(self._ids)}"
        elif session_id in self._sessions:
            raise ValueError(f"session id {session_id!r} is already running here")
        values: dict[str, Any] = dict(data or {})
        values["_x"] = SessionInfo(self, parent, invokeid)
        options: dict[str, Any] = {}
        if self._max_microsteps is not None:
            options["max_microsteps"] = self._max_microsteps
        interp = Interpreter(
            machine, data=values, host=_SyncHost(self), session_id=session_id, **options
        )
        self._sessions[session_id] = _Session(interp, parent, invokeid)
        return interp

    def _start(self, interp: Interpreter) -> None:
        session = self._sessions[interp.session_id]
        try:
            interp.start()
        finally:
            self._after(session)

    def _deliver(self, source: str, target: str, event: Event, delay: float) -> None:
        if delay > 0:
            heapq.heappush(
                self._timers,
                (self._clock + delay, next(self._sequence), source, target, event),
            )
        else:
            self._queue.append((target, event))

    def _cancel(self, source: str, sendid: str) -> bool:
        # Only the sending session can cancel its delayed events.
        kept = [t for t in self._timers if not (t[2] == source and t[4].sendid == sendid)]
        if len(kept) == len(self._timers):
            return False
        heapq.heapify(kept)
        self._timers = kept
        return True

    def _cancel_child(self, parent: str, invokeid: str, child: str) -> None:
        parent_session = self._sessions.get(parent)
        if parent_session is not None and parent_session.children.get(invokeid) == child:
            del parent_session.children[invokeid]
        session = self._sessions.get(child)
        if session is not None:
            session.interpreter.stop()
            self._after(session)

    def _after(self, session: _Session) -> None:
        """Retire a session that finished or stopped."""
        interp = session.interpreter
        if interp.running or interp.session_id not in self._sessions:
            return
        sid = interp.session_id
        del self._sessions[sid]
        self._timers = [t for t in self._timers if t[2] != sid]
        heapq.heapify(self._timers)
        for child_sid in list(session.children.values()):
            child = self._sessions.get(child_sid)
            if child is not None:
                child.interpreter.stop()
                self._after(child)
        if interp.finished and session.parent is not None and session.invokeid is not None:
            done = Event(
                f"done.invoke.{session.invokeid}",
                interp.done_data,
                invokeid=session.invokeid,
                origin=f"#_scxml_{sid}",
                origintype=SCXML_PROCESSOR,
            )
            self._queue.append((session.parent, done))
        logger.debug("session %s ended (finished=%s)", sid, interp.finished)
