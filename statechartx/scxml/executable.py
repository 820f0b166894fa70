"""Executable content: SCXML elements compiled into callables.

Every ``<onentry>``, ``<onexit>``, transition body and ``<finalize>`` becomes
one ``Block``: a callable taking the action context that runs its steps in
document order. When a step raises, the block queues ``error.execution``
(with the ``sendid`` of a failed ``<send>``) and skips the rest of the block,
as the SCXML recommendation requires. The machine goes on. Steps are
``fn(ctx, ns)`` where ``ns`` is the datamodel dict.
"""

from __future__ import annotations

import copy
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from typing import Any

from ..events import Event
from .datamodel import (
    SCXML_PROCESSOR,
    Compiler,
    EventData,
    Location,
    content_value,
)
from .xmltree import Node

__all__ = [
    "Block",
    "BlockAborted",
    "Step",
    "queue_error",
    "parse_delay",
    "resolve_send_type",
    "ParamList",
]

logger = logging.getLogger("statechartx.scxml")

#: ``<log>`` output goes here at INFO: it is output the document asked for.
log_logger = logging.getLogger("statechartx.scxml.log")

Step = Callable[[Any, dict[str, Any]], None]

_DELAY = re.compile(r"^\s*(\d*\.?\d+)\s*(ms|s|m|h|d)?\s*$")
_DELAY_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}

# Type values that name the SCXML event I/O processor.
_SCXML_TYPES = frozenset(
    {
        SCXML_PROCESSOR,
        "scxml",
        "http://www.w3.org/TR/scxml/",
        "http://www.w3.org/TR/scxml",
    }
)


class BlockAborted(Exception):
    """Raised by a step that already queued its own error event."""


def queue_error(ctx: Any, exc: BaseException, name: str = "error.execution", sendid: str | None = None) -> None:
    """Put an error event with ``exc`` as its data on the internal queue."""
    logger.debug("%s in session %s: %r", name, ctx.session_id, exc)
    ctx.raise_event(Event(name, exc, type="platform", sendid=sendid))


class Block:
    """One block of executable content; an error stops the rest of it."""

    __slots__ = ("steps", "where", "scxml_body")

    def __init__(self, steps: Sequence[Step], where: str, body: Node | None = None) -> None:
        self.steps = tuple(steps)
        self.where = where
        # The element whose children these steps came from, so that the
        # writer can emit them again.
        self.scxml_body = body

    def __call__(self, ctx: Any) -> None:
        ns = ctx.data
        ns["_event"] = ctx.event
        try:
            for step in self.steps:
                step(ctx, ns)
        except BlockAborted:
            pass
        except Exception as exc:  # noqa: BLE001 - document code; SCXML says error.execution
            queue_error(ctx, exc)

    def __repr__(self) -> str:
        return f"<Block {self.where} steps={len(self.steps)}>"


