"""Actor: a receive loop over a mailbox, with an explicit lifecycle.

Behaviour comes from subclassing (override ``receive`` and, if needed,
``on_start``, ``on_stop``, ``on_restart``, ``on_failure``) or from a handler
callable. A dispatcher decides where the loop runs: on its own thread
(``ThreadDispatcher``) or in turns on a pool worker (``PoolDispatcher``).

Lifecycle::

    NEW -> STARTING -> RUNNING -> STOPPING -> STOPPED
       \\          \\          \\           \\-> FAILED
        \\-> STOPPED (stopped before it started)

Stopping is a protocol. ``request_stop`` closes the mailbox, so later puts
raise ``MailboxClosed``, and appends a stop sentinel behind the pending
messages. With ``drain=True`` the loop processes everything before the
sentinel; with ``drain=False`` the stopping thread takes the pending messages
out first. Messages that are not processed are returned by ``stop`` and kept
in ``undelivered``; the mailbox counts them as dropped.

An exception that escapes ``receive`` or ``on_start`` is a crash. The actor
calls its failure handler (a supervisor), which decides whether it restarts.
A restart calls
``on_restart`` on the actor's own thread and keeps the mailbox; otherwise the
actor ends FAILED. Without a supervisor a crash ends the actor.
"""

from __future__ import annotations

import enum
import logging
import reprlib
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from threading import get_ident
from time import monotonic
from typing import TYPE_CHECKING, Any, Final

from ..errors import ShutdownTimeout
from . import hooks
from .mailbox import DEFAULT_PUT_TIMEOUT, Mailbox, OverflowPolicy

if TYPE_CHECKING:
    from .dispatch import Dispatcher

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_STOP_TIMEOUT",
    "Actor",
    "ActorState",
    "FailureHandler",
    "describe_stuck",
    "stack_of",
]

logger = logging.getLogger(__name__)

#: Messages an actor processes before it checks in with its dispatcher. The
#: pool moves the actor to the back of its run queue after each batch, so this
#: bounds how long one busy actor keeps a worker from the others.
DEFAULT_BATCH_SIZE: Final = 64
#: Seconds ``stop`` waits by default before raising ``ShutdownTimeout``.
DEFAULT_STOP_TIMEOUT: Final = 5.0


class ActorState(enum.Enum):
    """Lifecycle state of an actor."""

    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        """True for STOPPED and FAILED: the loop has ended for good."""
        return self is ActorState.STOPPED or self is ActorState.FAILED


#: Called on the actor's thread with the actor and the exception that escaped
#: it. It returns True to restart the actor and False to let it end FAILED.
FailureHandler = Callable[["Actor", BaseException], bool]


class _StopSentinel:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<stop sentinel>"


_STOP: Final = _StopSentinel()

# Outcomes of a start or a turn, ordered so that "keep going" is <= _EMPTY.
_MORE: Final = 0  # the batch limit was reached; more messages may wait
_EMPTY: Final = 1  # the mailbox was empty
_STOPPED: Final = 2  # the stop sentinel was reached
_FAILED: Final = 3  # a crash that was not restarted

_names_lock = threading.Lock()
_name_counts: dict[str, int] = {}


def _default_name(kind: str) -> str:
    with _names_lock:
        number = _name_counts.get(kind, 0) + 1
        _name_counts[kind] = number
    return f"{kind}-{number}"


