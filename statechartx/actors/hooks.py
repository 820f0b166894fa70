"""Hook point for wait spans: park, mailbox full and stop.

The actor kernel never imports a tracer. It reads the module attribute
``listener`` once per park, per blocked ``put`` and per ``stop``. While it is
``None``, a wait costs one global load and one comparison. The tracing module
installs a listener with ``set_wait_listener`` to turn waits into spans.

A listener that raises is detached and logged, so a broken tracer cannot kill
an actor.
"""

from __future__ import annotations

import logging
from typing import Protocol

__all__ = [
    "WAIT_MAILBOX_FULL",
    "WAIT_PARK",
    "WAIT_STOP",
    "WaitListener",
    "listener",
    "set_wait_listener",
    "wait_ended",
    "wait_started",
]

logger = logging.getLogger(__name__)

#: A consumer with an empty mailbox blocks until a message arrives.
WAIT_PARK = "park"
#: A producer blocks on a full mailbox whose policy is "block".
WAIT_MAILBOX_FULL = "mailbox_full"
#: A caller of ``stop`` waits for an actor, a pool or a timer thread to end.
WAIT_STOP = "stop"


class WaitListener(Protocol):
    """Receiver of wait spans; both methods run on the waiting thread."""

    def wait_started(self, kind: str, name: str) -> object:
        """Record the start of a wait of ``kind`` by ``name``; return a token."""
        ...

    def wait_ended(self, token: object) -> None:
        """Record the end of the wait that returned ``token``."""
        ...


#: The installed listener, or None. Read without a lock: replacing it is one
#: reference assignment, and a wait that saw the old listener reports to it.
listener: WaitListener | None = None


def set_wait_listener(new: WaitListener | None) -> WaitListener | None:
    """Install ``new`` (or remove the listener with None); return the previous one."""
    global listener
    previous = listener
    listener = new
    return previous


def _detach(current: WaitListener, error: BaseException) -> None:
    global listener
    if listener is current:
        listener = None
    logger.error("wait listener %r raised %r and was detached", current, error)


def wait_started(kind: str, name: str) -> tuple[WaitListener, object] | None:
    """Report the start of a wait; return the token to pass to ``wait_ended``.

    Call it only after checking ``hooks.listener is not None``, which keeps the
    untraced path to one comparison.
    """
    current = listener
    if current is None:
        return None
    try:
        return current, current.wait_started(kind, name)
    except Exception as error:
        _detach(current, error)
        return None


def wait_ended(token: tuple[WaitListener, object] | None) -> None:
    """Report the end of the wait that ``wait_started`` returned ``token`` for."""
    if token is None:
        return
    current, inner = token
    try:
        current.wait_ended(inner)
    except Exception as error:
        _detach(current, error)
