"""Property tests over random charts and random event sequences.

A generated chart nests compound, parallel, final and history states under
one top state ``n0``, optionally beside a top-level final state ``end``.
Transitions use a small event alphabet. Every eventless transition and every
action that raises an event is guarded by a per-macrostep budget in
``ctx.data``, so a generated chart has no unguarded cycle and a
``MacrostepLimitError`` is always a failure.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import ReferenceInterpreter, legal_configuration, naive_lca, naive_lcca
from statechartx import (
    Final,
    History,
    Interpreter,
    Machine,
    Microstep,
    Parallel,
    State,
    Transition,
)

pytestmark = pytest.mark.timeout(120)

EVENTS = ("a", "b", "c", "a.x", "b.y")
DESCRIPTORS = ("a", "b", "c", "a.*", "a.x", "b c", "b.y")
BUDGET = 6

# STATECHARTX_PROPERTY_EXAMPLES raises the example count for a longer
# search. The default of 100 keeps each property under about 20 s.
PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("STATECHARTX_PROPERTY_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass
class NodeSpec:
    id: str
    kind: str  # "state", "parallel", "final" or "history"
    parent: int  # index into ChartSpec.nodes; -1 for the top state
    deep: bool = False
    default: str | None = None
    logs: bool = False


@dataclass
class TransitionSpec:
    source: int
    event: str | None
    target: str | None
    internal: bool
    raises: str | None


@dataclass
class ChartSpec:
    nodes: list[NodeSpec]
    transitions: list[TransitionSpec]
    top_final: bool
    initials: dict[int, str] = field(default_factory=dict)

    def children(self, i: int) -> list[int]:
        return [j for j, node in enumerate(self.nodes) if node.parent == i]

    def regular_children(self, i: int) -> list[int]:
        return [j for j in self.children(i) if self.nodes[j].kind != "history"]

    def descendants(self, i: int) -> list[int]:
        result: list[int] = []
        stack = self.children(i)
        while stack:
            j = stack.pop()
            result.append(j)
            stack.extend(self.children(j))
        return result


def eventless_guard(ctx: Any) -> bool:
    return ctx.data["eventless"] > 0


def spend_eventless(ctx: Any) -> None:
    ctx.data["eventless"] -= 1


def raise_guarded(name: str):
    def action(ctx: Any) -> None:
        if ctx.data["raises"] > 0:
            ctx.data["raises"] -= 1
            ctx.raise_event(name)

    return action


@st.composite
def chart_specs(draw: st.DrawFn, max_nodes: int = 18, plain: bool = False) -> ChartSpec:
    """Draw a chart spec: a tree of states plus transitions between them.

    ``plain`` charts have no guard, no eventless transition and no raised
    event, which is the shape the interpreter's precomputed chain plans
    serve.
    """
    nodes = [NodeSpec("n0", "state", -1)]
    containers = [0]
    count = draw(st.integers(min_value=1, max_value=max_nodes))
    for i in range(1, count + 1):
        parent = draw(st.sampled_from(containers))
        parent_is_parallel = nodes[parent].kind == "parallel"
        kinds = ["state", "state", "state", "parallel", "history"]
        if not parent_is_parallel:
            kinds.append("final")
        kind = draw(st.sampled_from(kinds))
        node = NodeSpec(f"n{i}", kind, parent)
        if kind == "history":
            node.deep = draw(st.booleans())
        else:
            node.logs = draw(st.booleans())
        nodes.append(node)
        if kind in ("state", "parallel"):
            containers.append(i)

    spec = ChartSpec(nodes, [], top_final=draw(st.booleans()))

    # A container that received no regular child gets an atomic one, so that
    # no compound state holds only history states and no parallel is empty.
    for i in range(len(nodes)):
        node = spec.nodes[i]
        if node.kind in ("state", "parallel") and spec.children(i) and not spec.regular_children(i):
            spec.nodes.append(NodeSpec(f"x{i}", "state", i))

    regular = [i for i, n in enumerate(spec.nodes) if n.kind != "history"]
    for i, node in enumerate(spec.nodes):
        if node.kind == "history":
            inside = [j for j in spec.descendants(node.parent) if spec.nodes[j].kind != "history"]
            if draw(st.booleans()):
                node.default = spec.nodes[draw(st.sampled_from(inside))].id
        elif node.kind == "state" and spec.regular_children(i) and draw(st.booleans()):
            # An initial may name any deeper descendant, also one inside a
            # region of a parallel state, whose other regions then enter by
            # default.
            inside = [j for j in spec.descendants(i) if spec.nodes[j].kind != "history"]
            spec.initials[i] = spec.nodes[draw(st.sampled_from(inside))].id

    targets = [spec.nodes[i].id for i in range(len(spec.nodes))]
    if spec.top_final:
        targets.append("end")
    sources = [i for i in regular if spec.nodes[i].kind != "final"]
    for _ in range(draw(st.integers(min_value=0, max_value=3 * len(sources)))):
        source = draw(st.sampled_from(sources))
        if plain:
            event: str | None = draw(st.sampled_from(DESCRIPTORS))
            raises = None
        else:
            event = draw(st.one_of(st.none(), st.sampled_from(DESCRIPTORS)))
            raises = draw(st.one_of(st.none(), st.sampled_from(("a", "b.y", "c"))))
        target = draw(st.one_of(st.none(), st.sampled_from(targets)))
        if event is None and target is None:
            event = "c"
        spec.transitions.append(TransitionSpec(source, event, target, draw(st.booleans()), raises))
    return spec


def log_action(label: str):
    def action(ctx: Any) -> None:
        ctx.data.setdefault("log", []).append(label)

    return action


def build_chart(spec: ChartSpec) -> list[Any]:
    """Build the chart objects of a spec, children before parents."""
    transitions: dict[int, list[Transition]] = {}
    for t in spec.transitions:
        actions = [raise_guarded(t.raises)] if t.raises else []
        guard = None
        if t.event is None:
            guard = eventless_guard
            actions.insert(0, spend_eventless)
        transitions.setdefault(t.source, []).append(
            Transition(t.event, t.target, guard=guard, action=actions, internal=t.internal)
        )

    built: dict[int, Any] = {}
    for i in range(len(spec.nodes) - 1, -1, -1):
        node = spec.nodes[i]
        children = [built.pop(j) for j in spec.children(i)]
        hooks: dict[str, Any] = {}
        if node.logs:
            hooks = {"on_entry": log_action(f"enter:{node.id}"), "on_exit": log_action(f"exit:{node.id}")}
        if node.kind == "history":
            built[i] = History(node.id, deep=node.deep, default=node.default)
        elif node.kind == "final":
            built[i] = Final(node.id, **hooks)
        elif node.kind == "parallel" and children:
            built[i] = Parallel(node.id, children=children, transitions=transitions.get(i), **hooks)
        else:
            built[i] = State(
                node.id,
                children=children or None,
                initial=spec.initials.get(i) if children else None,
                transitions=transitions.get(i),
                **hooks,
            )
    top = [built[0]]
    if spec.top_final:
        top.append(Final("end"))
    return top


def run_events(machine: Machine, events: list[str], forced: list[str] | None = None) -> None:
    """Start an interpreter and check the configuration after every macrostep."""
    data = {"eventless": BUDGET, "raises": BUDGET}
    interp = Interpreter(machine, data=data, max_microsteps=10_000)
    interp.start()
    check = legal_configuration(machine, interp.configuration)
    assert check, f"after start: {check!r}"
    for step, name in enumerate(events):
        if not interp.running:
            assert interp.finished
            assert interp.configuration == {"end"}
            return
        data["eventless"] = BUDGET
        data["raises"] = BUDGET
        if forced is not None and step < len(forced) and forced[step]:
            interp.transition_to(forced[step])
            label = f"transition_to({forced[step]!r})"
        else:
            interp.send(name)
            label = f"event {name!r}"
        if interp.running:
            check = legal_configuration(machine, interp.configuration)
            assert check, f"after {label} (step {step}): {check!r}"
            for state_id in interp.configuration:
                assert interp.is_in(state_id)


@PROPERTY_SETTINGS
@given(spec=chart_specs(), events=st.lists(st.sampled_from(EVENTS), max_size=25))
def test_configuration_stays_legal(spec: ChartSpec, events: list[str]) -> None:
    machine = Machine(build_chart(spec))
    run_events(machine, events)


@PROPERTY_SETTINGS
@given(spec=chart_specs(), events=st.lists(st.sampled_from(EVENTS), max_size=15), data=st.data())
def test_transition_to_legal(spec: ChartSpec, events: list[str], data: st.DataObject) -> None:
    machine = Machine(build_chart(spec))
    ids = [s for s in machine.ids if s is not None]
    forced = data.draw(st.lists(st.one_of(st.none(), st.sampled_from(ids)), max_size=len(events)))
    run_events(machine, events, forced)


@PROPERTY_SETTINGS
@given(spec=chart_specs(), events=st.lists(st.sampled_from(EVENTS), max_size=25))
def test_matches_reference(spec: ChartSpec, events: list[str]) -> None:
    # Every microstep (exit order and entry order) and every configuration
    # must equal those of the literal SCXML transcription in helpers.py.
    machine = Machine(build_chart(spec))
    data = {"eventless": BUDGET, "raises": BUDGET}
    ref_data = dict(data)
    interp = Interpreter(machine, data=data, max_microsteps=10_000)
    records: list[Microstep] = []
    interp.add_listener(records.append)
    reference = ReferenceInterpreter(machine, ref_data)

    interp.start()
    reference.start()
    got = [(r.exited, r.entered) for r in records]
    assert got == reference.microsteps, "start"
    assert interp.configuration == reference.configuration

    for step, name in enumerate(events):
        if not interp.running:
            break
        records.clear()
        reference.microsteps.clear()
        for values in (data, ref_data):
            values["eventless"] = BUDGET
            values["raises"] = BUDGET
        interp.send(name)
        reference.send(name)
        got = [(r.exited, r.entered) for r in records]
        assert got == reference.microsteps, f"event {name!r} (step {step})"
        assert interp.configuration == reference.configuration, f"event {name!r} (step {step})"
        assert interp.running == reference.running


@PROPERTY_SETTINGS
@given(spec=st.one_of(chart_specs(plain=True), chart_specs()), events=st.lists(st.sampled_from(EVENTS), max_size=30))
def test_reference_without_listener(spec: ChartSpec, events: list[str]) -> None:
    # Without a listener the interpreter may replay precomputed chain plans,
    # so only the entry/exit log, the data and the configuration are
    # compared, after every event.
    machine = Machine(build_chart(spec))
    data: dict[str, Any] = {"eventless": BUDGET, "raises": BUDGET, "log": []}
    ref_data: dict[str, Any] = {"eventless": BUDGET, "raises": BUDGET, "log": []}
    interp = Interpreter(machine, data=data, max_microsteps=10_000)
    reference = ReferenceInterpreter(machine, ref_data)
    interp.start()
    reference.start()
    assert data == ref_data, "start"
    assert interp.configuration == reference.configuration, "start"

    for step, name in enumerate(events):
        if not interp.running:
            break
        for values in (data, ref_data):
            values["eventless"] = BUDGET
            values["raises"] = BUDGET
        interp.send(name)
        reference.send(name)
        assert data == ref_data, f"event {name!r} (step {step})"
        assert interp.configuration == reference.configuration, f"event {name!r} (step {step})"
        assert interp.running == reference.running


@PROPERTY_SETTINGS
@given(spec=chart_specs(max_nodes=30), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_lca_matches_naive(spec: ChartSpec, seed: int) -> None:
    machine = Machine(build_chart(spec))
    ids = [s for s in machine.ids if s is not None]
    rng = random.Random(seed)
    for _ in range(40):
        a = rng.choice(ids)
        b = rng.choice(ids)
        assert machine.lca(a, b) == naive_lca(machine, a, b), (a, b)
        assert machine.lca(b, a) == machine.lca(a, b)


@PROPERTY_SETTINGS
@given(spec=chart_specs(max_nodes=30), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_lcca_matches_naive(spec: ChartSpec, seed: int) -> None:
    machine = Machine(build_chart(spec))
    ids = [s for s in machine.ids if s is not None]
    rng = random.Random(seed)
    for _ in range(40):
        states = [rng.choice(ids) for _ in range(rng.randint(1, 4))]
        assert machine.lcca(*states) == naive_lcca(machine, states), states


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=300),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_lca_random_trees(shape: list[int], seed: int) -> None:
    # Larger random trees (up to about 300 states, many blocks of the
    # range-minimum table) built from a parent choice per state.
    rng = random.Random(seed)
    parents = [-1]
    for width in shape:
        parents.append(rng.randrange(max(0, len(parents) - width), len(parents)))
    children: dict[int, list[int]] = {}
    for i, p in enumerate(parents[1:], start=1):
        children.setdefault(p, []).append(i)
    built: dict[int, State] = {}
    for i in range(len(parents) - 1, -1, -1):
        built[i] = State(f"t{i}", children=[built.pop(c) for c in children.get(i, [])] or None)
    machine = Machine(built[0])
    ids = [s for s in machine.ids if s is not None]
    for _ in range(60):
        a = rng.choice(ids)
        b = rng.choice(ids)
        assert machine.lca(a, b) == naive_lca(machine, a, b), (a, b)
        assert machine.lcca(a, b) == naive_lcca(machine, [a, b]), (a, b)
