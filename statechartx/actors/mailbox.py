"""Mailbox: a deque that many producers append to and one consumer drains.

Thread-safety assumptions, which hold on the GIL build and on free-threaded
CPython 3.13t alike (checked in the CPython 3.13.5 source,
``Modules/_collectionsmodule.c``):

- ``deque.append``, ``deque.popleft`` and ``deque.extend`` each run under
  the deque's own lock (a per-object critical section on the free-threaded
  build, the GIL otherwise). They are atomic, and they order memory: what a
  thread wrote before one of these calls is visible to a thread that makes
  one of them later on the same deque. ``extend(())`` takes the lock and
  changes nothing, which makes it a cheap ordering point.
- ``len(deque)`` is an atomic read without that ordering. Alone it decides
  nothing about parking; after ``extend(())`` it sees every append that took
  the lock before.
- A plain ``+=`` on an attribute is not atomic once two threads write it.
  Each counter here therefore has one writer at a time: ``_processed`` is
  written by the consumer only, ``_rejected`` and ``_dropped`` only under
  ``_lock`` (the slow paths). Producers on the fast path write nothing but
  the deque, so ``sent`` is derived: every message that was ever offered was
  processed, rejected, dropped or is still pending.

Parking without a lost wake-up. The consumer sets ``_parked``, calls
``extend(())`` and re-checks ``len``; a producer appends and then reads
``_parked``. Both deque calls take the deque's lock, so one of them comes
first: if the append does, the re-check sees the message and the consumer
does not sleep; if the re-check does, the store to ``_parked`` happened before
it and the producer's read after its append sees True and wakes the consumer.
Clearing ``_parked`` and waking happen under ``_park_lock``, so exactly one
party (a producer, or the consumer cancelling its park) clears it, and the
pool dispatcher's wake callback runs exactly once per idle period.
"""

from __future__ import annotations

import logging
import reprlib
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic
from typing import Final, Literal

from ..errors import MailboxClosed, MailboxFull
from . import hooks

__all__ = ["DEFAULT_PUT_TIMEOUT", "Mailbox", "MailboxStats", "OverflowPolicy"]

logger = logging.getLogger(__name__)

OverflowPolicy = Literal["block", "reject", "drop_oldest"]
_POLICIES: Final = ("block", "reject", "drop_oldest")

#: How long ``put`` waits for space under the "block" policy when the caller
#: gives no timeout: long enough to ride out a consumer's slow batch or a
#: collector pause, short enough that a stuck consumer shows up as an error.
DEFAULT_PUT_TIMEOUT: Final = 5.0


class _NoMarker:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<no marker>"


# Default of the ``marker`` parameters: matches no message, None included.
_NO_MARKER: Final = _NoMarker()


@dataclass(frozen=True, slots=True)
class MailboxStats:
    """Counters of one mailbox at one moment.

    ``sent == processed + rejected + dropped + pending`` always holds,
    because ``sent`` is that sum. The test of the accounting is that ``sent``
    equals the number of ``put`` calls made. Fields are read one after the
    other without stopping producers, so while messages flow a snapshot may
    miss a batch that the consumer holds. Once the mailbox is quiet the
    figures are exact.
    """

    name: str
    sent: int
    processed: int
    rejected: int
    dropped: int
    pending: int
    capacity: int | None


