"""Datamodels of SCXML documents: expressions compiled once, evaluated per call.

Two datamodels are supported:

- ``python``: expressions, conditions, locations and ``<script>`` bodies are
  Python, compiled at load time with the document's file name and line
  numbers so that tracebacks point into the document. The datamodel is the
  interpreter's ``ctx.data`` dict, used as the globals of every evaluation;
  variables are its keys. Code from the document runs with full Python
  access, which is why loading such a document needs ``allow_python=True``.
- ``null``: no variables. A condition may only combine ``In('id')`` calls
  with ``and``, ``or`` and ``not``, and other expressions may only be literals
  (``'text'``, ``3``, ``True``), checked when the document is loaded, so a
  document cannot run code and needs no opt-in.

System variables live in the same dict: ``_event`` (the current ``Event``,
``None`` before the first one), ``_sessionid``, ``_name``, ``_ioprocessors``
and ``_x`` (this package's per-session record, ``SessionInfo``). They are
read-only for ``<assign>``.
"""

from __future__ import annotations

import ast
import builtins
import itertools
import json
import textwrap
from collections.abc import Callable
from typing import Any, cast

from .errors import ScxmlError
from .xmltree import Node, local_name

__all__ = [
    "PYTHON",
    "NULL",
    "SCXML_PROCESSOR",
    "SYSTEM_VARIABLES",
    "Compiler",
    "EventData",
    "Location",
    "SessionInfo",
    "install_system_variables",
    "parse_literal",
    "content_value",
]

PYTHON = "python"
NULL = "null"

#: The type URI of the SCXML event I/O processor, the only one supported.
SCXML_PROCESSOR = "http://www.w3.org/TR/scxml/#SCXMLEventProcessor"

SYSTEM_VARIABLES = frozenset({"_event", "_sessionid", "_name", "_ioprocessors", "_x"})

# Globals of the Python datamodel's builtins. true/false/null are bound as in
# JSON so that conditions written with those literals read the same here.
_PYTHON_BUILTINS: dict[str, Any] = dict(vars(builtins))
_PYTHON_BUILTINS.update(true=True, false=False, null=None)


