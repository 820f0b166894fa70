"""Large charts: a million flat states and chains 1,000 and 100,000 levels
deep build, run and exit without recursion. These tests assert behaviour
only; the timings live in perf/."""

from __future__ import annotations

import random

import pytest

from helpers import chain_chart, flat_chart, gc_paused, legal_configuration
from statechartx import ChartError, Interpreter, Machine, Microstep, State, Transition

FLAT_SIZE = 1_000_000
SAMPLE_SIZE = 100


@pytest.fixture(scope="module")
def flat_sample() -> list[int]:
    return random.Random(20240611).sample(range(FLAT_SIZE), SAMPLE_SIZE)


@pytest.fixture(scope="module")
def flat_machine(flat_sample: list[int]) -> Machine:
    # Only the sampled children get a transition on the root; a million
    # transitions on one state would measure event matching instead.
    transitions = [Transition(f"go.{i}", f"c{i}") for i in flat_sample]
    chart = flat_chart(FLAT_SIZE, transitions)
    with gc_paused():
        return Machine(chart)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_flat_million_builds(flat_machine: Machine) -> None:
    m = flat_machine
    assert m.size == FLAT_SIZE + 1
    assert m.ids[1] == "root"
    assert m.ids[2] == "c0"
    assert m.ids[-1] == f"c{FLAT_SIZE - 1}"
    assert len(m.children[m.index["root"]]) == FLAT_SIZE
    assert m.lca("c0", f"c{FLAT_SIZE - 1}") == "root"
    assert m.lcca("c17", "c999998") == "root"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_flat_million_events(flat_machine: Machine, flat_sample: list[int]) -> None:
    interp = Interpreter(flat_machine)
    interp.start()
    assert interp.configuration == {"root", "c0"}
    for i in flat_sample:
        interp.send(f"go.{i}")
        assert interp.configuration == {"root", f"c{i}"}
    # "go" is a descriptor prefix of no transition: every descriptor is
    # "go.<i>", which needs the second token.
    interp.send("go")
    assert interp.configuration == {"root", f"c{flat_sample[-1]}"}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_flat_million_transition_to(flat_machine: Machine, flat_sample: list[int]) -> None:
    interp = Interpreter(flat_machine)
    interp.start()
    records: list[Microstep] = []
    interp.add_listener(records.append)
    previous = "c0"
    for i in flat_sample:
        interp.transition_to(f"c{i}")
        assert interp.configuration == {"root", f"c{i}"}
        assert records[-1].exited == (previous,)
        assert records[-1].entered == (f"c{i}",)
        previous = f"c{i}"


@pytest.mark.parametrize(
    "depth",
    [
        pytest.param(1_000, marks=pytest.mark.timeout(60)),
        pytest.param(100_000, marks=[pytest.mark.slow, pytest.mark.timeout(300)]),
    ],
)
def test_deep_chain(depth: int) -> None:
    exits = {"n": 0}

    def count_exit(ctx):
        exits["n"] += 1

    chart = chain_chart(depth, top_transitions=[Transition("top", "leaf0")], on_exit=count_exit)
    with gc_paused():
        machine = Machine(chart)
    assert machine.size == 2 * depth
    deepest = f"leaf{depth - 1}"
    assert machine.lca(deepest, "leaf0") == "s0"
    assert len(machine.ancestors(deepest)) == depth

    interp = Interpreter(machine)
    interp.start()
    assert interp.configuration == {"s0", "leaf0"}

    records: list[Microstep] = []
    interp.add_listener(records.append)
    interp.transition_to(deepest)
    config = interp.configuration
    assert len(config) == depth + 1
    assert deepest in config
    assert "leaf0" not in config
    assert all(f"s{i}" in config for i in range(depth))
    assert records[-1].exited == ("leaf0",)
    assert len(records[-1].entered) == depth
    assert exits["n"] == 1

    # s0's external transition to leaf0 has the document root as its domain:
    # every active state exits, deepest first, and s0 and leaf0 re-enter.
    exits["n"] = 0
    interp.send("top")
    assert interp.configuration == {"s0", "leaf0"}
    exited = records[-1].exited
    assert len(exited) == depth + 1
    assert exits["n"] == depth + 1
    assert exited[0] == deepest
    assert exited[1:] == tuple(f"s{i}" for i in range(depth - 1, -1, -1))
    assert records[-1].entered == ("s0", "leaf0")


@pytest.mark.timeout(120)
def test_deep_chain_internal_back() -> None:
    # An internal transition on s0 keeps s0: every state below it exits.
    depth = 5_000
    chart = chain_chart(depth, top_transitions=[Transition("top", "leaf0", internal=True)])
    machine = Machine(chart)
    interp = Interpreter(machine)
    interp.start()
    interp.transition_to(f"leaf{depth - 1}")
    records: list[Microstep] = []
    interp.add_listener(records.append)
    interp.send("top")
    assert records[-1].exited[-1] == "s1"
    assert len(records[-1].exited) == depth
    assert records[-1].entered == ("leaf0",)
    assert legal_configuration(machine, interp.configuration)


@pytest.mark.timeout(120)
def test_deep_chain_event_from_bottom() -> None:
    # An event handled by s0 is found from the deepest leaf by walking up
    # 10,000 levels that have no transitions.
    depth = 10_000
    chart = chain_chart(depth, top_transitions=[Transition("poke", action=lambda ctx: ctx.data.__setitem__("poked", True))])
    interp = Interpreter(Machine(chart))
    interp.start()
    interp.transition_to(f"leaf{depth - 1}")
    interp.send("poke")
    assert interp.data.get("poked") is True
    assert interp.is_in(f"leaf{depth - 1}")


@pytest.mark.timeout(120)
def test_large_unknown_target() -> None:
    transitions = [Transition("go", "c5"), Transition("bad", "no_such_state")]
    chart = flat_chart(100_000, transitions)
    with pytest.raises(ChartError) as info:
        Machine(chart)
    message = str(info.value)
    assert "'root'" in message
    assert "'no_such_state'" in message


@pytest.mark.timeout(120)
def test_deep_unknown_target() -> None:
    depth = 20_000
    chart = chain_chart(depth)
    # Attach a bad transition to the deepest leaf by rebuilding that leaf.
    node = chart
    for _ in range(depth - 1):
        node = node.children[1]
    leaf = node.children[0]
    leaf.transitions = (Transition("e", "s_missing"),)
    with pytest.raises(ChartError) as info:
        Machine(chart)
    message = str(info.value)
    assert f"'leaf{depth - 1}'" in message
    assert "'s_missing'" in message


@pytest.mark.timeout(120)
def test_deep_duplicate_id() -> None:
    depth = 20_000
    chart = chain_chart(depth)
    node = chart
    for _ in range(depth - 1):
        node = node.children[1]
    node.children = node.children + (State("leaf3"),)
    with pytest.raises(ChartError, match="duplicate state id 'leaf3'"):
        Machine(chart)
