"""SCXML documents: read them into Machines, write Machines as SCXML.

- ``load(path_or_text, allow_python=False, ...)`` returns a ``Machine`` whose
  guards, actions, datamodel and invocations are compiled from the document.
- ``dump(machine)`` writes a chart as an SCXML document.
- ``SyncSessions`` runs a machine and the sessions it invokes on the calling
  thread, with one virtual clock for delayed events.
- ``RuntimeSessions`` runs each session in its own ``Runtime`` under one
  supervisor, with real-time delays.
"""

from .errors import ScxmlError
from .reader import LoadOptions, load
from .runtime_sessions import RuntimeSessions
from .sessions import SessionRegistry, SyncSessions
from .writer import DumpError, DumpWarning, dump, find_losses

__all__ = [
    "DumpError",
    "DumpWarning",
    "LoadOptions",
    "RuntimeSessions",
    "ScxmlError",
    "SessionRegistry",
    "SyncSessions",
    "dump",
    "find_losses",
    "load",
]