class Actor:
    """A receive loop over a ``Mailbox`` with an explicit lifecycle.

    Subclass and override ``receive``, or pass ``handler`` (called with each
    message) or ``handler_factory`` (called on start and on every restart to
    build a handler with fresh state). Initialise per-run state in
    ``on_start``: the default ``on_restart`` calls ``on_stop`` then
    ``on_start``, so state set there is fresh after a restart.

    ``send`` may be called from any thread. Everything else that touches the
    behaviour runs on the actor's thread (or its pool worker), one message at
    a time.
    """

    __slots__ = (
        "__weakref__",
        "_batch_size",
        "_done",
        "_done_callbacks",
        "_failure",
        "_failure_handler",
        "_handler",
        "_handler_factory",
        "_live",
        "_lock",
        "_receive",
        "_restarts",
        "_running_ident",
        "_started",
        "_state",
        "_stop_requested",
        "_thread",
        "_undelivered",
        "mailbox",
        "name",
        "send",
    )

    # Put a message in the mailbox from any thread; it is ``mailbox.put``
    # itself, stored per instance so that a send is one call, not two.
    send: Callable[..., None]

    def __init__(
        self,
        name: str | None = None,
        *,
        handler: Callable[[Any], object] | None = None,
        handler_factory: Callable[[], Callable[[Any], object]] | None = None,
        capacity: int | None = None,
        policy: OverflowPolicy = "block",
        put_timeout: float = DEFAULT_PUT_TIMEOUT,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if name is None:
            name = _default_name(type(self).__name__.lower())

        if handler is not None and handler_factory is not None:
            raise TypeError(
                f"actor {name!r}: pass handler or handler_factory, not both"
            )
        if (
            handler is None
            and handler_factory is None
            and type(self).receive is Actor.receive
        ):
            raise TypeError(
                f"actor {name!r} has no behaviour: subclass Actor and override "
                "receive(), or pass handler= or handler_factory="
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"actor {name!r}: batch_size must be a positive int, got {batch_size!r}"
            )

        self.name = name
        self.mailbox = Mailbox(
            name, capacity=capacity, policy=policy, put_timeout=put_timeout
        )
        self.send = self.mailbox.put
        self._state = ActorState.NEW
        self._handler = handler
        self._handler_factory = handler_factory
        self._receive: Callable[[object], object] = self._no_receive
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._stop_requested = False
        self._undelivered: list[object] = []
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._running_ident: int | None = None
        self._failure_handler: FailureHandler | None = None
        self._done_callbacks: list[Callable[[Actor], object]] = []
        self._restarts = 0
        self._started = False
        self._live = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._state.value}>"

    # -- behaviour, overridden by subclasses ---------------------------------

    def on_start(self) -> None:
        """Run on the actor's thread before the first message. Default: nothing."""

    def receive(self, message: object) -> None:
        """Process one message. Subclasses override this unless a handler is given."""
        raise NotImplementedError

    def on_stop(self) -> None:
        """Run on the actor's thread after the last message. Default: nothing.

        It runs on a clean stop and after a crash alike, whenever ``on_start``
        (or a restart) completed.
        """

    def on_failure(self, error: BaseException) -> None:
        """Run on the actor's thread, before ``on_stop``, when the actor ends FAILED."""

    def on_restart(self, error: BaseException) -> None:
        """Give the actor fresh state after a crash; the mailbox is kept.

        Runs on the actor's thread. The default calls ``on_stop``, builds a new
        handler when ``handler_factory`` was given, then calls ``on_start``.
        An exception here counts as another crash.
        """
        self.on_stop()
        self._live = False
        if self._handler_factory is not None:
            self._handler = self._handler_factory()
            self._receive = self._handler
        self.on_start()
        self._live = True

    def _no_receive(self, message: object) -> None:
        raise RuntimeError(
            f"actor {self.name!r} received {reprlib.repr(message)} before it started"
        )

    # -- lifecycle, called from any thread -----------------------------------

    @property
    def state(self) -> ActorState:
        """The current lifecycle state (one atomic reference read)."""
        return self._state

    @property
    def thread(self) -> threading.Thread | None:
        """The dedicated thread of a thread-dispatched actor; None on a pool."""
        return self._thread

    @property
    def failure(self) -> BaseException | None:
        """The exception that ended the actor FAILED, if any."""
        return self._failure

    @property
    def restarts(self) -> int:
        """How many times the actor was restarted after a crash."""
        return self._restarts

    @property
    def undelivered(self) -> list[object]:
        """Messages the actor accepted but did not process, in mailbox order."""
        with self._lock:
            return list(self._undelivered)

    def runs_on_current_thread(self) -> bool:
        """True when the caller is the thread running this actor right now.

        A call that waits for the actor (``stop``, a request and reply) must
        not wait from there: the actor would wait on itself.
        """
        return self._running_ident == threading.get_ident()

    def start(
        self, dispatcher: Dispatcher | None = None, *, thread_name: str | None = None
    ) -> Actor:
        """Start the actor on ``dispatcher`` (a new ``ThreadDispatcher`` if None).

        ``thread_name`` names the dedicated thread (default: the actor's name);
        a pool ignores it. Messages sent before ``start`` wait in the mailbox.
        """
        from .dispatch import ThreadDispatcher

        with self._lock:
            if self._state is not ActorState.NEW:
                raise RuntimeError(
                    f"actor {self.name!r} is {self._state.value}; only a new actor "
                    "can be started"
                )
            self._state = ActorState.STARTING
        if dispatcher is None:
            dispatcher = ThreadDispatcher()
        try:
            dispatcher.attach(self, thread_name)
        except BaseException:
            with self._lock:
                if self._state is ActorState.STARTING:
                    self._state = ActorState.NEW
            raise
        return self

    def request_stop(self, drain: bool = True) -> None:
        """Ask the actor to stop and return at once; safe from any thread.

        With ``drain`` the messages already accepted are processed first;
        without it they are taken out now and reported in ``undelivered``.
        Later calls do nothing.
        """
        with self._lock:
            state = self._state
            if self._stop_requested or state.terminal:
                return
            self._stop_requested = True
            if state is not ActorState.STOPPING:
                # From NEW too, so that a racing start() finds it is too late.
                self._state = ActorState.STOPPING
        self.mailbox.close()
        if state is ActorState.NEW:
            self._finish(_STOPPED)
            return
        if not drain:
            taken = self.mailbox.take_pending(_STOP)
            if taken:
                with self._lock:
                    self._undelivered.extend(taken)
                logger.debug(
                    "actor %r stops without draining; %d pending message(s) "
                    "undelivered",
                    self.name,
                    len(taken),
                )
        self.mailbox.put_control(_STOP)

    def join(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds for the actor to end; True if it has.

        For a thread-dispatched actor this also joins its thread, so True means
        the thread is gone too. None waits without limit.
        """
        deadline = None if timeout is None else monotonic() + timeout
        if not self._done.wait(timeout):
            return False
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        remaining = None if deadline is None else max(deadline - monotonic(), 0.0)
        thread.join(remaining)
        return not thread.is_alive()

    def stop(
        self, drain: bool = True, timeout: float = DEFAULT_STOP_TIMEOUT
    ) -> list[object]:
        """Stop the actor and wait for it; return the undelivered messages.

        Raises ``ShutdownTimeout`` with the actor's stack when it has not ended
        within ``timeout`` seconds (it keeps its stop request and may end
        later). Called from the actor's own thread it only requests the stop
        and returns an empty list, since waiting would deadlock.
        """
        self.request_stop(drain)
        if self.runs_on_current_thread():
            return []
        token = None
        if hooks.listener is not None:
            token = hooks.wait_started(hooks.WAIT_STOP, self.name)
        try:
            ended = self.join(timeout)
        finally:
            hooks.wait_ended(token)
        if not ended:
            raise ShutdownTimeout(describe_stuck([self], timeout))
        return self.undelivered

    def add_done_callback(self, callback: Callable[[Actor], object]) -> None:
        """Call ``callback(actor)`` once the actor has ended.

        It runs on the actor's thread as its last act, or at once on the
        caller's thread when the actor has already ended. An exception in it
        is logged and otherwise ignored.
        """
        with self._lock:
            if not self._state.terminal:
                self._done_callbacks.append(callback)
                return
        _call_done_callback(callback, self)

    # -- the loop, called by dispatchers ---------------------------------------

    def _run_on_thread(self) -> None:
        """Run the whole life of the actor on the calling (dedicated) thread."""
        mailbox = self.mailbox
        self._running_ident = ident = threading.get_ident()
        mailbox.bind_consumer(ident)
        outcome = _FAILED
        try:
            outcome = self._start_behaviour()
            while outcome <= _EMPTY:
                if outcome == _EMPTY:
                    mailbox.park()
                outcome = self._turn()
        except BaseException as error:
            # Exception is handled inside _turn; this is SystemExit and kin.
            self._failure = error
            logger.exception("actor %r: %r escaped its loop", self.name, error)
            outcome = _FAILED
        finally:
            self._finish(outcome)

    def _run_turn(self) -> bool:
        """Run one turn on a pool worker; return True to be queued for another."""
        mailbox = self.mailbox
        self._running_ident = ident = get_ident()
        mailbox.bind_consumer(ident)
        try:
            outcome = self._turn() if self._started else self._start_behaviour()
        except BaseException as error:
            self._failure = error
            logger.exception("actor %r: %r escaped its turn", self.name, error)
            outcome = _FAILED
        if outcome <= _EMPTY:
            # Release the identity before the actor can be scheduled again.
            self._running_ident = None
            mailbox.release_consumer()
            if outcome == _MORE:
                return True
            # Idle unless a message arrived meanwhile; once idle, the next put
            # queues the actor through the wake callback, exactly once.
            return not mailbox.try_idle()
        self._finish(outcome)
        return False

    def _start_behaviour(self) -> int:
        self._started = True
        try:
            if self._handler_factory is not None:
                self._handler = self._handler_factory()
            self._receive = self._handler if self._handler is not None else self.receive
            self.on_start()
        except Exception as error:
            return self._crashed(error)
        self._live = True
        with self._lock:
            if self._state is ActorState.STARTING:
                self._state = ActorState.RUNNING
        logger.debug("actor %r started", self.name)
        return _MORE

    def _turn(self) -> int:
        """Process up to one batch of messages."""
        mailbox = self.mailbox
        pop = mailbox.pop
        size = mailbox.size
        receive = self._receive
        stop = _STOP
        left = self._batch_size
        count = 0
        # Hot loop: local names only and one C-level pop per message. The
        # length is read once per run of messages, so reaching an empty
        # mailbox costs no IndexError (about 0.7 us each on 3.13). The
        # processed counter is updated once per batch, in the finally clause.
        try:
            while left:
                available = size()
                if not available:
                    return _EMPTY
                if available > left:
                    available = left
                left -= available
                for _ in range(available):
                    try:
                        message = pop()
                    except IndexError:
                        # A stop without drain took the messages meanwhile.
                        return _EMPTY
                    if message is stop:
                        mailbox.control_taken()
                        return _STOPPED
                    count += 1
                    receive(message)
            return _MORE
        except Exception as error:
            return self._crashed(error)
        finally:
            mailbox.consumed(count)

    def _crashed(self, error: Exception) -> int:
        """Handle a crash on the actor's thread: restart it or let it fail."""
        while True:
            logger.error("actor %r crashed: %r", self.name, error, exc_info=error)
            handler = self._failure_handler
            restart = False
            if handler is not None:
                try:
                    restart = handler(self, error)
                except Exception:
                    logger.exception(
                        "failure handler of actor %r raised; the actor fails",
                        self.name,
                    )
            if not restart:
                self._failure = error
                return _FAILED
            try:
                self.on_restart(error)
            except Exception as again:
                error = again
                continue
            self._restarts += 1
            self._live = True
            with self._lock:
                if self._state is ActorState.STARTING:
                    self._state = ActorState.RUNNING
            return _MORE

    def _finish(self, outcome: int) -> None:
        """End the actor: hooks, final sweep of the mailbox, state, callbacks."""
        failed = outcome == _FAILED
        if self._live:
            self._live = False
            if failed and self._failure is not None:
                self._call_hook("on_failure", self.on_failure, self._failure)
            if not self._call_hook("on_stop", self.on_stop):
                failed = True
        left = self.mailbox.finish(_STOP)
        state = ActorState.FAILED if failed else ActorState.STOPPED
        with self._lock:
            self._undelivered.extend(left)
            undelivered = len(self._undelivered)
            self._state = state
            callbacks = self._done_callbacks
            self._done_callbacks = []
        if failed:
            logger.error(
                "actor %r failed (%d message(s) undelivered)", self.name, undelivered
            )
        else:
            logger.debug(
                "actor %r stopped (%d message(s) undelivered)", self.name, undelivered
            )
        self._running_ident = None
        for callback in callbacks:
            _call_done_callback(callback, self)
        self._done.set()

    def _call_hook(self, what: str, hook: Callable[..., object], *args: object) -> bool:
        try:
            hook(*args)
        except Exception as error:
            logger.exception("actor %r: %s raised %r", self.name, what, error)
            if self._failure is None:
                self._failure = error
            return False
        return True

    def _stack_text(self) -> str:
        ident = self._running_ident
        if ident is None:
            return "    (not running on any thread right now)\n"
        return stack_of(ident)


def _call_done_callback(callback: Callable[[Actor], object], actor: Actor) -> None:
    try:
        callback(actor)
    except Exception:
        logger.exception("done callback %r of actor %r raised", callback, actor.name)


def stack_of(ident: int | None) -> str:
    """Return the current stack of the thread with identifier ``ident``."""
    frame = None if ident is None else sys._current_frames().get(ident)
    if frame is None:
        return "    (the thread is not running)\n"
    return "".join(traceback.format_stack(frame))


def describe_stuck(actors: Iterable[Actor], timeout: float) -> str:
    """Return a report naming each actor that did not stop, with its stack."""
    stuck = list(actors)
    names = ", ".join(f"{a.name!r} ({a.state.value})" for a in stuck)
    lines = [f"{len(stuck)} actor(s) did not stop within {timeout} s: {names}"]
    for actor in stuck:
        thread = actor.thread
        where = f" on thread {thread.name!r}" if thread is not None else ""
        lines.append(f"\nstack of actor {actor.name!r}{where}:\n{actor._stack_text()}")
    return "\n".join(lines)
