"""statechartx: hierarchical statecharts with W3C SCXML semantics.

Build a chart from ``State``, ``Parallel``, ``Final``, ``History`` and
``Transition``, compile it once into a ``Machine``, and run it with an
``Interpreter`` (synchronous, on the calling thread).
"""

from .chart import Final, History, Parallel, State, Transition
from .errors import (
    ActorCrashed,
    ChartError,
    EscalatedFailure,
    MailboxClosed,
    InterpreterNotRunning,
    LeakError,
    MacrostepLimitError,
    MailboxFull,
    ShutdownTimeout,
    StatechartxError,
)
from .events import Event
from .interpreter import ActionContext, Interpreter, Macrostep, Microstep
from .machine import Machine

__all__ = [
    "ActionContext",
    "ActorCrashed",
    "ChartError",
    "EscalatedFailure",
    "Event",
    "Final",
    "History",
    "Interpreter",
    "InterpreterNotRunning",
    "LeakError",
    "Machine",
    "Macrostep",
    "MacrostepLimitError",
    "MailboxClosed",
    "MailboxFull",
    "Microstep",
    "Parallel",
    "ShutdownTimeout",
    "State",
    "StatechartxError",
    "Transition",
]

__version__ = "0.1.0"
