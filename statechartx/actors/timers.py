"""TimerService: one thread, a heap and a condition for every delayed callback.

A supervisor owns one ``TimerService``. Every delayed event of its actors
(a ``send`` with a delay, SCXML ``<send delay>``) is one entry in its heap,
so 10,000 pending timers still cost one thread. The thread starts with the
first ``schedule``.

Callbacks run on the timer thread, one at a time, outside the lock. They
must be short: the intended callback posts a message into a mailbox. An
exception in a callback is logged and the thread goes on.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
from collections.abc import Callable
from time import monotonic
from typing import Final

from ..errors import ShutdownTimeout
from . import hooks
from .actor import DEFAULT_STOP_TIMEOUT, stack_of

__all__ = ["TimerService"]

logger = logging.getLogger(__name__)

# Rebuild the heap once cancelled entries are this many and more than half of
# it, so a stream of cancelled long delays cannot grow it without bound.
_COMPACT_MIN: Final = 64


class TimerService:
    """Run callbacks after a delay, in due order, on one lazily started thread.

    Callbacks due at the same instant run in the order they were scheduled.
    ``cancel`` returning True guarantees the callback will not run. After
    ``shutdown`` returns, no callback runs.
    """

    def __init__(self, name: str = "timers") -> None:
        self.name = name
        self._cond = threading.Condition(threading.Lock())
        # (due time, timer id); ids increase, which orders ties by scheduling.
        self._heap: list[tuple[float, int]] = []
        self._entries: dict[int, tuple[Callable[[], object], object]] = {}
        self._by_owner: dict[object, set[int]] = {}
        self._next_id = 1
        self._cancelled_in_heap = 0
        self._thread: threading.Thread | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<TimerService {self.name!r} pending={len(self._entries)}>"

    @property
    def thread(self) -> threading.Thread | None:
        """The timer thread, or None before the first ``schedule``."""
        return self._thread

    @property
    def closed(self) -> bool:
        """True once ``shutdown`` was called."""
        return self._closed

    def schedule(
        self,
        delay: float,
        callback: Callable[[], object],
        *,
        owner: object = None,
    ) -> int:
        """Run ``callback()`` on the timer thread after ``delay`` seconds.

        A delay of zero or less runs it as soon as the thread gets to it.
        ``owner`` (any hashable object) groups timers for ``cancel_owner``.
        Returns the timer id for ``cancel``.
        """
        if not isinstance(delay, (int, float)) or not math.isfinite(delay):
            raise ValueError(
                f"timer service {self.name!r}: delay must be a finite number of "
                f"seconds, got {delay!r}"
            )
        if not callable(callback):
            raise TypeError(
                f"timer service {self.name!r}: callback must be callable, "
                f"got {callback!r}"
            )
        due = monotonic() + max(delay, 0.0)
        with self._cond:
            if self._closed:
                raise RuntimeError(
                    f"timer service {self.name!r} is shut down; cannot schedule "
                    f"{callback!r}"
                )
            timer_id = self._next_id
            self._next_id += 1
            heapq.heappush(self._heap, (due, timer_id))
            self._entries[timer_id] = (callback, owner)
            if owner is not None:
                self._by_owner.setdefault(owner, set()).add(timer_id)
            if self._thread is None:
                try:
                    self._start_thread()
                except BaseException:
                    del self._entries[timer_id]
                    self._forget_owner(timer_id, owner)
                    self._cancelled_in_heap += 1
                    raise
            elif self._heap[0][1] == timer_id:
                # The new timer is the earliest: shorten the thread's wait.
                self._cond.notify()
        return timer_id

    def _start_thread(self) -> None:
        thread = threading.Thread(
            target=self._run, name=f"timers:{self.name}", daemon=False
        )
        thread.start()
        self._thread = thread
        logger.debug("timer service %r started its thread", self.name)

    def cancel(self, timer_id: int) -> bool:
        """Cancel a timer; True if it was pending and now will not run."""
        with self._cond:
            entry = self._entries.pop(timer_id, None)
            if entry is None:
                return False
            self._forget_owner(timer_id, entry[1])
            self._cancelled_in_heap += 1
            self._compact_if_sparse()
            return True

    def cancel_owner(self, owner: object) -> int:
        """Cancel every pending timer of ``owner``; return how many."""
        with self._cond:
            timer_ids = self._by_owner.pop(owner, set())
            for timer_id in timer_ids:
                del self._entries[timer_id]
            self._cancelled_in_heap += len(timer_ids)
            self._compact_if_sparse()
            return len(timer_ids)

    def pending(self) -> int:
        """Number of timers scheduled and neither fired nor cancelled."""
        with self._cond:
            return len(self._entries)

    def _forget_owner(self, timer_id: int, owner: object) -> None:
        if owner is None:
            return
        timer_ids = self._by_owner.get(owner)
        if timer_ids is not None:
            timer_ids.discard(timer_id)
            if not timer_ids:
                del self._by_owner[owner]

    def _compact_if_sparse(self) -> None:
        cancelled = self._cancelled_in_heap
        if cancelled >= _COMPACT_MIN and cancelled * 2 > len(self._heap):
            entries = self._entries
            self._heap = [item for item in self._heap if item[1] in entries]
            heapq.heapify(self._heap)
            self._cancelled_in_heap = 0

    def _next_due_locked(self) -> Callable[[], object] | None:
        """Wait for the earliest timer to fall due and pop it; None at shutdown."""
        while not self._closed:
            heap = self._heap
            if not heap:
                self._cond.wait()
                continue
            due, timer_id = heap[0]
            if timer_id not in self._entries:
                heapq.heappop(heap)
                self._cancelled_in_heap -= 1
                continue
            delay = due - monotonic()
            if delay > 0:
                self._cond.wait(delay)
                continue
            heapq.heappop(heap)
            callback, owner = self._entries.pop(timer_id)
            self._forget_owner(timer_id, owner)
            return callback
        return None

    def _run(self) -> None:
        while True:
            with self._cond:
                callback = self._next_due_locked()
            if callback is None:
                return
            try:
                callback()
            except Exception:
                logger.exception(
                    "timer service %r: callback %r raised", self.name, callback
                )

    def shutdown(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        """Discard pending timers and end the thread, waiting up to ``timeout`` s.

        A callback already running finishes first. Raises ``ShutdownTimeout``
        with the thread's stack if it is still running after ``timeout``.
        Called from a callback on the timer thread it cannot wait for itself:
        it discards the timers and returns, and the thread ends after the
        callback.
        """
        with self._cond:
            self._closed = True
            discarded = len(self._entries)
            self._entries.clear()
            self._by_owner.clear()
            self._heap.clear()
            self._cancelled_in_heap = 0
            self._cond.notify_all()
            thread = self._thread
        if discarded:
            logger.debug(
                "timer service %r discarded %d pending timer(s)", self.name, discarded
            )
        if thread is None or thread is threading.current_thread():
            return
        token = None
        if hooks.listener is not None:
            token = hooks.wait_started(hooks.WAIT_STOP, thread.name)
        try:
            thread.join(timeout)
        finally:
            hooks.wait_ended(token)
        if thread.is_alive():
            raise ShutdownTimeout(
                f"timer thread {thread.name!r} did not end within {timeout} s; "
                f"a callback is still running:\n{stack_of(thread.ident)}"
            )
