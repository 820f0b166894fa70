"""The declarative chart: plain data that describes a statechart.

A chart is a tree of ``State``, ``Parallel``, ``Final`` and ``History`` nodes
with ``Transition`` objects attached to states. Nothing here runs or checks
anything: ``Machine`` validates a chart and compiles it into tables. Children
keep the order in which they are given, which is SCXML's document order and
decides exit order, entry order and conflict resolution.

Guards and actions are callables taking one argument, the action context
(see ``statechartx.interpreter.ActionContext``): ``ctx.event``, ``ctx.data``,
``ctx.is_in(id)``, ``ctx.raise_event(name, data)`` and ``ctx.send(...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, Union

__all__ = [
    "Action",
    "Guard",
    "Invoke",
    "State",
    "Parallel",
    "Final",
    "History",
    "Transition",
    "StateNode",
]

Action = Callable[[Any], Any]
Guard = Callable[[Any], Any]

_EMPTY: tuple[Any, ...] = ()


class Invoke(Protocol):
    """An invocation started when its state is entered and cancelled on exit.

    ``start(ctx)`` runs on the interpreter's thread at the end of the
    macrostep that entered the state and returns a handle with ``cancel()``
    and ``handle_event(ctx, event)``; the interpreter calls ``handle_event``
    for every external event before it selects transitions, which is where
    SCXML's ``<finalize>`` and ``autoforward`` happen.
    """

    def start(self, ctx: Any) -> Any: ...


def _as_tuple(value: Any) -> tuple[Any, ...]:
    # None and empty inputs share the empty tuple so that a million leaf
    # states cost no list objects.
    if value is None:
        return _EMPTY
    if isinstance(value, tuple):
        return value
    if callable(value) or isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        # A single callback, or a single wrong value that Machine then
        # rejects by name instead of a TypeError or one item per character.
        return (value,)
    return tuple(value)


class Transition:
    """A transition from the state it is attached to.

    ``event`` is a space-separated list of event descriptors, or ``None`` for
    an eventless transition. ``target`` is a space-separated list of state ids
    (or a sequence of ids), or ``None`` for a targetless transition that only
    runs its action. ``internal=True`` gives SCXML's ``type="internal"``: when
    the source is a compound state and every target is a descendant of it,
    the source is not exited and re-entered.
    """

    __slots__ = ("event", "target", "guard", "action", "internal")

    def __init__(
        self,
        event: str | None = None,
        target: str | Sequence[str] | None = None,
        guard: Guard | None = None,
        action: Action | Iterable[Action] | None = None,
        internal: bool = False,
    ) -> None:
        self.event = event
        if target is None:
            self.target: tuple[str, ...] = _EMPTY
        elif isinstance(target, str):
            self.target = tuple(target.split())
        else:
            self.target = tuple(target)
        self.guard = guard
        self.action: tuple[Action, ...] = _as_tuple(action)
        self.internal = internal

    def __repr__(self) -> str:
        target = " ".join(self.target) or None
        return f"Transition(event={self.event!r}, target={target!r})"


class _Node:
    """Fields shared by every kind of state."""

    __slots__ = ("id", "on_entry", "on_exit")

    kind = "node"

    def __init__(
        self,
        id: str,
        on_entry: Action | Iterable[Action] | None = None,
        on_exit: Action | Iterable[Action] | None = None,
    ) -> None:
        self.id = id
        self.on_entry: tuple[Action, ...] = _as_tuple(on_entry)
        self.on_exit: tuple[Action, ...] = _as_tuple(on_exit)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r})"


class State(_Node):
    """An atomic state (no children) or a compound state (children).

    ``initial`` names the child (or, for SCXML's ``<initial>``, several
    descendants separated by spaces) entered by default; it may also be a
    ``Transition`` without event whose action runs on default entry. When it
    is ``None`` the first child in document order is entered.
    ``datamodel`` is a callable run with the action context to initialise
    this state's data, at start with early binding or on first entry with
    late binding. ``invoke`` lists ``Invoke`` objects.
    """

    __slots__ = ("children", "initial", "transitions", "datamodel", "invoke")

    kind = "state"

    def __init__(
        self,
        id: str,
        children: Iterable[StateNode] | None = None,
        initial: str | Transition | None = None,
        transitions: Iterable[Transition] | None = None,
        on_entry: Action | Iterable[Action] | None = None,
        on_exit: Action | Iterable[Action] | None = None,
        datamodel: Action | None = None,
        invoke: Iterable[Invoke] | None = None,
    ) -> None:
        super().__init__(id, on_entry, on_exit)
        self.children: tuple[StateNode, ...] = _as_tuple(children)
        self.initial = initial
        self.transitions: tuple[Transition, ...] = _as_tuple(transitions)
        self.datamodel = datamodel
        self.invoke: tuple[Invoke, ...] = _as_tuple(invoke)


class Parallel(State):
    """A parallel state: every child region is active while it is active.

    ``concurrent=True`` asks a ``Runtime`` to host each region in its own
    region actor; the synchronous ``Interpreter`` ignores it and runs the
    regions in document order, which gives the same results for charts whose
    regions share no mutable data.
    """

    __slots__ = ("concurrent",)

    kind = "parallel"

    def __init__(
        self,
        id: str,
        children: Iterable[StateNode] | None = None,
        transitions: Iterable[Transition] | None = None,
        on_entry: Action | Iterable[Action] | None = None,
        on_exit: Action | Iterable[Action] | None = None,
        datamodel: Action | None = None,
        invoke: Iterable[Invoke] | None = None,
        concurrent: bool = False,
        initial: None = None,
    ) -> None:
        # ``initial`` is accepted only so that Machine can reject it with a
        # clear message instead of a TypeError.
        super().__init__(
            id,
            children=children,
            initial=initial,
            transitions=transitions,
            on_entry=on_entry,
            on_exit=on_exit,
            datamodel=datamodel,
            invoke=invoke,
        )
        self.concurrent = concurrent


class Final(_Node):
    """A final state.

    Entering a final child of a compound state raises ``done.state.<parent>``
    with the result of ``donedata(ctx)`` as its data. Entering a final state
    at the top level of the chart finishes the machine.
    """

    __slots__ = ("donedata", "children")

    kind = "final"

    def __init__(
        self,
        id: str,
        on_entry: Action | Iterable[Action] | None = None,
        on_exit: Action | Iterable[Action] | None = None,
        donedata: Callable[[Any], Any] | None = None,
        children: Iterable[StateNode] | None = None,
    ) -> None:
        # ``children`` exists only so that Machine can reject a final state
        # with children by name.
        super().__init__(id, on_entry, on_exit)
        self.donedata = donedata
        self.children: tuple[StateNode, ...] = _as_tuple(children)


class History(_Node):
    """A pseudo-state that remembers its parent's active configuration.

    A shallow history remembers the active children of its parent, a deep one
    (``deep=True``) the active atomic descendants. ``default`` is used when
    the parent has never been exited: target ids, or a ``Transition`` whose
    action runs too. Without a default the parent's own default entry is used.
    """

    __slots__ = ("deep", "default")

    kind = "history"
    # A history state has no children; the class attribute lets Machine
    # read ``node.children`` of every node without a getattr default.
    children: tuple[StateNode, ...] = _EMPTY

    def __init__(
        self,
        id: str,
        deep: bool = False,
        default: str | Sequence[str] | Transition | None = None,
    ) -> None:
        super().__init__(id)
        self.deep = deep
        self.default = default


StateNode = Union[State, Parallel, Final, History]
