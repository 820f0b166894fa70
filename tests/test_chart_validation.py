"""Machine validation: an invalid chart raises ChartError naming the state
and the fault, and no machine is built."""

from __future__ import annotations

import re

import pytest

from statechartx import (
    ChartError,
    Final,
    History,
    Interpreter,
    Machine,
    Parallel,
    State,
    Transition,
)

pytestmark = pytest.mark.timeout(30)


def noop(ctx):
    return None


def rejects(chart, *fragments: str, **machine_kwargs) -> ChartError:
    """Assert that Machine(chart) raises ChartError whose message contains
    every fragment, and return the error."""
    with pytest.raises(ChartError) as info:
        Machine(chart, **machine_kwargs)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from {message!r}"
    return info.value


def test_chart_error_is_value_error() -> None:
    error = rejects(State("a", children=[State("a")]), "'a'")
    assert isinstance(error, ValueError)


def test_duplicate_id_nested() -> None:
    chart = State("root", children=[State("x", children=[State("dup")]), State("dup")])
    rejects(chart, "duplicate", "'dup'")


def test_duplicate_id_top_level_list() -> None:
    rejects([State("a"), State("a")], "duplicate", "'a'")


def test_unknown_target_names_both() -> None:
    chart = State("root", children=[State("src", transitions=[Transition("e", "nowhere")])])
    rejects(chart, "'src'", "'nowhere'", "not a state")


def test_unknown_target_in_list() -> None:
    chart = State(
        "root",
        children=[State("a"), State("src", transitions=[Transition("e", ["a", "ghost"])])],
    )
    rejects(chart, "'src'", "'ghost'")


def test_target_not_string() -> None:
    chart = State("root", children=[State("src", transitions=[Transition("e", [3])])])
    rejects(chart, "'src'", "3")


def test_initial_not_descendant() -> None:
    chart = State(
        "root",
        children=[State("p", children=[State("c")], initial="sibling"), State("sibling")],
    )
    rejects(chart, "'p'", "'sibling'", "descendant")


def test_initial_self() -> None:
    chart = State("root", children=[State("p", children=[State("c")], initial="p")])
    rejects(chart, "'p'", "descendant")


def test_initial_unknown() -> None:
    rejects(State("p", children=[State("c")], initial="missing"), "'p'", "'missing'")


def test_initial_on_atomic() -> None:
    rejects(State("root", children=[State("leaf", initial="x")]), "'leaf'", "no children")


def test_initial_transition_with_event() -> None:
    chart = State("p", children=[State("c")], initial=Transition("e", "c"))
    rejects(chart, "'p'", "initial")


def test_machine_initial_unknown() -> None:
    rejects([State("a"), State("b")], "'zz'", initial="zz")


def test_history_top_level() -> None:
    rejects([State("a"), History("h")], "'h'", "document root")


def test_history_root_only() -> None:
    rejects(History("h"), "'h'")


def test_history_only_child() -> None:
    rejects(State("root", children=[State("p", children=[History("h")])]), "'p'", "history")


def test_history_default_outside_parent() -> None:
    chart = State(
        "root",
        children=[State("p", children=[History("h", default="out"), State("c")]), State("out")],
    )
    rejects(chart, "'h'", "'out'", "'p'")


def test_history_default_unknown() -> None:
    chart = State("p", children=[History("h", default="ghost"), State("c")])
    rejects(chart, "'h'", "'ghost'")


def test_parallel_with_initial() -> None:
    chart = State(
        "root",
        children=[Parallel("par", children=[State("r1"), State("r2")], initial="r1")],
    )
    rejects(chart, "'par'", "initial")


def test_final_with_children() -> None:
    rejects(State("root", children=[Final("f", children=[State("x")])]), "'f'", "children")


def test_empty_parallel() -> None:
    rejects(State("root", children=[Parallel("par")]), "'par'", "no children")


def test_parallel_only_history() -> None:
    rejects(State("root", children=[Parallel("par", children=[History("h")])]), "'par'")


