"""Reader: SCXML documents to ``Machine`` objects.

``load`` parses a document (with line numbers), checks it, compiles every
expression once and builds the chart: ``State``/``Parallel``/``Final``/
``History`` nodes whose guards, actions, datamodel initialisers and
invocations are callables bound to the document's datamodel. Any fault
raises ``ScxmlError`` naming the file, the line, the element and the fix,
before a ``Machine`` exists, so nothing is half-loaded.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..chart import Final, History, Parallel, State, StateNode, Transition
from ..errors import ChartError
from ..events import parse_descriptors
from ..machine import Machine
from .datamodel import (
    NULL,
    PYTHON,
    Compiler,
    content_value,
    install_system_variables,
    parse_literal,
)
from .errors import ScxmlError
from .executable import (
    Block,
    SendStep,
    Step,
    assign_step,
    cancel_step,
    compile_content,
    compile_params,
    constant,
    foreach_step,
    if_step,
    log_step,
    parse_delay,
    queue_error,
    raise_step,
    script_step,
)
from .invoke import ScxmlInvoke
from .xmltree import SCXML_NS, Node, local_name, namespace_of, parse_xml

__all__ = ["load", "LoadOptions"]

Evaluator = Callable[[dict[str, Any]], Any]

_STATE_CHILDREN = frozenset(
    {"onentry", "onexit", "transition", "initial", "state", "parallel", "final",
     "history", "datamodel", "invoke"}
)
_PARALLEL_CHILDREN = _STATE_CHILDREN - {"initial", "final"}
_FINAL_CHILDREN = frozenset({"onentry", "onexit", "donedata"})
_SCXML_CHILDREN = frozenset({"state", "parallel", "final", "datamodel", "script"})
_STATE_TAGS = frozenset({"state", "parallel", "final", "history"})
_EXECUTABLE = ("raise", "send", "log", "assign", "if", "foreach", "script", "cancel")
_SUPPORTED_DATAMODELS = (PYTHON, NULL)

_QUOTED = re.compile(r"'([^']+)'")


@dataclass(frozen=True)
class LoadOptions:
    """Options of ``load``, inherited by documents that a document invokes."""

    allow_python: bool = False
    datamodel: str | None = None
    defer_syntax_errors: bool = False


def load(
    source: str | bytes | os.PathLike[str],
    *,
    allow_python: bool = False,
    datamodel: str | None = None,
    defer_syntax_errors: bool = False,
    base_dir: str | os.PathLike[str] | None = None,
) -> Machine:
    """Load an SCXML document and return its ``Machine``.

    ``source`` is a path, or the document itself (a ``str`` starting with
    ``<``, or ``bytes``). Relative ``src`` attributes resolve against the
    document's folder, or ``base_dir`` for a document given as text.

    ``allow_python`` must be true for a document with ``datamodel="python"``,
    whose expressions and scripts are Python code that runs with the
    interpreter's full access. ``datamodel`` replaces the datamodel the
    document declares (for documents written for another datamodel whose
    expressions are also valid Python). ``defer_syntax_errors`` turns an
    expression that does not compile into one that raises when evaluated,
    which becomes ``error.execution`` as the SCXML recommendation requires,
    instead of a ``ScxmlError`` now.

    Raises ``ScxmlError`` (a ``ChartError``) naming file, line and element.
    """
    options = LoadOptions(allow_python, datamodel, defer_syntax_errors)
    text, filename, folder = _read_source(source, base_dir)
    root = parse_xml(text, filename)
    return _Reader(root, filename, folder, options).build()


def _read_source(
    source: str | bytes | os.PathLike[str], base_dir: str | os.PathLike[str] | None
) -> tuple[str | bytes, str | None, Path]:
    folder = Path(base_dir) if base_dir is not None else Path.cwd()
    if isinstance(source, bytes):
        return source, None, folder
    if isinstance(source, str) and source.lstrip("\ufeff \t\r\n").startswith("<"):
        return source, None, folder
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"load() needs a path, str or bytes, got {type(source).__name__}")
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScxmlError(
            f"cannot read the document: {exc.strerror or exc}; check the path",
            file=str(path),
        ) from None
    return data, str(path), path.resolve().parent if base_dir is None else folder


def _is_scxml(node: ET.Element) -> bool:
    return namespace_of(node.tag) in (SCXML_NS, None)


def _children(node: Node) -> Iterator[Node]:
    """Yield the SCXML child elements; other namespaces are extensions, skipped."""
    for child in node:
        if _is_scxml(child):
            yield child  # type: ignore[misc]


class _Reader:
    def __init__(self, root: Node, filename: str | None, folder: Path, options: LoadOptions) -> None:
        self.root = root
        self.filename = filename
        self.folder = folder
        self.options = options
        self.compiler: Compiler
        self.ids: dict[int, str] = {}
        self.id_lines: dict[str, int] = {}
        self.declared: list[str] = []
        self.declared_lines: dict[str, int] = {}

    # -- helpers ---------------------------------------------------------

    def error(self, node: Node, message: str) -> ScxmlError:
        return ScxmlError(
            message, file=self.filename, line=getattr(node, "line", None),
            element=local_name(node.tag),
        )

    def exclusive(self, node: Node, *names: str, required: bool = False) -> tuple[str | None, str | None]:
        """Return (attribute name, value) of the one attribute given among ``names``."""
        given = [n for n in names if node.get(n) is not None]
        if len(given) > 1:
            raise self.error(node, f"has both {given[0]!r} and {given[1]!r}; keep one")
        if not given:
            if required:
                raise self.error(node, f"missing attribute; give one of {', '.join(names)}")
            return None, None
        return given[0], node.get(given[0])

    def check_children(self, node: Node, allowed: frozenset[str] | Sequence[str]) -> None:
        for child in _children(node):
            tag = local_name(child.tag)
            if tag not in allowed:
                raise self.error(
                    child,
                    f"unexpected element inside <{local_name(node.tag)}>; allowed "
                    f"here: {', '.join(sorted(allowed)) or 'none'}",
                )

    # -- document ----------------------------------------------------------

    def build(self) -> Machine:
        root = self.root
        if local_name(root.tag) != "scxml" or not _is_scxml(root):
            raise self.error(root, "the root element must be <scxml> in the SCXML namespace")
        datamodel = self.options.datamodel or root.get("datamodel") or NULL
        if datamodel not in _SUPPORTED_DATAMODELS:
            raise self.error(
                root,
                f"datamodel {datamodel!r} is not supported; use \"python\" or \"null\" "
                "(or load(..., datamodel=\"python\") for a document whose expressions are Python)",
            )
        if datamodel == PYTHON and not self.options.allow_python:
            raise self.error(
                root,
                "this document uses datamodel=\"python\": its expressions and scripts "
                "are Python code that runs with full access to your process, so "
                "loading it needs load(..., allow_python=True); pass that only for "
                "documents you trust",
            )
        self.compiler = Compiler(datamodel, self.filename, self.options.defer_syntax_errors)
        binding = root.get("binding", "early")
        if binding not in ("early", "late"):
            raise self.error(root, f"binding={binding!r} is invalid; use \"early\" or \"late\"")
        self.check_children(root, _SCXML_CHILDREN)
        top_nodes = [c for c in _children(root) if local_name(c.tag) in _STATE_TAGS]
        if not top_nodes:
            raise self.error(root, "the document has no state; add a <state>, <parallel> or <final>")
        self.assign_ids(root)

        top_data: list[tuple[str, Evaluator]] = []
        scripts: list[Step] = []
        for child in _children(root):
            tag = local_name(child.tag)
            if tag == "datamodel":
                top_data.extend(self.datamodel(child))
            elif tag == "script":
                scripts.append(script_step(self.script(child)))
        top = self.build_states(root)

        initial = root.get("initial")
        if initial is not None:
            self.check_targets(root, initial, "initial")
        kind = datamodel
        declared = tuple(self.declared)
        declared_set = frozenset(declared)

        def initialise(ctx: Any) -> None:
            info = install_system_variables(ctx, kind)
            ns = ctx.data
            if info.invokeid is not None:
                # An invoking parent may only set variables the child
                # declares; other <param>/namelist values are dropped.
                for name in info.provided - declared_set:
                    del ns[name]
            for name in declared:
                ns.setdefault(name, None)
            _bind(ctx, top_data, info.provided)

        script = None
        if scripts:
            # The writer emits the children of a block's body element; here
            # they are the <script> elements themselves.
            body = Node("scripts")
            body.extend(c for c in _children(root) if local_name(c.tag) == "script")
            script = Block(scripts, "<scxml> script", body)
        initialise.scxml_datamodel = kind  # type: ignore[attr-defined]
        initialise.scxml_elements = [c for c in _children(root) if local_name(c.tag) == "datamodel"]  # type: ignore[attr-defined]
        try:
            return Machine(
                top,
                name=root.get("name"),
                initial=initial,
                binding=binding,
                datamodel=initialise,
                script=script,
            )
        except ChartError as exc:
            line = None
            for token in _QUOTED.findall(str(exc)):
                if token in self.id_lines:
                    line = self.id_lines[token]
                    break
            raise ScxmlError(f"invalid chart: {exc}", file=self.filename, line=line) from None

    def assign_ids(self, root: Node) -> None:
        """Record every state's id; generate ids for states without one."""
        nodes: list[Node] = []
        stack = list(reversed(list(_children(root))))
        while stack:
            node = stack.pop()
            if local_name(node.tag) not in _STATE_TAGS:
                continue
            nodes.append(node)
            state_id = node.get("id")
            if state_id is not None:
                if not state_id or state_id.split() != [state_id]:
                    raise self.error(node, f"id {state_id!r} is invalid; use a name without spaces")
                if state_id in self.id_lines:
                    raise self.error(
                        node,
                        f"duplicate id {state_id!r} (first used on line "
                        f"{self.id_lines[state_id]}); state ids must be unique",
                    )
                self.id_lines[state_id] = node.line
            stack.extend(reversed(list(_children(node))))
        counter = 0
        for node in nodes:
            state_id = node.get("id")
            if state_id is None:
                while True:
                    counter += 1
                    state_id = f"_{local_name(node.tag)}.{counter}"
                    if state_id not in self.id_lines:
                        break
                self.id_lines[state_id] = node.line
            self.ids[id(node)] = state_id

    def check_targets(self, node: Node, value: str, attr: str) -> tuple[str, ...]:
        targets = tuple(value.split())
        if not targets:
            raise self.error(node, f"{attr} is empty; name at least one state id")
        for target in targets:
            if target not in self.id_lines:
                raise self.error(
                    node, f"{attr} names {target!r}, which is not a state id in this document"
                )
        return targets

    # -- states --------------------------------------------------------------

    def build_states(self, root: Node) -> list[StateNode]:
        """Build every state bottom-up without recursion; return the top ones."""
        order: list[Node] = []
        stack = [c for c in reversed(list(_children(root))) if local_name(c.tag) in _STATE_TAGS]
        while stack:
            node = stack.pop()
            order.append(node)
            stack.extend(
                c for c in reversed(list(_children(node))) if local_name(c.tag) in _STATE_TAGS
            )
        built: dict[int, StateNode] = {}
        for node in reversed(order):
            children = [
                built.pop(id(c)) for c in _children(node) if local_name(c.tag) in _STATE_TAGS
            ]
            built[id(node)] = self.state(node, children)
        return [built.pop(id(c)) for c in _children(root) if local_name(c.tag) in _STATE_TAGS]

    def state(self, node: Node, children: list[StateNode]) -> StateNode:
        tag = local_name(node.tag)
        state_id = self.ids[id(node)]
        if tag == "history":
            return self.history(node, state_id)
        if tag == "final":
            self.check_children(node, _FINAL_CHILDREN)
            return Final(
                state_id,
                on_entry=self.blocks(node, "onentry", state_id),
                on_exit=self.blocks(node, "onexit", state_id),
                donedata=self.donedata(node),
            )
        self.check_children(node, _STATE_CHILDREN if tag == "state" else _PARALLEL_CHILDREN)

        transitions = [self.transition(c, state_id) for c in _children(node) if local_name(c.tag) == "transition"]
        data: list[tuple[str, Evaluator]] = []
        for c in _children(node):
            if local_name(c.tag) == "datamodel":
                data.extend(self.datamodel(c))
        invokes = [self.invoke(c, state_id) for c in _children(node) if local_name(c.tag) == "invoke"]

        common: dict[str, Any] = dict(
            children=children,
            transitions=transitions,
            on_entry=self.blocks(node, "onentry", state_id),
            on_exit=self.blocks(node, "onexit", state_id),
            datamodel=_state_datamodel(data, [c for c in _children(node) if local_name(c.tag) == "datamodel"]) if data else None,
            invoke=invokes,
        )
        if tag == "parallel":
            return Parallel(state_id, **common)
        return State(state_id, initial=self.initial(node, state_id, children), **common)

    def initial(self, node: Node, state_id: str, children: list[StateNode]) -> str | Transition | None:
        attribute = node.get("initial")
        elements = [c for c in _children(node) if local_name(c.tag) == "initial"]
        if attribute is not None and elements:
            raise self.error(node, "has both an initial attribute and an <initial> element; keep one")
        if len(elements) > 1:
            raise self.error(elements[1], "a state takes at most one <initial> element")
        if (attribute is not None or elements) and not children:
            raise self.error(node, "has an initial state but no child states")
        if attribute is not None:
            return " ".join(self.check_targets(node, attribute, "initial"))
        if not elements:
            return None
        element = elements[0]
        self.check_children(element, ("transition",))
        transitions = list(_children(element))
        if len(transitions) != 1:
            raise self.error(element, "needs exactly one <transition> child naming the initial state")
        transition = transitions[0]
        if transition.get("event") is not None or transition.get("cond") is not None:
            raise self.error(transition, "the transition of <initial> takes neither event nor cond")
        target = transition.get("target")
        if target is None:
            raise self.error(transition, "missing target; name the initial state")
        return Transition(
            target=self.check_targets(transition, target, "target"),
            action=self.block(transition, f"initial transition of {state_id!r}"),
        )

    def history(self, node: Node, state_id: str) -> History:
        self.check_children(node, ("transition",))
        kind = node.get("type", "shallow")
        if kind not in ("shallow", "deep"):
            raise self.error(node, f"type={kind!r} is invalid; use \"shallow\" or \"deep\"")
        transitions = list(_children(node))
        if len(transitions) > 1:
            raise self.error(transitions[1], "a <history> takes at most one default <transition>")
        default: Transition | None = None
        if transitions:
            transition = transitions[0]
            if transition.get("event") is not None or transition.get("cond") is not None:
                raise self.error(transition, "the default transition of <history> takes neither event nor cond")
            target = transition.get("target")
            if target is None:
                raise self.error(transition, "missing target; name the default history state")
            default = Transition(
                target=self.check_targets(transition, target, "target"),
                action=self.block(transition, f"default transition of history {state_id!r}"),
            )
        return History(state_id, deep=kind == "deep", default=default)

    def transition(self, node: Node, state_id: str) -> Transition:
        event = node.get("event")
        cond = node.get("cond")
        if cond is not None and not cond.strip():
            # An empty attribute is read as an absent one, as XML tools
            # commonly do: a transition with cond="" has no condition.
            cond = None
        target = node.get("target")
        kind = node.get("type", "external")
        if kind not in ("internal", "external"):
            raise self.error(node, f"type={kind!r} is invalid; use \"internal\" or \"external\"")
        if event is not None:
            # ".*" is the wildcard suffix on an empty prefix, so it matches
            # every event; the engine's descriptor parser only accepts "*".
            event = " ".join("*" if token == ".*" else token for token in event.split()) or event
            try:
                parse_descriptors(event)
            except ValueError as exc:
                raise self.error(node, f"invalid event attribute: {exc}") from None
        if event is None and cond is None and target is None:
            raise self.error(node, "needs at least one of event, cond and target")
        targets = self.check_targets(node, target, "target") if target is not None else None
        guard = _guard(self.compiler.cond(cond, node), cond) if cond is not None else None
        return Transition(
            event=event,
            target=targets,
            guard=guard,
            action=self.block(node, f"transition at line {node.line}"),
            internal=kind == "internal",
        )

    def donedata(self, node: Node) -> Callable[[Any], Any] | None:
        elements = [c for c in _children(node) if local_name(c.tag) == "donedata"]
        if not elements:
            return None
        if len(elements) > 1:
            raise self.error(elements[1], "a <final> takes at most one <donedata>")
        element = elements[0]
        self.check_children(element, ("content", "param"))
        contents = [c for c in _children(element) if local_name(c.tag) == "content"]
        params = [c for c in _children(element) if local_name(c.tag) == "param"]
        if contents and params:
            raise self.error(element, "has both <content> and <param>; keep one")
        if len(contents) > 1:
            raise self.error(contents[1], "<donedata> takes at most one <content>")
        if contents:
            evaluate = compile_content(self.compiler, contents[0])
        else:
            param_list = compile_params(self.compiler, None, params, element)
            evaluate = param_list.evaluate

        def donedata(ctx: Any) -> Any:
            ns = ctx.data
            ns["_event"] = ctx.event
            return evaluate(ns)

        donedata.scxml_elements = [element]  # type: ignore[attr-defined]
        return donedata

    # -- datamodel -------------------------------------------------------------

    def datamodel(self, node: Node) -> list[tuple[str, Evaluator]]:
        self.check_children(node, ("data",))
        items: list[tuple[str, Evaluator]] = []
        for data in _children(node):
            self.compiler.require_python(data, "<data>")
            name = data.get("id")
            if not name:
                raise self.error(data, "missing id; name the variable")
            if not name.isidentifier():
                raise self.error(data, f"id {name!r} is not a valid Python variable name")
            if name in self.declared_lines:
                raise self.error(
                    data,
                    f"variable {name!r} is already declared on line {self.declared_lines[name]}",
                )
            self.declared_lines[name] = data.line
            self.declared.append(name)
            attr, value = self.exclusive(data, "expr", "src")
            inline = len(data) > 0 or bool((data.text or "").strip())
            if attr is not None and inline:
                raise self.error(data, f"has both {attr} and inline content; keep one")
            if attr == "expr":
                items.append((name, self.compiler.expr(value, data)))
            elif attr == "src":
                items.append((name, self.read_src(data, value)))
            elif inline:
                items.append((name, constant(content_value(data))))
            else:
                items.append((name, constant(None)))
        return items

    def resolve(self, uri: str) -> Path:
        if uri.startswith("file://"):
            uri = uri[len("file://"):]
        elif uri.startswith("file:"):
            uri = uri[len("file:"):]
        path = Path(uri)
        return path if path.is_absolute() else self.folder / path

    def read_src(self, node: Node, uri: str | None) -> Evaluator:
        assert uri is not None
        path = self.resolve(uri)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            message = f"cannot read src {uri!r} ({path}): {exc.strerror or exc}"
            if not self.options.defer_syntax_errors:
                raise self.error(node, message) from None
            return _raiser(OSError(message))
        return constant(parse_literal(text))

    def script(self, node: Node) -> Evaluator:
        self.check_children(node, ())
        src = node.get("src")
        if src is not None:
            if (node.text or "").strip():
                raise self.error(node, "has both src and inline code; keep one")
            path = self.resolve(src)
            try:
                code = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise self.error(node, f"cannot read src {src!r} ({path}): {exc.strerror or exc}") from None
            return self.compiler.script(code, node)
        return self.compiler.script(node.text or "", node)

    # -- executable content ------------------------------------------------------

    def blocks(self, node: Node, tag: str, state_id: str) -> list[Block]:
        result = []
        for child in _children(node):
            if local_name(child.tag) == tag:
                block = self.block(child, f"<{tag}> of {state_id!r} at line {child.line}")
                if block is not None:
                    result.append(block)
        return result

    def block(self, node: Node, where: str) -> Block | None:
        steps = self.steps(list(_children(node)))
        return Block(steps, where, node) if steps else None

    def steps(self, nodes: Sequence[Node]) -> list[Step]:
        steps: list[Step] = []
        for node in nodes:
            tag = local_name(node.tag)
            method = getattr(self, f"step_{tag}", None)
            if method is None or tag not in _EXECUTABLE:
                if tag in ("elseif", "else"):
                    raise self.error(node, "is only allowed directly inside <if>")
                raise self.error(
                    node,
                    "unknown executable content; expected one of "
                    + ", ".join(f"<{t}>" for t in _EXECUTABLE),
                )
            steps.append(method(node))
        return steps

    def step_raise(self, node: Node) -> Step:
        self.check_children(node, ())
        event = node.get("event")
        if not event or len(event.split()) != 1:
            raise self.error(node, "needs an event attribute with one event name")
        return raise_step(event)

    def step_log(self, node: Node) -> Step:
        self.check_children(node, ())
        expr = node.get("expr")
        return log_step(node.get("label"), self.compiler.expr(expr, node) if expr is not None else None)

    def step_assign(self, node: Node) -> Step:
        location = self.compiler.location(node.get("location"), node)
        expr = node.get("expr")
        inline = len(node) > 0 or bool((node.text or "").strip())
        if expr is not None and inline:
            raise self.error(node, "has both expr and inline content; keep one")
        if expr is not None:
            evaluate = self.compiler.expr(expr, node)
        elif inline:
            evaluate = constant(content_value(node))
        else:
            raise self.error(node, "needs expr or inline content for the value")
        return assign_step(location, evaluate)

    def step_script(self, node: Node) -> Step:
        return script_step(self.script(node))

    def step_cancel(self, node: Node) -> Step:
        self.check_children(node, ())
        attr, value = self.exclusive(node, "sendid", "sendidexpr", required=True)
        if attr == "sendid":
            return cancel_step(constant(value))
        return cancel_step(self.compiler.expr(value, node, "sendidexpr"))

    def step_if(self, node: Node) -> Step:
        cond = node.get("cond")
        if cond is None:
            raise self.error(node, "missing cond")
        branches: list[tuple[Evaluator | None, list[Node]]] = [(self.compiler.cond(cond, node), [])]
        seen_else = False
        for child in _children(node):
            tag = local_name(child.tag)
            if tag in ("elseif", "else"):
                self.check_children(child, ())
                if seen_else:
                    raise self.error(child, "no <elseif> or <else> may follow <else>")
                if tag == "elseif":
                    child_cond = child.get("cond")
                    if child_cond is None:
                        raise self.error(child, "missing cond")
                    branches.append((self.compiler.cond(child_cond, child), []))
                else:
                    seen_else = True
                    branches.append((None, []))
            else:
                branches[-1][1].append(child)
        return if_step([(test, self.steps(body)) for test, body in branches])

    def step_foreach(self, node: Node) -> Step:
        array = node.get("array")
        item = node.get("item")
        if array is None or item is None:
            raise self.error(node, "needs both array and item attributes")
        index = node.get("index")
        return foreach_step(
            self.compiler.expr(array, node, "array"),
            self.compiler.location(item, node, "item", name_only=True),
            self.compiler.location(index, node, "index", name_only=True) if index is not None else None,
            self.steps(list(_children(node))),
        )

    def step_send(self, node: Node) -> Step:
        self.check_children(node, ("param", "content"))
        compiler = self.compiler

        def value(literal: str, expression: str) -> Evaluator | None:
            attr, text = self.exclusive(node, literal, expression)
            if attr is None:
                return None
            if attr == literal:
                return constant(text)
            return compiler.expr(text, node, expression)

        event = value("event", "eventexpr")
        contents = [c for c in _children(node) if local_name(c.tag) == "content"]
        params = [c for c in _children(node) if local_name(c.tag) == "param"]
        namelist = node.get("namelist")
        if contents and (params or namelist):
            raise self.error(node, "has <content> together with namelist or <param>; keep one")
        if len(contents) > 1:
            raise self.error(contents[1], "<send> takes at most one <content>")
        if event is None:
            raise self.error(node, "missing event; give event or eventexpr")
        delay_attr, delay_text = self.exclusive(node, "delay", "delayexpr")
        if delay_attr == "delay":
            try:
                parse_delay(delay_text)
            except ValueError as exc:
                raise self.error(node, str(exc)) from None
        id_attr, id_value = self.exclusive(node, "id", "idlocation")
        return SendStep(
            event=event,
            target=value("target", "targetexpr"),
            type=value("type", "typeexpr"),
            delay=value("delay", "delayexpr"),
            sendid=id_value if id_attr == "id" else None,
            idlocation=compiler.location(id_value, node, "idlocation") if id_attr == "idlocation" else None,
            params=compile_params(compiler, namelist, params, node),
            content=compile_content(compiler, contents[0]) if contents else None,
            line=node.line,
        )

    # -- invoke ----------------------------------------------------------------

    def invoke(self, node: Node, state_id: str) -> ScxmlInvoke:
        self.check_children(node, ("param", "content", "finalize"))
        compiler = self.compiler
        type_attr, type_value = self.exclusive(node, "type", "typeexpr")
        src_attr, src_value = self.exclusive(node, "src", "srcexpr")
        id_attr, id_value = self.exclusive(node, "id", "idlocation")
        contents = [c for c in _children(node) if local_name(c.tag) == "content"]
        params = [c for c in _children(node) if local_name(c.tag) == "param"]
        finalizes = [c for c in _children(node) if local_name(c.tag) == "finalize"]
        if len(contents) > 1:
            raise self.error(contents[1], "<invoke> takes at most one <content>")
        if len(finalizes) > 1:
            raise self.error(finalizes[1], "<invoke> takes at most one <finalize>")
        if src_attr is not None and contents:
            raise self.error(node, f"has both {src_attr} and <content>; keep one")
        if src_attr is None and not contents:
            raise self.error(node, "needs the child document: src, srcexpr or <content>")
        autoforward = node.get("autoforward", "false")
        if autoforward not in ("true", "false"):
            raise self.error(node, f"autoforward={autoforward!r} is invalid; use \"true\" or \"false\"")

        machine: Machine | None = None
        source: Evaluator | None = None
        source_is_src = False
        if src_attr == "src":
            assert src_value is not None
            try:
                machine = self.load_child(src_value, True)
            except ScxmlError:
                if not self.options.defer_syntax_errors:
                    raise
                source, source_is_src = constant(src_value), True
        elif src_attr == "srcexpr":
            source, source_is_src = compiler.expr(src_value, node, "srcexpr"), True
        else:
            content = contents[0]
            if content.get("expr") is not None:
                source = compile_content(compiler, content)
            else:
                documents = list(_children(content))
                if len(documents) != 1 or local_name(documents[0].tag) != "scxml":
                    raise self.error(content, "the <content> of an <invoke> must hold one <scxml> document")
                machine = _Reader(documents[0], self.filename, self.folder, self.options).build()

        type_eval: Evaluator | None = None
        if type_attr == "type":
            type_eval = constant(type_value)
        elif type_attr == "typeexpr":
            type_eval = compiler.expr(type_value, node, "typeexpr")
        finalize = None
        if finalizes:
            for child in _children(finalizes[0]):
                if local_name(child.tag) == "send":
                    raise self.error(child, "<finalize> must not contain <send>")
            finalize = self.block(finalizes[0], f"<finalize> of {state_id!r}")
        invoke = ScxmlInvoke(
            state_id=state_id,
            line=node.line,
            type=type_eval,
            machine=machine,
            source=source,
            source_is_src=source_is_src,
            load_child=self.load_child,
            invokeid=id_value if id_attr == "id" else None,
            idlocation=compiler.location(id_value, node, "idlocation") if id_attr == "idlocation" else None,
            params=compile_params(compiler, node.get("namelist"), params, node),
            autoforward=autoforward == "true",
            finalize=finalize,
        )
        invoke.scxml_elements = [node]
        return invoke

    def load_child(self, value: Any, is_src: bool) -> Machine:
        """Turn a ``src`` URI or a ``<content>`` value into a child Machine."""
        if isinstance(value, Machine):
            return value
        if is_src:
            if not isinstance(value, str):
                raise TypeError(f"invoke src must be a string URI, got {value!r}")
            path = self.resolve(value)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ScxmlError(
                    f"cannot read invoked document {value!r}: {exc.strerror or exc}",
                    file=str(path),
                ) from None
            return _Reader(parse_xml(data, str(path)), str(path), path.resolve().parent, self.options).build()
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, ET.Element):
            return _Reader(value, self.filename, self.folder, self.options).build()  # type: ignore[arg-type]
        if isinstance(value, (str, bytes)):
            return _Reader(parse_xml(value, None), None, self.folder, self.options).build()
        raise TypeError(
            f"invoke content must be an <scxml> document (element or text), got {value!r}"
        )


