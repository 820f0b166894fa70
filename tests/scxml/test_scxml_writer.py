"""dump(): charts written as SCXML, read back with the same structure; callables
without an SCXML form are reported, never dropped silently."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statechartx import Final, History, Interpreter, Machine, Parallel, State, Transition
from statechartx.machine import HISTORY
from statechartx.scxml import DumpError, DumpWarning, dump, find_losses, load


def structure(m: Machine) -> dict[str, Any]:
    """Everything dump promises to keep, by state id."""
    ids = m.ids
    result: dict[str, Any] = {
        "name": m.name,
        "binding": m.binding,
        "initial": tuple(ids[t] for t in m.initial[0].targets),
    }
    for s in range(1, len(ids)):
        entry: dict[str, Any] = {
            "parent": ids[m.parent[s]],
            "kind": m.kind[s],
            "transitions": [
                (t.spec.event, tuple(ids[x] for x in t.targets), t.internal)
                for t in m.transitions[s]
            ],
        }
        if s in m.initial:
            entry["initial"] = tuple(ids[t] for t in m.initial[s].targets)
        if m.kind[s] == HISTORY:
            entry["deep"] = m.nodes[s].deep
            entry["default"] = tuple(ids[t] for t in m.history_default[s].targets)
        result[str(ids[s])] = entry
    return result


def test_round_trip_of_hand_built_chart() -> None:
    machine = Machine(
        [
            State(
                "main",
                initial="p",
                children=[
                    Parallel(
                        "p",
                        children=[
                            State("r1", children=[State("a", transitions=[Transition("go", "b")]), State("b")]),
                            State("r2", children=[State("c"), Final("c_done")], initial="c_done"),
                            History("ph", deep=True, default="a c"),
                        ],
                        transitions=[Transition("reset.* other", "p", internal=True)],
                    ),
                    History("mh", default=Transition(target="p")),
                ],
                transitions=[Transition(None, "done"), Transition("x", None)],
            ),
            Final("done"),
        ],
        name="round & trip",
        binding="late",
        initial="main",
    )
    text = dump(machine)
    assert structure(load(text)) == structure(machine)


def test_round_trip_of_multiple_initial_targets() -> None:
    machine = Machine(
        [
            State("x"),
            Parallel("p", children=[State("r1", children=[State("a"), State("b")]), State("r2", children=[State("c"), State("d")])]),
        ],
        initial="b d",
    )
    assert structure(load(dump(machine))) == structure(machine)


ID_ALPHABET = ["s", "q", "a-b", "x.y", "odd&<>\"'", "_z", "state", "n9"]


@st.composite
def charts(draw: st.DrawFn) -> Machine:
    n = draw(st.integers(1, 10))
    parents = [draw(st.integers(-1, i - 1)) for i in range(n)]
    ids = [f"{draw(st.sampled_from(ID_ALPHABET))}{i}" for i in range(n)]
    children: dict[int, list[int]] = {i: [] for i in range(-1, n)}
    for i, p in enumerate(parents):
        children[p].append(i)
    kinds: dict[int, str] = {}
    for i in range(n):
        if children[i]:
            kinds[i] = draw(st.sampled_from(["state", "parallel"]))
        else:
            kinds[i] = draw(st.sampled_from(["state", "state", "final", "history"]))
    # Fix what SCXML forbids: history at top level or as the only regular
    # child, finals inside parallel states, a top level of history only.
    for i in range(n):
        p = parents[i]
        if kinds[i] == "history":
            regular = [c for c in children[p] if kinds.get(c) != "history" and c != i]
            if p == -1 or not regular:
                kinds[i] = "state"
        if kinds[i] == "final" and p != -1 and kinds[p] == "parallel":
            kinds[i] = "state"

    def descendants(i: int) -> list[int]:
        found, stack = [], list(children[i])
        while stack:
            c = stack.pop()
            found.append(c)
            stack.extend(children[c])
        return sorted(c for c in found if kinds[c] != "history")

    targets_pool = [ids[i] for i in range(n) if kinds[i] != "history"] + [ids[i] for i in range(n) if kinds[i] == "history"]

    def transitions(i: int) -> list[Transition]:
        result = []
        for _ in range(draw(st.integers(0, 2))):
            event = draw(st.sampled_from([None, "e", "e.f", "g h", "error.*", "*"]))
            target = draw(st.lists(st.sampled_from(targets_pool), max_size=2, unique=True))
            if event is None and not target:
                event = "e"
            result.append(Transition(event, target or None, internal=draw(st.booleans())))
        return result

    built: dict[int, Any] = {}
    for i in reversed(range(n)):
        kids = [built[c] for c in children[i]]
        kind = kinds[i]
        if kind == "final":
            built[i] = Final(ids[i])
        elif kind == "history":
            options = descendants(parents[i])
            default = None
            if options and draw(st.booleans()):
                chosen = ids[draw(st.sampled_from(options))]
                default = Transition(target=chosen) if draw(st.booleans()) else chosen
            built[i] = History(ids[i], deep=draw(st.booleans()), default=default)
        elif kind == "parallel":
            built[i] = Parallel(ids[i], children=kids, transitions=transitions(i))
        else:
            initial = None
            options = descendants(i)
            if options and draw(st.booleans()):
                initial = ids[draw(st.sampled_from(options))]
            built[i] = State(ids[i], children=kids, initial=initial, transitions=transitions(i))
    top = [built[i] for i in children[-1]]
    return Machine(top, binding=draw(st.sampled_from(["early", "late"])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(charts())
def test_round_trip_of_generated_charts(machine: Machine) -> None:
    text = dump(machine)
    assert structure(load(text)) == structure(machine)


def test_python_callables_are_reported() -> None:
    def greet(ctx: Any) -> None:
        pass

    machine = Machine(
        State(
            "s",
            on_entry=greet,
            transitions=[Transition("go", "s", guard=lambda ctx: True, action=greet)],
        )
    )
    with pytest.raises(DumpError) as info:
        dump(machine)
    losses = info.value.losses
    assert len(losses) == 3
    assert any("on_entry of state 's'" in loss and "greet" in loss for loss in losses)
    assert any("guard of transition" in loss for loss in losses)
    assert find_losses(machine) == losses


def test_allow_loss_warns_and_marks_the_spot() -> None:
    machine = Machine(State("s", on_exit=print, children=[State("a")]))
    with pytest.warns(DumpWarning, match="on_exit of state 's'"):
        text = dump(machine, allow_loss=True)
    assert "<!-- not written, a Python callable: on_exit of state 's'" in text
    assert structure(load(text)) == structure(machine)


def test_chart_without_callables_dumps_without_warning() -> None:
    machine = Machine([State("a", transitions=[Transition("go", "b")]), State("b")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = dump(machine)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<scxml xmlns="http://www.w3.org/2005/07/scxml"')


def test_concurrent_parallel_is_reported() -> None:
    machine = Machine(Parallel("p", children=[State("a"), State("b")], concurrent=True))
    with pytest.raises(DumpError, match="concurrent=True"):
        dump(machine)


LOADED = """<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:x="urn:example" version="1.0" datamodel="python" name="kept">
  <datamodel><data id="n" expr="0"/><data id="items">[1, 2]</data></datamodel>
  <script>helper = lambda v: v + 1</script>
  <state id="s">
    <onentry><assign location="n" expr="helper(n)"/><x:note text="extension &amp; more"/></onentry>
    <transition event="go" cond="n &lt; 3 and In('s')" target="s"><foreach array="items" item="i"><assign location="n" expr="n + i"/></foreach></transition>
    <transition event="go" target="done"/>
  </state>
  <final id="done"><donedata><param name="total" expr="n"/></donedata></final>
</scxml>"""


def test_loaded_document_round_trips_with_executable_content() -> None:
    original = load(LOADED, allow_python=True)
    text = dump(original)
    assert find_losses(original) == []
    assert "helper(n)" in text
    assert 'cond="n &lt; 3 and In(\'s\')"' in text
    assert '<note xmlns="urn:example" text="extension &amp; more"/>' in text
    copy = load(text, allow_python=True)
    assert structure(copy) == structure(original)
    results = []
    for machine in (original, copy):
        interp = Interpreter(machine)
        interp.start()
        interp.send("go")
        interp.send("go")
        results.append((interp.finished, interp.done_data))
    assert results[0] == results[1]
    assert results[0] == (True, {"total": 5})