@pytest.mark.parametrize("bad_id", ["", " ", "a b", "tab\tid", "line\n", " lead", 7, None])
def test_invalid_id(bad_id) -> None:
    chart = State("root", children=[State(bad_id)])
    error = rejects(chart, "invalid state id", repr(bad_id))
    assert "'root'" in str(error)


def test_not_a_state_node() -> None:
    rejects(State("root", children=["child"]), "'child'", "not a State")


def test_transition_not_transition() -> None:
    rejects(State("a", transitions=[("e", "a")]), "'a'", "not a Transition")


@pytest.mark.parametrize(
    ("chart", "fragments"),
    [
        (State("s", transitions=[Transition("e", guard=5)]), ("'s'", "guard", "5")),
        (State("s", transitions=[Transition("e", action=[noop, 5])]), ("'s'", "action", "5")),
        (State("s", on_entry=[noop, "x"]), ("'s'", "on_entry", "'x'")),
        (State("s", on_exit=[3]), ("'s'", "on_exit", "3")),
        (State("root", children=[Final("f", donedata=4)]), ("'f'", "donedata", "4")),
        (State("s", datamodel=6), ("'s'", "datamodel", "6")),
        (State("p", children=[State("c")], initial=Transition(target="c", action=[1])), ("'p'", "initial", "1")),
        (
            State("p", children=[History("h", default=Transition(target="c", action=[2])), State("c")]),
            ("'h'", "action", "2"),
        ),
        (State("s", invoke=[object()]), ("'s'", "invoke", "start")),
    ],
)
def test_non_callable(chart, fragments) -> None:
    rejects(chart, *fragments)


@pytest.mark.parametrize(
    "make",
    [
        lambda: State("s", on_entry=5),
        lambda: State("s", on_exit="log"),
        lambda: State("s", transitions=[Transition("e", action="log")]),
    ],
    ids=["on_entry-int", "on_exit-str", "action-str"],
)
def test_bare_non_callable(make) -> None:
    with pytest.raises(ChartError) as info:
        Machine(make())
    assert re.search(r"'log'|\b5\b", str(info.value))


def test_machine_options_invalid() -> None:
    with pytest.raises(ChartError, match="binding"):
        Machine(State("a"), binding="lazy")
    with pytest.raises(ChartError, match="datamodel"):
        Machine(State("a"), datamodel=1)
    with pytest.raises(ChartError, match="script"):
        Machine(State("a"), script="x")
    with pytest.raises(ChartError, match="at least one state"):
        Machine([])


def test_error_no_side_effects() -> None:
    # A chart that fails validation runs none of its callables, and building
    # the corrected chart afterwards works: nothing was left half-built.
    calls: list[str] = []
    bad = State(
        "root",
        children=[
            State("a", on_entry=lambda ctx: calls.append("a"), datamodel=lambda ctx: calls.append("dm")),
            State("b", transitions=[Transition("e", "ghost")]),
        ],
    )
    with pytest.raises(ChartError):
        Machine(bad, datamodel=lambda ctx: calls.append("machine"))
    assert calls == []

    good = State("root", children=[State("a", on_entry=lambda ctx: calls.append("a")), State("b")])
    interp = Interpreter(Machine(good))
    interp.start()
    assert calls == ["a"]


def test_valid_chart_compiles() -> None:
    chart = State(
        "root",
        children=[
            State(
                "p",
                children=[History("h", deep=True, default="c2"), State("c1"), State("c2")],
                initial=Transition(target="c1", action=noop),
            ),
            Parallel("par", children=[State("r1"), State("r2")]),
            Final("done", donedata=noop),
        ],
        transitions=[Transition("go", "h"), Transition("all.*", "r1 r2")],
    )
    machine = Machine(chart)
    assert machine.size == 9
    assert machine.ids[1:] == ("root", "p", "h", "c1", "c2", "par", "r1", "r2", "done")