class EventData(dict):  # type: ignore[type-arg]
    """The data of an event built from ``<param>`` and ``namelist``.

    A dict whose keys are also readable as attributes, so that both
    ``_event.data['p']`` and ``_event.data.p`` work in expressions.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"event data has no field {name!r}; fields: {sorted(self)}"
            ) from None


class SessionInfo:
    """Per-session record of the SCXML layer, stored as the ``_x`` variable.

    ``sessions`` is the session registry that routes sends to other sessions
    and starts invocations (``None`` for a plain ``Interpreter``).
    ``parent`` and ``invokeid`` are set for an invoked child session.
    ``provided`` contains the names whose values were given when the session was
    created (``<invoke>`` parameters, ``Interpreter(data=...)``): ``<data>``
    does not overwrite them.
    """

    __slots__ = ("sessions", "parent", "invokeid", "provided", "_counter")

    def __init__(
        self,
        sessions: Any = None,
        parent: str | None = None,
        invokeid: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.parent = parent
        self.invokeid = invokeid
        self.provided: frozenset[str] = frozenset()
        self._counter = itertools.count(1)

    def next_id(self, prefix: str) -> str:
        """Return a new id unique within this session (send ids, invoke ids)."""
        return f"{prefix}.{next(self._counter)}"


def install_system_variables(ctx: Any, datamodel: str) -> SessionInfo:
    """Set up the system variables of a session in ``ctx.data``.

    Called once at start, before any ``<data>`` is evaluated. Names already
    in the dict (other than system variables) are recorded as provided.
    """
    ns = ctx.data
    info = ns.get("_x")
    if not isinstance(info, SessionInfo):
        info = SessionInfo()
    info.provided = frozenset(k for k in ns if k not in SYSTEM_VARIABLES)
    session_id = ctx.session_id
    ns["__builtins__"] = _PYTHON_BUILTINS if datamodel == PYTHON else {}
    ns["In"] = ctx.is_in
    ns["_x"] = info
    ns["_event"] = None
    ns["_sessionid"] = session_id
    ns["_name"] = ctx.name
    location = {"location": f"#_scxml_{session_id}"}
    ns["_ioprocessors"] = {SCXML_PROCESSOR: location, "scxml": location}
    return info


def parse_literal(text: str) -> Any:
    """Return the value of inline ``<data>``/``<content>`` text or a src file.

    JSON or a Python literal gives its value (``123``, ``[1, 2]``,
    ``{"a": 1}``); anything else is kept as the stripped string. Nothing is
    executed, so this is safe under every datamodel.
    """
    stripped = text.strip()
    if not stripped:
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    try:
        return ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return stripped


def content_value(node: Node) -> Any:
    """Return the inline value of a ``<content>``, ``<data>`` or ``<assign>``.

    Child elements give an XML value: the element itself when there is one,
    a list when there are several. Otherwise the text is parsed with
    ``parse_literal``.
    """
    children = list(node)
    if children:
        return children[0] if len(children) == 1 else children
    return parse_literal(node.text or "")


class Location:
    """A compiled ``location`` (or ``item``/``index``/``idlocation``).

    ``assign(ns, value)`` stores a value. A plain name must already be a
    declared variable unless ``declare`` is true (``<foreach>`` creates its
    item and index variables); system variables are read-only.
    """

    __slots__ = ("text", "name", "_base", "_key", "_attr")

    def __init__(self, text: str, name: str | None, base: Any, key: Any, attr: str | None) -> None:
        self.text = text
        self.name = name
        self._base = base
        self._key = key
        self._attr = attr

    def assign(self, ns: dict[str, Any], value: Any, declare: bool = False) -> None:
        name = self.name
        if name is not None:
            if name in SYSTEM_VARIABLES:
                raise ValueError(
                    f"cannot assign to {name!r}: system variables are read-only"
                )
            if not declare and name not in ns:
                raise NameError(
                    f"cannot assign to undeclared variable {name!r}; declare it "
                    f"with <data id={name!r}/>"
                )
            ns[name] = value
            return
        target = eval(self._base, ns)
        if self._attr is not None:
            setattr(target, self._attr, value)
        else:
            target[eval(self._key, ns)] = value


Evaluator = Callable[[dict[str, Any]], Any]


class Compiler:
    """Compiles the expressions of one document for its datamodel.

    With ``defer_syntax_errors`` an expression that does not compile becomes
    one that raises when evaluated, which the interpreter turns into
    ``error.execution`` as the SCXML recommendation requires. Without it the
    error is a ``ScxmlError`` at load time.
    """

    def __init__(self, datamodel: str, filename: str | None, defer_syntax_errors: bool) -> None:
        self.datamodel = datamodel
        self.filename = filename
        self.defer = defer_syntax_errors
        self._code_name = filename or "<scxml>"

    # -- errors ---------------------------------------------------------

    def error(self, node: Node, message: str) -> ScxmlError:
        """Return a ``ScxmlError`` pointing at ``node``."""
        return ScxmlError(message, file=self.filename, line=node.line, element=local_name(node.tag))

    def _fail(self, node: Node, message: str) -> Evaluator:
        err = self.error(node, message)
        if not self.defer:
            raise err

        def raise_deferred(ns: dict[str, Any]) -> Any:
            raise ScxmlError(str(err))

        return raise_deferred

    # -- parsing --------------------------------------------------------

    def _parse(self, text: str, node: Node, attr: str, mode: str = "eval") -> ast.Expression | ast.Module | str:
        """Parse source text; return the tree, or an error message."""
        # Leading newlines move the code down; keep line numbers right.
        line = node.line if mode == "eval" else (node.text_line or node.line)
        stripped = text.lstrip("\n")
        line += len(text) - len(stripped)
        source = stripped.strip() if mode == "eval" else _dedent(stripped)
        if not source and mode == "eval":
            return f"{attr} is empty; give an expression"
        try:
            tree = cast("ast.Expression | ast.Module", ast.parse(source, self._code_name, mode=mode))
        except SyntaxError as exc:
            return f"{attr}={text!r} is not a valid Python {'expression' if mode == 'eval' else 'script'}: {exc.msg}"
        ast.increment_lineno(tree, line - 1)
        return tree

    def _check_null(self, tree: ast.AST, node: Node, attr: str, cond: bool) -> str | None:
        """Return why an expression is not allowed in the null datamodel."""
        for sub in ast.walk(tree):
            if isinstance(sub, (ast.Expression, ast.Constant, ast.Load)):
                continue
            if isinstance(sub, (ast.List, ast.Tuple, ast.Dict, ast.UnaryOp, ast.USub, ast.UAdd)) and not cond:
                continue
            if cond and isinstance(sub, (ast.BoolOp, ast.And, ast.Or, ast.Not)):
                continue
            if cond and isinstance(sub, ast.UnaryOp) and isinstance(sub.op, ast.Not):
                continue
            if (
                cond
                and isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Name)
                and sub.func.id == "In"
                and len(sub.args) == 1
                and not sub.keywords
                and isinstance(sub.args[0], ast.Constant)
                and isinstance(sub.args[0].value, str)
            ):
                continue
            if cond and isinstance(sub, ast.Name) and sub.id == "In":
                continue
            what = "In('state') calls joined by and/or/not" if cond else "literals"
            return (
                f"{attr} uses {ast.unparse(sub)!r}, but the null datamodel allows only "
                f"{what}; declare datamodel=\"python\" to use expressions"
            )
        return None

    # -- public compile methods -----------------------------------------

    def expr(self, text: str | None, node: Node, attr: str = "expr") -> Evaluator:
        """Compile a value expression; returns ``fn(ns) -> value``."""
        if text is None:
            raise self.error(node, f"missing {attr}")
        tree = self._parse(text, node, attr)
        if isinstance(tree, str):
            return self._fail(node, tree)
        if self.datamodel == NULL:
            problem = self._check_null(tree, node, attr, cond=False)
            if problem:
                raise self.error(node, problem)
        code = compile(tree, self._code_name, "eval")

        def evaluate(ns: dict[str, Any]) -> Any:
            return eval(code, ns)

        evaluate.__qualname__ = f"{attr} at line {node.line}"
        return evaluate

    def cond(self, text: str, node: Node) -> Evaluator:
        """Compile a condition; returns ``fn(ns) -> bool``."""
        tree = self._parse(text, node, "cond")
        if isinstance(tree, str):
            return self._fail(node, tree)
        if self.datamodel == NULL:
            problem = self._check_null(tree, node, "cond", cond=True)
            if problem:
                raise self.error(node, problem)
        code = compile(tree, self._code_name, "eval")

        def test(ns: dict[str, Any]) -> bool:
            return bool(eval(code, ns))

        test.__qualname__ = f"cond at line {node.line}"
        return test

    def location(self, text: str | None, node: Node, attr: str = "location", name_only: bool = False) -> Location | Evaluator:
        """Compile an assignable location.

        Returns a ``Location``, or with deferred syntax errors possibly an
        evaluator that raises. ``name_only`` requires a plain variable name
        (``<foreach item>``, ``index``).
        """
        if text is None:
            raise self.error(node, f"missing {attr}")
        self.require_python(node, attr)
        tree = self._parse(text, node, attr)
        if isinstance(tree, str):
            return self._fail(node, tree)
        assert isinstance(tree, ast.Expression)
        body = tree.body
        if isinstance(body, ast.Name):
            return Location(text, body.id, None, None, None)
        if name_only:
            return self._fail(node, f"{attr}={text!r} is not a variable name")
        if isinstance(body, ast.Attribute):
            base = compile(ast.Expression(body.value), self._code_name, "eval")
            return Location(text, None, base, None, body.attr)
        if isinstance(body, ast.Subscript):
            base = compile(ast.Expression(body.value), self._code_name, "eval")
            key = compile(ast.Expression(body.slice), self._code_name, "eval")
            return Location(text, None, base, key, None)
        return self._fail(
            node,
            f"{attr}={text!r} is not assignable; use a variable name, an "
            "attribute (a.b) or an item (a[0])",
        )

    def script(self, text: str, node: Node) -> Evaluator:
        """Compile a ``<script>`` body; returns ``fn(ns)`` that executes it."""
        self.require_python(node, "<script>")
        tree = self._parse(text, node, "script", mode="exec")
        if isinstance(tree, str):
            return self._fail(node, tree)
        code = compile(tree, self._code_name, "exec")

        def run(ns: dict[str, Any]) -> None:
            exec(code, ns)

        run.__qualname__ = f"script at line {node.line}"
        return run

    def require_python(self, node: Node, what: str) -> None:
        """Raise unless the datamodel can hold variables."""
        if self.datamodel != PYTHON:
            raise self.error(
                node,
                f"{what} needs a datamodel with variables, but this document's "
                f"datamodel is {self.datamodel!r}; declare datamodel=\"python\"",
            )


def _dedent(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"
