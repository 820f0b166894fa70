"""``<invoke>`` of SCXML documents.

``ScxmlInvoke`` is the chart-level ``Invoke`` object that the reader puts on
a state's ``invoke`` list. The interpreter calls ``start(ctx)`` after the
macrostep that entered the state. It evaluates the attributes, finds the
child document and has the session registry (``_x.sessions``) start the
child session. The interpreter keeps the returned ``Invocation``: its
``handle_event`` runs ``<finalize>`` for events from the child and, with
``autoforward``, forwards every external event to the child. Its ``cancel``
stops the child when the state is exited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..events import Event
from ..machine import Machine
from .datamodel import Location
from .executable import Block, ParamList, resolve_send_type

__all__ = ["ScxmlInvoke", "Invocation"]

Evaluator = Callable[[dict[str, Any]], Any]


class Invocation:
    """A running invocation, as kept by the parent's interpreter."""

    __slots__ = ("invokeid", "child", "autoforward", "finalize")

    def __init__(self, invokeid: str, child: Any, autoforward: bool, finalize: Block | None) -> None:
        self.invokeid = invokeid
        self.child = child
        self.autoforward = autoforward
        self.finalize = finalize

    def handle_event(self, ctx: Any, event: Event) -> None:
        # Events from the child run <finalize>; autoforward copies every
        # external event to the child, including the child's own.
        if event.invokeid == self.invokeid and self.finalize is not None:
            self.finalize(ctx)
        if self.autoforward:
            self.child.forward(event)

    def cancel(self) -> None:
        self.child.cancel()

    def __repr__(self) -> str:
        return f"<Invocation {self.invokeid!r}>"


class ScxmlInvoke:
    """An ``<invoke>`` element of type SCXML, compiled.

    ``machine`` is the child chart when it is known at load time (``src`` or
    inline ``<content>``). Otherwise ``source`` evaluates ``srcexpr`` or
    ``<content expr>`` at start, and ``load_child`` turns the value into a
    ``Machine`` with the parent document's load options.
    """

    def __init__(
        self,
        *,
        state_id: str,
        line: int,
        type: Evaluator | None,
        machine: Machine | None,
        source: Evaluator | None,
        source_is_src: bool,
        load_child: Callable[[Any, bool], Machine],
        invokeid: str | None,
        idlocation: Location | Evaluator | None,
        params: ParamList,
        autoforward: bool,
        finalize: Block | None,
    ) -> None:
        self.state_id = state_id
        self.line = line
        self.type = type
        self.machine = machine
        self.source = source
        self.source_is_src = source_is_src
        self.load_child = load_child
        self.invokeid = invokeid
        self.idlocation = idlocation
        self.params = params
        self.autoforward = autoforward
        self.finalize = finalize
        # The <invoke> element, for the writer.
        self.scxml_elements: list[Any] = []

    def start(self, ctx: Any) -> Invocation:
        ns = ctx.data
        ns["_event"] = ctx.event
        info = ns["_x"]
        invokeid = self.invokeid
        if invokeid is None:
            invokeid = info.next_id(f"{self.state_id}.invoke")
            if self.idlocation is not None:
                if not isinstance(self.idlocation, Location):
                    self.idlocation(ns)
                self.idlocation.assign(ns, invokeid)  # type: ignore[union-attr]
        if self.type is not None:
            resolve_send_type(self.type(ns))
        machine = self.machine
        if machine is None:
            assert self.source is not None
            machine = self.load_child(self.source(ns), self.source_is_src)
        data = self.params.evaluate(ns) if self.params else {}
        sessions = info.sessions
        if sessions is None:
            raise RuntimeError(
                f"<invoke> in state {self.state_id!r} (line {self.line}) needs a "
                "session registry to run the child session; start the machine "
                "with statechartx.scxml.SyncSessions().start(machine) or a Runtime"
            )
        child = sessions.spawn(ctx.interpreter, invokeid, machine, data)
        return Invocation(invokeid, child, self.autoforward, self.finalize)

    def __repr__(self) -> str:
        return f"<ScxmlInvoke in {self.state_id!r} line {self.line}>"
