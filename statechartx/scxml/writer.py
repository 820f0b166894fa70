"""Writer: a ``Machine`` as an SCXML document.

``dump(machine)`` writes the structure of a chart: states, parallel and final
states, history (type and default), ``initial``, transitions (event,
target, ``type="internal"``) and the document's ``name`` and ``binding``.

Python callables (guards, actions, datamodel functions, invocations) have no
SCXML form. A chart loaded from SCXML keeps the elements its callables were
compiled from, and those are written back; any other callable is a loss.
``dump`` raises ``DumpError`` listing every loss unless ``allow_loss=True``,
in which case it warns once with ``DumpWarning``, marks each loss with an
XML comment where the callable was, and returns the document. Nothing is
dropped silently.
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ..chart import Transition
from ..errors import StatechartxError
from ..machine import FINAL, HISTORY, PARALLEL, Machine
from .xmltree import SCXML_NS, local_name, namespace_of

__all__ = ["dump", "find_losses", "DumpError", "DumpWarning"]

_INDENT = "  "


class DumpError(StatechartxError, ValueError):
    """The chart has callables with no SCXML form; ``losses`` lists them."""

    def __init__(self, losses: list[str]) -> None:
        shown = "\n  ".join(losses)
        super().__init__(
            f"{len(losses)} Python callable(s) have no SCXML form and would be "
            f"lost:\n  {shown}\npass allow_loss=True to write the document "
            "without them (each is marked by a comment)"
        )
        self.losses = losses


class DumpWarning(UserWarning):
    """``dump(..., allow_loss=True)`` left Python callables out of the document."""


def dump(machine: Machine, *, allow_loss: bool = False) -> str:
    """Return ``machine`` as an SCXML document (a ``str``).

    Raises ``DumpError`` when a callable has no SCXML form, unless
    ``allow_loss`` is true (then a ``DumpWarning`` lists the losses).
    """
    writer = _Writer(machine)
    text = writer.write()
    if writer.losses:
        if not allow_loss:
            raise DumpError(writer.losses)
        warnings.warn(
            DumpWarning(
                f"{len(writer.losses)} Python callable(s) left out of the SCXML "
                "document: " + "; ".join(writer.losses)
            ),
            stacklevel=2,
        )
    return text


def find_losses(machine: Machine) -> list[str]:
    """Return the callables that ``dump`` cannot write, one line each."""
    writer = _Writer(machine)
    writer.write()
    return writer.losses


class _Writer:
    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.lines: list[str] = []
        self.losses: list[str] = []

    def emit(self, depth: int, text: str) -> None:
        self.lines.append(_INDENT * depth + text)

    def lose(self, depth: int, what: str, fn: Any) -> None:
        name = getattr(fn, "__qualname__", None) or repr(fn)
        self.losses.append(f"{what}: {name}")
        comment = f"{what}: {name}".replace("--", "- -")
        self.emit(depth, f"<!-- not written, a Python callable: {comment} -->")

    # -- document ----------------------------------------------------------

    def write(self) -> str:
        m = self.machine
        attrs = {"xmlns": SCXML_NS, "version": "1.0"}
        if m.name:
            attrs["name"] = m.name
        top = m.children[0]
        initial = m.initial[0]
        if initial.actions:
            for fn in initial.actions:
                self.lose(1, "action of the document's initial transition", fn)
        if tuple(initial.targets) != (top[0],):
            attrs["initial"] = " ".join(m.ids[t] for t in initial.targets)  # type: ignore[misc]
        if m.binding != "early":
            attrs["binding"] = m.binding
        datamodel = getattr(m.datamodel, "scxml_datamodel", None)
        if datamodel is not None:
            attrs["datamodel"] = datamodel
        self.lines.append('<?xml version="1.0" encoding="UTF-8"?>')
        header = len(self.lines)
        if m.datamodel is not None:
            self.sourced(1, m.datamodel, "the machine's datamodel")
        if m.script is not None:
            self.callables(1, [m.script], "the machine's script", None)
        self.states(top)
        self.lines.insert(header, f"<scxml{_attributes(attrs)}>")
        self.lines.append("</scxml>")
        return "\n".join(self.lines) + "\n"

    def states(self, top: Iterable[int]) -> None:
        """Write the states below the root without recursion."""
        m = self.machine
        # Work items: ("open", state, depth) or ("close", text, depth).
        stack: list[tuple[str, Any, int]] = [("open", s, 1) for s in reversed(tuple(top))]
        while stack:
            op, item, depth = stack.pop()
            if op == "close":
                self.emit(depth, item)
                continue
            node = m.nodes[item]
            kind = m.kind[item]
            if kind == HISTORY:
                self.history(node, depth)
                continue
            if kind == FINAL:
                self.final(node, depth)
                continue
            tag = "parallel" if kind == PARALLEL else "state"
            attrs = {"id": node.id}
            initial_element = None
            if tag == "state" and node.initial is not None:
                if isinstance(node.initial, Transition):
                    initial_element = node.initial
                elif isinstance(node.initial, str):
                    attrs["initial"] = node.initial
                else:
                    attrs["initial"] = " ".join(node.initial)
            regions = m.children[item] + m.history.get(item, ())
            regions = tuple(sorted(regions))
            body = bool(
                regions or node.transitions or node.on_entry or node.on_exit
                or node.datamodel or node.invoke or initial_element
            )
            if getattr(node, "concurrent", False):
                self.losses.append(
                    f"parallel state {node.id!r}: concurrent=True (a Runtime hosting "
                    "option with no SCXML form)"
                )
            if not body:
                self.emit(depth, f"<{tag}{_attributes(attrs)}/>")
                continue
            self.emit(depth, f"<{tag}{_attributes(attrs)}>")
            inner = depth + 1
            if initial_element is not None:
                self.emit(inner, "<initial>")
                self.transition(initial_element, inner + 1, f"initial transition of {node.id!r}")
                self.emit(inner, "</initial>")
            if node.datamodel is not None:
                self.sourced(inner, node.datamodel, f"datamodel of state {node.id!r}")
            self.callables(inner, node.on_entry, f"on_entry of state {node.id!r}", "onentry")
            self.callables(inner, node.on_exit, f"on_exit of state {node.id!r}", "onexit")
            for transition in node.transitions:
                self.transition(transition, inner, f"transition {transition!r} of state {node.id!r}")
            for invoke in node.invoke:
                self.sourced(inner, invoke, f"invoke of state {node.id!r}")
            stack.append(("close", f"</{tag}>", depth))
            for child in reversed(regions):
                stack.append(("open", child, inner))

    def final(self, node: Any, depth: int) -> None:
        attrs = _attributes({"id": node.id})
        if not (node.on_entry or node.on_exit or node.donedata):
            self.emit(depth, f"<final{attrs}/>")
            return
        self.emit(depth, f"<final{attrs}>")
        self.callables(depth + 1, node.on_entry, f"on_entry of final state {node.id!r}", "onentry")
        self.callables(depth + 1, node.on_exit, f"on_exit of final state {node.id!r}", "onexit")
        if node.donedata is not None:
            self.sourced(depth + 1, node.donedata, f"donedata of final state {node.id!r}")
        self.emit(depth, "</final>")

    def history(self, node: Any, depth: int) -> None:
        attrs: dict[str, str] = {"id": node.id}
        if node.deep:
            attrs["type"] = "deep"
        default = node.default
        if default is None:
            self.emit(depth, f"<history{_attributes(attrs)}/>")
            return
        self.emit(depth, f"<history{_attributes(attrs)}>")
        if not isinstance(default, Transition):
            targets = default.split() if isinstance(default, str) else list(default)
            default = Transition(target=targets)
        self.transition(default, depth + 1, f"default transition of history {node.id!r}")
        self.emit(depth, "</history>")

    def transition(self, t: Transition, depth: int, what: str) -> None:
        attrs: dict[str, str] = {}
        if t.event is not None:
            attrs["event"] = t.event
        if t.guard is not None:
            cond = getattr(t.guard, "scxml_cond", None)
            if cond is not None:
                attrs["cond"] = cond
        if t.target:
            attrs["target"] = " ".join(t.target)
        if t.internal:
            attrs["type"] = "internal"
        lost_guard = t.guard is not None and "cond" not in attrs
        if not t.action and not lost_guard:
            self.emit(depth, f"<transition{_attributes(attrs)}/>")
            return
        self.emit(depth, f"<transition{_attributes(attrs)}>")
        if lost_guard:
            self.lose(depth + 1, f"guard of {what}", t.guard)
        self.callables(depth + 1, t.action, f"action of {what}", None)
        self.emit(depth, "</transition>")

    # -- callables -----------------------------------------------------------

    def callables(self, depth: int, fns: Iterable[Any], what: str, wrapper: str | None) -> None:
        """Write blocks compiled from SCXML; report every other callable."""
        for fn in fns:
            body = getattr(fn, "scxml_body", None)
            if body is None:
                self.lose(depth, what, fn)
                continue
            inner = depth
            if wrapper is not None:
                self.emit(depth, f"<{wrapper}>")
                inner = depth + 1
            for child in body:
                self.element(child, inner)
            if wrapper is not None:
                self.emit(depth, f"</{wrapper}>")

    def sourced(self, depth: int, fn: Any, what: str) -> None:
        elements = getattr(fn, "scxml_elements", None)
        if elements is None:
            self.lose(depth, what, fn)
            return
        for element in elements:
            self.element(element, depth)

    def element(self, element: ET.Element, depth: int) -> None:
        """Write an element kept from a loaded document, with its text."""
        self.lines.append(_INDENT * depth + _serialize(element, None))


def _attributes(attrs: dict[str, str]) -> str:
    return "".join(f" {name}={quoteattr(value)}" for name, value in attrs.items())


def _serialize(element: ET.Element, parent_ns: str | None) -> str:
    """Serialise an element in the SCXML default namespace.

    Elements of other namespaces get their own ``xmlns``; attributes of
    other namespaces are written with a generated prefix.
    """
    namespace = namespace_of(element.tag)
    tag = local_name(element.tag)
    attrs: dict[str, str] = {}
    if namespace not in (None, SCXML_NS, parent_ns):
        attrs["xmlns"] = namespace
    elif namespace == SCXML_NS and parent_ns is not None:
        attrs["xmlns"] = SCXML_NS
    prefixes: dict[str, str] = {}
    for key, value in element.attrib.items():
        key_ns = namespace_of(key)
        if key_ns is None:
            attrs[key] = value
        else:
            prefix = prefixes.setdefault(key_ns, f"ns{len(prefixes)}")
            attrs[f"xmlns:{prefix}"] = key_ns
            attrs[f"{prefix}:{local_name(key)}"] = value
    parts = [f"<{tag}{_attributes(attrs)}"]
    children = list(element)
    text = element.text or ""
    if not children and not text:
        parts.append("/>")
    else:
        parts.append(">")
        parts.append(escape(text))
        if namespace is None:
            inner_ns = parent_ns
        elif namespace == SCXML_NS:
            inner_ns = None
        else:
            inner_ns = namespace
        for child in children:
            parts.append(_serialize(child, inner_ns))
            parts.append(escape(child.tail or ""))
        parts.append(f"</{tag}>")
    return "".join(parts)
