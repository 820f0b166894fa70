"""Generic actor kernel: mailboxes, actors, dispatchers, supervisors, timers.

It imports nothing from the statechart modules; ``statechartx.runtime``
builds on it.

Logging goes to ``statechartx.actors`` and its per-module children, with
this level policy: supervisor and pool starts and stops at INFO; actor starts
and stops at DEBUG, because a program may run 100,000 actors; restarts and
the first, second, fourth... dropped message of a mailbox at WARNING; crashes,
escalations and stop timeouts at ERROR. Nothing is logged per message.
"""

import logging

from .actor import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_STOP_TIMEOUT,
    Actor,
    ActorState,
    FailureHandler,
)
from .dispatch import Dispatcher, PoolDispatcher, ThreadDispatcher
from .hooks import WaitListener, set_wait_listener
from .mailbox import DEFAULT_PUT_TIMEOUT, Mailbox, MailboxStats, OverflowPolicy
from .supervisor import Strategy, Supervisor, SupervisorState
from .timers import TimerService

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_PUT_TIMEOUT",
    "DEFAULT_STOP_TIMEOUT",
    "Actor",
    "ActorState",
    "Dispatcher",
    "FailureHandler",
    "Mailbox",
    "MailboxStats",
    "OverflowPolicy",
    "PoolDispatcher",
    "Strategy",
    "Supervisor",
    "SupervisorState",
    "ThreadDispatcher",
    "TimerService",
    "WaitListener",
    "set_wait_listener",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