# ----------------------------------------------------------------------
# Callables bound into the chart


def _bind(ctx: Any, items: Sequence[tuple[str, Evaluator]], provided: frozenset[str]) -> None:
    """Evaluate ``<data>`` values; each failure queues its own error.execution."""
    ns = ctx.data
    ns["_event"] = ctx.event
    for name, evaluate in items:
        if name in provided:
            continue
        try:
            ns[name] = evaluate(ns)
        except Exception as exc:  # noqa: BLE001 - document code; SCXML says error.execution
            queue_error(ctx, exc)


def _state_datamodel(items: list[tuple[str, Evaluator]], elements: list[Node]) -> Callable[[Any], None]:
    frozen = tuple(items)

    def initialise(ctx: Any) -> None:
        _bind(ctx, frozen, ctx.data["_x"].provided)

    initialise.scxml_elements = elements  # type: ignore[attr-defined]
    return initialise


def _guard(test: Evaluator, cond: str) -> Callable[[Any], bool]:
    def guard(ctx: Any) -> bool:
        ns = ctx.data
        ns["_event"] = ctx.event
        return test(ns)  # type: ignore[no-any-return]

    guard.scxml_cond = cond  # type: ignore[attr-defined]
    return guard


def _raiser(exc: Exception) -> Evaluator:
    def fail(ns: dict[str, Any]) -> Any:
        raise type(exc)(*exc.args)

    return fail