class Mailbox:
    """An actor's message queue: a ``collections.deque`` plus parking.

    Any thread may ``put``. One consumer at a time pops: an actor's thread,
    or the pool worker that runs the actor's turn. Stop and the
    ``drop_oldest`` policy also remove messages, always under ``_lock``.

    Bounded mailboxes take ``_lock`` on every put, which keeps the capacity
    exact and the counters consistent; unbounded ones take no lock unless the
    consumer is parked. Policies for a full mailbox:

    - ``"block"``: wait up to the timeout for space, then raise ``MailboxFull``;
    - ``"reject"``: raise ``MailboxFull`` at once;
    - ``"drop_oldest"``: remove the oldest pending message to make room.

    Limitations: a put that races with ``close`` may still append; the
    message is then counted as dropped (never lost without a count).
    """

    __slots__ = (
        "__weakref__",
        "_append",
        "_capacity",
        "_closed",
        "_consumer_ident",
        "on_drop",
        "_control",
        "_deque",
        "_extend",
        "_dropped",
        "_final",
        "_gate",
        "_limit",
        "_lock",
        "_not_full",
        "_notify_space",
        "_park_lock",
        "_parked",
        "_policy",
        "_popleft",
        "_processed",
        "_put_timeout",
        "_rejected",
        "_space_waiters",
        "_wake",
        "_wakeup",
        "name",
        "pop",
        "size",
    )

    # Consumer side: remove and return the oldest message; IndexError if empty.
    # It is the deque's own ``popleft``, so a pop costs one C call.
    pop: Callable[[], object]
    # Number of entries in the deque (control markers included): the deque's
    # own ``__len__``, an atomic read that orders nothing (see module docstring).
    size: Callable[[], int]

    def __init__(
        self,
        name: str = "mailbox",
        *,
        capacity: int | None = None,
        policy: OverflowPolicy = "block",
        put_timeout: float = DEFAULT_PUT_TIMEOUT,
    ) -> None:
        if capacity is not None and (not isinstance(capacity, int) or capacity < 1):
            raise ValueError(
                f"mailbox {name!r}: capacity must be a positive int or None, "
                f"got {capacity!r}"
            )
        if policy not in _POLICIES:
            raise ValueError(
                f"mailbox {name!r}: policy must be one of {', '.join(_POLICIES)}, "
                f"got {policy!r}"
            )
        if not put_timeout >= 0:
            raise ValueError(
                f"mailbox {name!r}: put_timeout must be >= 0 seconds, "
                f"got {put_timeout!r}"
            )

        self.name = name
        self._deque: deque[object] = deque()
        self._append = self._deque.append
        self._popleft = self._deque.popleft
        self._extend = self._deque.extend
        self.pop = self._popleft
        self.size = self._deque.__len__
        self._capacity = capacity
        # The capacity check compares with this; no deque reaches maxsize.
        self._limit = sys.maxsize if capacity is None else capacity
        self._policy: OverflowPolicy = policy
        self._put_timeout = put_timeout

        # True sends every put down the locked path: set for bounded
        # mailboxes from the start and for all once closed.
        self._gate = capacity is not None
        self._closed = False
        self._final = False
        self._parked = False
        self._park_lock = threading.Lock()
        # A binary semaphore: locked while no wake-up is pending. The consumer
        # blocks acquiring it; a producer releases it to wake the consumer.
        self._wakeup = threading.Lock()
        self._wakeup.acquire()
        self._wake: Callable[[], object] | None = None

        self._lock = threading.Lock()
        self._not_full = threading.Condition(self._lock)
        self._space_waiters = 0
        self._notify_space = capacity is not None and policy == "block"
        self._processed = 0
        self._rejected = 0
        self._dropped = 0
        self._control = 0
        self._consumer_ident: int | None = None
        #: Called with each message the "drop_oldest" policy evicts, under the
        #: mailbox lock; the owner uses it to fail requests that will never be processed.
        self.on_drop: Callable[[object], object] | None = None

    def __repr__(self) -> str:
        return (
            f"<Mailbox {self.name!r} pending={self.pending} "
            f"capacity={self._capacity} policy={self._policy}>"
        )

    # -- producer side -----------------------------------------------------

    def put(self, message: object, timeout: float | None = None) -> None:
        """Append ``message``; wake the consumer if it is parked.

        ``timeout`` (seconds) bounds the wait for space of the "block" policy;
        None means the mailbox's ``put_timeout``. Raises ``MailboxFull`` when
        a bounded mailbox has no room under its policy and ``MailboxClosed``
        once the actor is stopping or stopped.
        """
        # Hot path, unbounded and open: one C-level append and one flag read.
        # Bounded: the same inside _lock, with the full and closed cases out
        # of line. Locks (beyond a bounded put's own) and system calls are
        # only on the slow paths (see module docstring).
        if self._gate:
            # acquire/release in try/finally: about half the cost of "with"
            # on 3.13, measured with timeit.
            lock = self._lock
            lock.acquire()
            try:
                if self._closed or len(self._deque) >= self._limit:
                    self._put_full_or_closed_locked(message, timeout)
                else:
                    self._append(message)
            finally:
                lock.release()
        else:
            self._append(message)
        if self._parked:
            self._unpark()

    def _put_full_or_closed_locked(
        self, message: object, timeout: float | None
    ) -> None:
        if self._closed:
            self._rejected += 1
            raise MailboxClosed(
                f"mailbox {self.name!r} is closed: its actor is stopping or "
                f"stopped, so the message {reprlib.repr(message)} was rejected"
            )
        capacity = self._limit
        if self._policy == "reject":
            self._rejected += 1
            raise MailboxFull(
                f"mailbox {self.name!r} is full ({capacity} messages); "
                f"message {reprlib.repr(message)} rejected"
            )
        if self._policy == "drop_oldest":
            self._drop_oldest_locked(capacity)
        else:
            self._wait_for_space_locked(message, capacity, timeout)
        self._append(message)

    def put_unbounded(self, message: object) -> None:
        """Append ``message`` past the capacity check, never waiting.

        For the few messages an owner must not lose to its own overflow
        policy, such as requests a caller waits on. Raises ``MailboxClosed``
        once the actor is stopping or stopped; counts like any message.
        """
        with self._lock:
            if self._closed:
                self._rejected += 1
                raise MailboxClosed(
                    f"mailbox {self.name!r} is closed: its actor is stopping or "
                    f"stopped, so the message {reprlib.repr(message)} was rejected"
                )
            self._append(message)
        if self._parked:
            self._unpark()

    def _drop_oldest_locked(self, capacity: int) -> None:
        try:
            dropped_message = self._popleft()
        except IndexError:
            # The consumer emptied the deque after the length check.
            return
        on_drop = self.on_drop
        if on_drop is not None:
            # Under the lock, so keep it short: it only fails a waiter.
            try:
                on_drop(dropped_message)
            except Exception:  # noqa: BLE001 - a hook must not break the producer
                logger.exception("on_drop hook of mailbox %r raised", self.name)
        self._dropped += 1
        dropped = self._dropped
        # Log on the 1st, 2nd, 4th, 8th... drop so an overload leaves a
        # logarithmic trail instead of one line per message.
        if dropped & (dropped - 1) == 0:
            logger.warning(
                "mailbox %r is full (%d messages) and dropped its oldest "
                "message; %d dropped so far",
                self.name,
                capacity,
                dropped,
            )

    def _wait_for_space_locked(
        self, message: object, capacity: int, timeout: float | None
    ) -> None:
        limit = self._put_timeout if timeout is None else timeout
        if self._consumer_ident == threading.get_ident():
            self._rejected += 1
            raise MailboxFull(
                f"mailbox {self.name!r} is full ({capacity} messages) and the "
                f"put comes from its own consumer, which would wait on itself; "
                f"message {reprlib.repr(message)} rejected"
            )
        deadline = monotonic() + limit
        token = None
        if hooks.listener is not None:
            token = hooks.wait_started(hooks.WAIT_MAILBOX_FULL, self.name)
        self._space_waiters += 1
        try:
            while len(self._deque) >= capacity:
                if self._closed:
                    self._rejected += 1
                    raise MailboxClosed(
                        f"mailbox {self.name!r} was closed while a put waited "
                        f"for space; message {reprlib.repr(message)} rejected"
                    )
                remaining = deadline - monotonic()
                if remaining <= 0:
                    self._rejected += 1
                    raise MailboxFull(
                        f"mailbox {self.name!r} stayed full ({capacity} messages) "
                        f"for {limit} s; message {reprlib.repr(message)} rejected"
                    )
                self._not_full.wait(remaining)
        finally:
            self._space_waiters -= 1
            hooks.wait_ended(token)

    def _unpark(self) -> None:
        # Slow path: runs only when a producer saw the consumer parked.
        # acquire/release rather than "with": about half the cost on 3.13.
        park_lock = self._park_lock
        park_lock.acquire()
        try:
            if not self._parked:
                return
            if self._final:
                # The consumer has finished; this put raced with it.
                self._sweep_late_locked()
                return
            self._parked = False
            wake = self._wake
            if wake is None:
                self._wakeup.release()
                return
        finally:
            park_lock.release()
        wake()

    def _sweep_late_locked(self) -> None:
        with self._lock:
            late = self._take_all()
        if late:
            logger.warning(
                "mailbox %r: %d message(s) arrived after its actor finished "
                "and were dropped",
                self.name,
                len(late),
            )

    # -- consumer side -----------------------------------------------------

    def bind_wake(self, wake: Callable[[], object]) -> None:
        """Call ``wake()`` instead of releasing a parked consumer.

        The pool dispatcher sets a callback that queues the actor's next turn;
        a put to an idle mailbox calls it exactly once. Set it before the
        consumer first goes idle.
        """
        self._wake = wake

    def bind_consumer(self, ident: int) -> None:
        """Record the thread with identifier ``ident`` as the consumer.

        A "block" put from the consumer itself then fails at once instead of
        waiting on itself.
        """
        self._consumer_ident = ident

    def release_consumer(self) -> None:
        """Forget the consumer thread; a pool worker calls it after a turn."""
        self._consumer_ident = None

    def consumed(self, count: int) -> None:
        """Record that the consumer processed ``count`` messages (once per batch)."""
        # One add per batch instead of per message; only the consumer writes it.
        self._processed += count
        if self._notify_space:
            # A full "block" mailbox may have producers waiting for room. The
            # lock orders this check with their wait, so none is missed.
            lock = self._lock
            lock.acquire()
            try:
                if self._space_waiters:
                    self._not_full.notify(max(count, 1))
            finally:
                lock.release()

    def park(self, timeout: float | None = None) -> bool:
        """Block the consumer until a message arrives or ``timeout`` passes.

        Returns True when a message may be waiting, False on timeout. A
        thread-dispatched actor calls it when its deque is empty.
        """
        if not self._park_or_continue():
            return True
        token = None
        if hooks.listener is not None:
            token = hooks.wait_started(hooks.WAIT_PARK, self.name)
        try:
            # The single system call of an idle actor: sleep on the semaphore
            # until a producer that saw ``_parked`` releases it.
            if self._wakeup.acquire(True, -1 if timeout is None else timeout):
                return True
        finally:
            hooks.wait_ended(token)
        with self._park_lock:
            if self._parked:
                self._parked = False
                return False
        # A producer cleared ``_parked`` and released the semaphore under
        # ``_park_lock`` after the timeout; consume that release so that the
        # next park blocks again.
        self._wakeup.acquire(False)
        return True

    def try_idle(self) -> bool:
        """Mark the consumer idle unless a message is pending.

        Returns True when the actor is now idle: the next put calls the wake
        callback. Returns False when a message arrived, and the caller must
        go on consuming. The pool dispatcher calls it at the end of a turn.
        """
        return self._park_or_continue()

    def _park_or_continue(self) -> bool:
        park_lock = self._park_lock
        park_lock.acquire()
        try:
            self._parked = True
            # Re-check after the store: extend(()) takes the deque's lock, so
            # the len() after it sees any append that a producer finished
            # before (see module docstring); it costs no exception when empty.
            self._extend(())
            if not self._deque:
                return True
            self._parked = False
            return False
        finally:
            park_lock.release()

    # -- stop protocol -----------------------------------------------------

    def close(self) -> bool:
        """Reject further puts with ``MailboxClosed``; False if already closed.

        Producers blocked on a full mailbox wake and get ``MailboxClosed``.
        """
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            self._gate = True
            self._not_full.notify_all()
        return True

    def put_control(self, marker: object) -> None:
        """Append a control marker (the stop sentinel), even when closed or full.

        Control markers are not messages: they count in no statistic. At most
        one may be pending at a time.
        """
        with self._lock:
            if self._final:
                # The consumer has finished already; there is nothing to stop.
                return
            self._control += 1
            self._append(marker)
        if self._parked:
            self._unpark()

    def control_taken(self) -> None:
        """Record that the consumer popped the control marker."""
        with self._lock:
            self._control -= 1

    def take_pending(self, marker: object = _NO_MARKER) -> list[object]:
        """Remove and return every pending message, counting each as dropped.

        ``marker``, if given, is a control marker to leave out of the result.
        Used by ``stop(drain=False)`` from any thread; the consumer may pop
        concurrently, and each message goes to exactly one of them.
        """
        with self._lock:
            return self._take_all(marker)

    def _take_all(self, marker: object = _NO_MARKER) -> list[object]:
        # Caller holds _lock. Pops until empty; a control marker is left out
        # of the result and of the dropped count. It pops from the right end
        # while the consumer may still pop from the left, so the consumer
        # processes a prefix of the messages and the result is the suffix:
        # no message after a taken one is processed.
        taken: list[object] = []
        pop = self._deque.pop
        while True:
            try:
                message = pop()
            except IndexError:
                break
            if message is marker:
                self._control -= 1
            else:
                taken.append(message)
        taken.reverse()
        self._dropped += len(taken)
        return taken

    def finish(self, marker: object = _NO_MARKER) -> list[object]:
        """Close the mailbox for good; return the messages left in it.

        The consumer calls it last. The returned messages are counted as
        dropped. Afterwards ``_parked`` stays True, so a put that raced past
        the closed check lands on the slow path and sweeps its own message.
        """
        with self._park_lock:
            self._final = True
            self._parked = True
            with self._lock:
                self._closed = True
                self._gate = True
                self._not_full.notify_all()
                left = self._take_all(marker)
        self._consumer_ident = None
        return left

    # -- observation -------------------------------------------------------

    @property
    def pending(self) -> int:
        """Number of messages waiting (an atomic read of the deque's length)."""
        return max(len(self._deque) - self._control, 0)

    @property
    def capacity(self) -> int | None:
        """Maximum number of pending messages, or None when unbounded."""
        return self._capacity

    @property
    def policy(self) -> OverflowPolicy:
        """What a put does when the mailbox is full."""
        return self._policy

    @property
    def closed(self) -> bool:
        """True once the mailbox rejects new messages."""
        return self._closed

    def stats(self) -> MailboxStats:
        """Return a snapshot of the counters; see ``MailboxStats``."""
        processed = self._processed
        rejected = self._rejected
        dropped = self._dropped
        pending = max(len(self._deque) - self._control, 0)
        return MailboxStats(
            name=self.name,
            sent=processed + rejected + dropped + pending,
            processed=processed,
            rejected=rejected,
            dropped=dropped,
            pending=pending,
            capacity=self._capacity,
        )
