"""Exception classes of statechartx.

The tree is small on purpose; each class has one meaning:

- ``ChartError``: the chart (or an SCXML document) is invalid; raised while
  building a ``Machine``, before anything runs.
- ``InterpreterNotRunning``: an event was sent to an interpreter or runtime
  that has not been started or has already finished.
- ``MacrostepLimitError``: a macrostep did not reach a stable configuration
  within the microstep cap, which almost always means an eventless cycle.
- ``MailboxFull``, ``MailboxClosed``, ``ShutdownTimeout``, ``LeakError``,
  ``ActorCrashed``, ``EscalatedFailure``: the actor kernel's failures.
"""

from __future__ import annotations

__all__ = [
    "StatechartxError",
    "ChartError",
    "InterpreterNotRunning",
    "MacrostepLimitError",
    "MailboxFull",
    "ShutdownTimeout",
    "LeakError",
    "ActorCrashed",
    "MailboxClosed",
    "EscalatedFailure",
]


class StatechartxError(Exception):
    """Base class of every error that statechartx raises on purpose."""


class ChartError(StatechartxError, ValueError):
    """The chart is invalid; the message names the state and the fault."""


class InterpreterNotRunning(StatechartxError, RuntimeError):
    """An event was sent before ``start()`` or after the machine finished."""


class MacrostepLimitError(StatechartxError, RuntimeError):
    """A macrostep exceeded its microstep cap (an eventless or raise cycle).

    ``states`` lists the ids of the states that the last microsteps before the
    cap entered and exited, which is where the cycle is.
    """

    def __init__(self, message: str, states: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.states = states


class MailboxFull(StatechartxError):
    """A bounded mailbox rejected a message under its overflow policy."""


class ShutdownTimeout(StatechartxError, TimeoutError):
    """Actors did not stop within the timeout; the message names each one."""


class LeakError(StatechartxError, AssertionError):
    """A leak check found threads, actors, messages or objects left behind."""


class ActorCrashed(StatechartxError, RuntimeError):
    """An exception escaped an actor's receive loop."""


class MailboxClosed(StatechartxError, RuntimeError):
    """A message was sent to an actor that is stopping or has stopped."""


class EscalatedFailure(StatechartxError, RuntimeError):
    """A crash escalated past the top supervisor, which is now failed.

    ``__cause__`` is the exception that escaped the actor.
    """