def parse_delay(value: Any) -> float:
    """Return a delay in seconds from a CSS2 time ("1s", ".5s", "200ms") or a number."""
    if isinstance(value, bool):
        raise ValueError(f"invalid delay {value!r}: use a duration such as '1s' or '200ms'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DELAY.match(str(value))
        if match is None:
            raise ValueError(f"invalid delay {value!r}: use a duration such as '1s' or '200ms'")
        seconds = float(match.group(1)) * _DELAY_UNITS[match.group(2)]
    if seconds < 0:
        raise ValueError(f"invalid delay {value!r}: must not be negative")
    return seconds


def resolve_send_type(value: Any) -> None:
    """Raise unless a send/invoke type names the SCXML processor."""
    if value is not None and str(value) not in _SCXML_TYPES:
        raise ValueError(
            f"unsupported type {value!r}: only the SCXML event processor "
            f"({SCXML_PROCESSOR!r}) is available"
        )


class ParamList:
    """``namelist`` plus ``<param>`` elements, evaluated into ``EventData``."""

    __slots__ = ("items",)

    def __init__(self, items: Sequence[tuple[str, Callable[[dict[str, Any]], Any]]]) -> None:
        self.items = tuple(items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def evaluate(self, ns: dict[str, Any]) -> EventData:
        data = EventData()
        for name, evaluate in self.items:
            data[name] = evaluate(ns)
        return data


# ----------------------------------------------------------------------
# Steps


def raise_step(name: str) -> Step:
    def run(ctx: Any, ns: dict[str, Any]) -> None:
        ctx.raise_event(name)

    return run


def log_step(label: str | None, evaluate: Callable[[dict[str, Any]], Any] | None) -> Step:
    def run(ctx: Any, ns: dict[str, Any]) -> None:
        value = evaluate(ns) if evaluate is not None else None
        if label is None:
            log_logger.info("%s: %r", ctx.session_id, value)
        else:
            log_logger.info("%s: %s: %r", ctx.session_id, label, value)

    return run


def assign_step(location: Location | Callable[[dict[str, Any]], Any], evaluate: Callable[[dict[str, Any]], Any]) -> Step:
    if not isinstance(location, Location):
        fail = location

        def run_failed(ctx: Any, ns: dict[str, Any]) -> None:
            fail(ns)

        return run_failed

    def run(ctx: Any, ns: dict[str, Any]) -> None:
        location.assign(ns, evaluate(ns))

    return run


def constant(value: Any) -> Callable[[dict[str, Any]], Any]:
    """Return an evaluator of a constant; mutable values are copied per call."""
    if isinstance(value, (str, int, float, bool, type(None), ET.Element)):
        # Elements are shared: copying would drop their line numbers.
        return lambda ns: value
    return lambda ns: copy.deepcopy(value)


def script_step(run_code: Callable[[dict[str, Any]], None]) -> Step:
    def run(ctx: Any, ns: dict[str, Any]) -> None:
        run_code(ns)

    return run


def if_step(branches: Sequence[tuple[Callable[[dict[str, Any]], bool] | None, Sequence[Step]]]) -> Step:
    """``<if>``/``<elseif>``/``<else>``: the first branch whose condition holds."""
    frozen = tuple((test, tuple(steps)) for test, steps in branches)

    def run(ctx: Any, ns: dict[str, Any]) -> None:
        for test, steps in frozen:
            if test is None or test(ns):
                for step in steps:
                    step(ctx, ns)
                return

    return run


def foreach_step(
    array: Callable[[dict[str, Any]], Any],
    item: Location | Callable[[dict[str, Any]], Any],
    index: Location | Callable[[dict[str, Any]], Any] | None,
    body: Sequence[Step],
) -> Step:
    steps = tuple(body)

    def run(ctx: Any, ns: dict[str, Any]) -> None:
        if not isinstance(item, Location):
            item(ns)
        if index is not None and not isinstance(index, Location):
            index(ns)
        collection = array(ns)
        if isinstance(collection, dict):
            values = list(collection.values())
        else:
            try:
                values = list(collection)
            except TypeError:
                raise TypeError(
                    f"<foreach> array is {type(collection).__name__}, not an iterable"
                ) from None
        for position, value in enumerate(values):
            item.assign(ns, value, declare=True)  # type: ignore[union-attr]
            if index is not None:
                index.assign(ns, position, declare=True)  # type: ignore[union-attr]
            for step in steps:
                step(ctx, ns)

    return run


def cancel_step(sendid: Callable[[dict[str, Any]], Any]) -> Step:
    def run(ctx: Any, ns: dict[str, Any]) -> None:
        ctx.cancel(str(sendid(ns)))

    return run


class SendStep:
    """``<send>``: evaluates its attributes and delivers the event.

    Targets: none (this session's external queue), ``#_internal``,
    ``#_scxml_<sessionid>``, ``#_parent`` and ``#_<invokeid>``. The last
    three go through the session registry (``_x.sessions``); a target that no
    session receives gives ``error.communication``, an invalid one
    ``error.execution``.
    """

    __slots__ = (
        "event", "target", "type", "delay", "sendid", "idlocation",
        "params", "content", "line",
    )

    def __init__(
        self,
        *,
        event: Callable[[dict[str, Any]], Any],
        target: Callable[[dict[str, Any]], Any] | None,
        type: Callable[[dict[str, Any]], Any] | None,
        delay: Callable[[dict[str, Any]], Any] | None,
        sendid: str | None,
        idlocation: Location | Callable[[dict[str, Any]], Any] | None,
        params: ParamList,
        content: Callable[[dict[str, Any]], Any] | None,
        line: int,
    ) -> None:
        self.event = event
        self.target = target
        self.type = type
        self.delay = delay
        self.sendid = sendid
        self.idlocation = idlocation
        self.params = params
        self.content = content
        self.line = line

    def __call__(self, ctx: Any, ns: dict[str, Any]) -> None:
        sendid = self.sendid
        try:
            if self.idlocation is not None:
                if not isinstance(self.idlocation, Location):
                    self.idlocation(ns)
                sendid = ns["_x"].next_id(f"{ctx.session_id}.send")
                self.idlocation.assign(ns, sendid)  # type: ignore[union-attr]
            name = self.event(ns)
            if not isinstance(name, str) or not name.split():
                raise ValueError(f"<send> event name {name!r} is not a non-empty string")
            target = None if self.target is None else self.target(ns)
            if self.type is not None:
                resolve_send_type(self.type(ns))
            delay = 0.0 if self.delay is None else parse_delay(self.delay(ns))
            if self.content is not None:
                data = self.content(ns)
            elif self.params:
                data = self.params.evaluate(ns)
            else:
                data = None
            if target is not None and not isinstance(target, str):
                raise ValueError(f"<send> target {target!r} is not a string")
        except Exception as exc:  # noqa: BLE001 - document code
            queue_error(ctx, exc, sendid=sendid)
            raise BlockAborted from exc

        session_id = ctx.session_id
        event = Event(
            name,
            data,
            sendid=sendid,
            origin=f"#_scxml_{session_id}",
            origintype=SCXML_PROCESSOR,
        )
        if target is None or target == f"#_scxml_{session_id}":
            ctx.send(event, delay=delay, sendid=sendid)
            return
        if target == "#_internal":
            if delay:
                queue_error(
                    ctx,
                    ValueError("<send> to '#_internal' cannot be delayed; use target=None"),
                    sendid=sendid,
                )
                raise BlockAborted
            ctx.raise_event(event._replace(type="internal"))
            return
        if not target.startswith("#_"):
            queue_error(
                ctx,
                ValueError(
                    f"invalid <send> target {target!r}: use '#_internal', "
                    "'#_parent', '#_scxml_<sessionid>' or '#_<invokeid>'"
                ),
                sendid=sendid,
            )
            raise BlockAborted
        sessions = ns["_x"].sessions
        if sessions is None or not sessions.route(ctx.interpreter, target, event, delay):
            reason = (
                "this session has no session registry (run it with SyncSessions or a Runtime)"
                if sessions is None
                else "no such session or invocation"
            )
            queue_error(
                ctx,
                LookupError(f"<send> target {target!r} cannot be reached: {reason}"),
                name="error.communication",
                sendid=sendid,
            )


def compile_params(compiler: Compiler, namelist: str | None, params: Sequence[Node], node: Node) -> ParamList:
    """Compile ``namelist`` and ``<param>`` children in that order."""
    items: list[tuple[str, Callable[[dict[str, Any]], Any]]] = []
    if namelist:
        compiler.require_python(node, "namelist")
        for name in namelist.split():
            items.append((name, compiler.expr(name, node, "namelist")))
    for param in params:
        param_name = param.get("name")
        if not param_name:
            raise compiler.error(param, "missing name; give the parameter a name")
        expr, location = param.get("expr"), param.get("location")
        if expr is not None and location is not None:
            raise compiler.error(param, "has both expr and location; keep one")
        if expr is not None:
            items.append((param_name, compiler.expr(expr, param, "expr")))
        elif location is not None:
            items.append((param_name, compiler.expr(location, param, "location")))
        else:
            raise compiler.error(param, f"param {param_name!r} needs expr or location")
    return ParamList(items)


def compile_content(compiler: Compiler, node: Node) -> Callable[[dict[str, Any]], Any]:
    """Compile a ``<content>`` element: its expr, or its inline value."""
    expr = node.get("expr")
    if expr is not None:
        if len(node) or (node.text or "").strip():
            raise compiler.error(node, "has both expr and inline content; keep one")
        return compiler.expr(expr, node, "expr")
    return constant(content_value(node))
