"""Diagrams of a ``Machine``: Mermaid ``stateDiagram-v2`` and Graphviz dot.

Both walk the chart without recursion. Transition labels are the event
descriptors, with ``[cond]`` for a condition loaded from SCXML and
``[guard]`` for a Python guard. A transition with several targets draws one
arrow per target; a targetless transition draws a loop on its source.
"""

from __future__ import annotations

import re
from typing import Any

from ..machine import COMPOUND, FINAL, HISTORY, PARALLEL, Machine

__all__ = ["to_mermaid", "to_dot"]

_PLAIN_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _label(transition: Any) -> str:
    parts = []
    if transition.event is not None:
        parts.append(transition.event)
    if transition.guard is not None:
        cond = getattr(transition.guard, "scxml_cond", None)
        parts.append(f"[{cond}]" if cond is not None else "[guard]")
    if transition.internal:
        parts.append("(internal)")
    return " ".join(parts)


def _transitions(m: Machine) -> list[tuple[int, list[int], str]]:
    result = []
    for s in range(1, len(m.ids)):
        for t in m.transitions[s]:
            targets = list(t.targets) or [s]
            result.append((s, targets, _label(t.spec)))
    return result


def to_mermaid(m: Machine) -> str:
    """Return a Mermaid ``stateDiagram-v2`` of the chart."""
    names: dict[int, str] = {}
    declarations: list[str] = []
    taken = set(m.index)

    def alias(s: int) -> str:
        # Ids Mermaid cannot parse get an alias that no state id uses.
        name = f"state_{s}"
        while name in taken:
            name += "_"
        taken.add(name)
        return name

    for s in range(1, len(m.ids)):
        state_id = m.ids[s]
        assert state_id is not None
        label = state_id.replace('"', "'")
        if m.kind[s] == HISTORY:
            names[s] = alias(s)
            mark = "H*" if m.nodes[s].deep else "H"
            declarations.append(f'state "{mark} ({label})" as {names[s]}')
        elif _PLAIN_ID.fullmatch(state_id) and state_id not in ("state", "note", "end"):
            names[s] = state_id
        else:
            names[s] = alias(s)
            declarations.append(f'state "{label}" as {names[s]}')

    lines = ["stateDiagram-v2"]
    lines.extend("    " + d for d in declarations)
    for t in m.initial[0].targets:
        lines.append(f"    [*] --> {names[t]}")
    stack: list[tuple[str, int, int]] = [("open", c, 1) for c in reversed(_all_children(m, 0))]
    while stack:
        op, s, depth = stack.pop()
        pad = "    " * depth
        if op == "close":
            lines.append(pad + "}")
            continue
        if op == "separator":
            lines.append(pad + "--")
            continue
        kind = m.kind[s]
        if kind == FINAL:
            lines.append(f"{pad}{names[s]} --> [*]")
            continue
        if kind not in (COMPOUND, PARALLEL):
            lines.append(f"{pad}{names[s]}")
            continue
        lines.append(f"{pad}state {names[s]} {{")
        children = _all_children(m, s)
        stack.append(("close", s, depth))
        if kind == COMPOUND:
            for t in m.initial[s].targets:
                lines.append(f"{pad}    [*] --> {names[t]}")
            for c in reversed(children):
                stack.append(("open", c, depth + 1))
        else:
            regions = list(m.children[s])
            for position, c in enumerate(reversed(regions)):
                stack.append(("open", c, depth + 1))
                if position < len(regions) - 1:
                    stack.append(("separator", c, depth + 1))
    for source, targets, label in _transitions(m):
        # A colon ends the label in Mermaid; #58; is its entity code.
        suffix = f" : {label.replace(':', '#58;')}" if label else ""
        for target in targets:
            lines.append(f"    {names[source]} --> {names[target]}{suffix}")
    return "\n".join(lines) + "\n"


def _all_children(m: Machine, s: int) -> list[int]:
    return sorted(m.children[s] + m.history.get(s, ()))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(m: Machine) -> str:
    """Return a Graphviz ``digraph`` of the chart.

    Compound and parallel states are clusters (parallel ones dashed); edges
    to and from a cluster attach to an invisible anchor inside it.
    """
    lines = [
        "digraph statechart {",
        "  compound=true;",
        "  rankdir=LR;",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    if m.name:
        lines.append(f"  label={_quote(m.name)};")

    def node_name(s: int) -> str:
        return _quote(f"{m.ids[s]}::anchor") if m.kind[s] in (COMPOUND, PARALLEL) else _quote(str(m.ids[s]))

    lines.append('  "::start" [shape=point, width=0.15];')
    for t in m.initial[0].targets:
        lines.append(f'  "::start" -> {node_name(t)}{_cluster_attr(m, t, "lhead")};')

    stack: list[tuple[str, int, int]] = [("open", c, 1) for c in reversed(_all_children(m, 0))]
    while stack:
        op, s, depth = stack.pop()
        pad = "  " * depth
        if op == "close":
            lines.append(pad + "}")
            continue
        kind = m.kind[s]
        state_id = str(m.ids[s])
        if kind == FINAL:
            lines.append(f"{pad}{_quote(state_id)} [shape=doublecircle, style=solid, label={_quote(state_id)}];")
        elif kind == HISTORY:
            mark = "H*" if m.nodes[s].deep else "H"
            lines.append(f"{pad}{_quote(state_id)} [shape=circle, style=solid, label={_quote(mark)}];")
        elif kind in (COMPOUND, PARALLEL):
            lines.append(f"{pad}subgraph {_quote('cluster_' + state_id)} {{")
            lines.append(f"{pad}  label={_quote(state_id)};")
            lines.append(f"{pad}  style={'dashed' if kind == PARALLEL else 'rounded'};")
            lines.append(f"{pad}  {node_name(s)} [shape=point, style=invis, width=0];")
            if kind == COMPOUND:
                start = _quote(f"{state_id}::start")
                lines.append(f"{pad}  {start} [shape=point, width=0.1];")
                for t in m.initial[s].targets:
                    lines.append(f"{pad}  {start} -> {node_name(t)}{_cluster_attr(m, t, 'lhead')};")
            stack.append(("close", s, depth))
            for c in reversed(_all_children(m, s)):
                stack.append(("open", c, depth + 1))
        else:
            lines.append(f"{pad}{_quote(state_id)};")
    for source, targets, label in _transitions(m):
        for target in targets:
            attrs = []
            if label:
                attrs.append(f"label={_quote(label)}")
            if m.kind[source] in (COMPOUND, PARALLEL):
                attrs.append(f"ltail={_quote('cluster_' + str(m.ids[source]))}")
            if m.kind[target] in (COMPOUND, PARALLEL) and target != source:
                attrs.append(f"lhead={_quote('cluster_' + str(m.ids[target]))}")
            suffix = f" [{', '.join(attrs)}]" if attrs else ""
            lines.append(f"  {node_name(source)} -> {node_name(target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _cluster_attr(m: Machine, target: int, key: str) -> str:
    if m.kind[target] in (COMPOUND, PARALLEL):
        return f" [{key}={_quote('cluster_' + str(m.ids[target]))}]"
    return ""
