"""Order of exit actions, transition actions and entry actions.

Every state logs ``enter:<id>`` and ``exit:<id>`` into one list, and
transitions log their own label. Each test asserts the exact sequence that
the SCXML algorithm prescribes: exit in reverse document order, then
transition actions in selection order, then entry in document order.
"""

from __future__ import annotations

import pytest

from helpers import Recorder, legal_configuration
from statechartx import Final, History, Interpreter, Machine, Parallel, State, Transition

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def run(chart, rec: Recorder | None = None, **machine_kwargs) -> Interpreter:
    machine = Machine(chart, **machine_kwargs)
    interp = Interpreter(machine)
    interp.start()
    assert legal_configuration(machine, interp.configuration)
    if rec is not None:
        rec.take()
    return interp


def send(interp: Interpreter, name: str) -> None:
    interp.send(name)
    if interp.running:
        assert legal_configuration(interp.machine, interp.configuration)


def S(rec: Recorder, state_id: str, *children, **kwargs) -> State:
    """A State that logs its entry and exit."""
    return State(state_id, children=list(children) or None, **rec.entry_exit(state_id), **kwargs)


def P(rec: Recorder, state_id: str, *children, **kwargs) -> Parallel:
    """A Parallel state that logs its entry and exit."""
    return Parallel(state_id, children=list(children), **rec.entry_exit(state_id), **kwargs)


def test_start_entry_order(rec: Recorder) -> None:
    chart = S(rec, "root", S(rec, "a", S(rec, "a1")), P(rec, "p", S(rec, "r1"), S(rec, "r2")))
    run(chart)
    assert rec.take() == ["enter:root", "enter:a", "enter:a1"]


def test_sibling_transition(rec: Recorder) -> None:
    chart = S(
        rec,
        "root",
        S(rec, "a", transitions=[Transition("e", "b", action=rec("t"))]),
        S(rec, "b"),
    )
    interp = run(chart, rec)
    send(interp, "e")
    assert rec.take() == ["exit:a", "t", "enter:b"]
    assert interp.configuration == {"root", "b"}


def test_five_level_transition(rec: Recorder) -> None:
    # l5 and the target m5 sit five levels below top in different branches,
    # so the domain is top and five states exit and five enter.
    left = S(rec, "l5", transitions=[Transition("e", "m5", action=rec("t"))])
    right = S(rec, "m5")
    for level in range(4, 0, -1):
        left = S(rec, f"l{level}", left)
        right = S(rec, f"m{level}", right)
    chart = S(rec, "top", left, right)
    interp = run(chart, rec)
    assert interp.configuration == {"top", "l1", "l2", "l3", "l4", "l5"}

    send(interp, "e")
    assert rec.take() == [
        "exit:l5", "exit:l4", "exit:l3", "exit:l2", "exit:l1",
        "t",
        "enter:m1", "enter:m2", "enter:m3", "enter:m4", "enter:m5",
    ]
    assert interp.configuration == {"top", "m1", "m2", "m3", "m4", "m5"}


def test_five_level_to_ancestor_sibling(rec: Recorder) -> None:
    # A transition from a deep leaf to a sibling of an ancestor exits only
    # up to (not including) their common compound ancestor.
    chart = S(
        rec,
        "top",
        S(rec, "a", S(rec, "b", S(rec, "c", S(rec, "d", S(rec, "e", transitions=[Transition("go", "b2", action=rec("t"))])))), S(rec, "b2")),
    )
    interp = run(chart, rec)
    send(interp, "go")
    assert rec.take() == ["exit:e", "exit:d", "exit:c", "exit:b", "t", "enter:b2"]
    assert interp.configuration == {"top", "a", "b2"}


def compound_with_self_transitions(rec: Recorder) -> State:
    return S(
        rec,
        "root",
        S(
            rec,
            "c",
            S(rec, "c1"),
            S(rec, "c2"),
            transitions=[
                Transition("int", "c2", internal=True, action=rec("t")),
                Transition("ext", "c2", action=rec("t")),
                Transition("int_self", "c", internal=True, action=rec("t")),
                Transition("ext_self", "c", action=rec("t")),
            ],
        ),
    )


def test_internal_transition_keeps_source(rec: Recorder) -> None:
    interp = run(compound_with_self_transitions(rec), rec)
    send(interp, "int")
    assert rec.take() == ["exit:c1", "t", "enter:c2"]
    assert interp.configuration == {"root", "c", "c2"}
    # Internal again from c2 to c2: c2 is a descendant, so only c2 cycles.
    send(interp, "int")
    assert rec.take() == ["exit:c2", "t", "enter:c2"]


def test_external_transition_reenters_source(rec: Recorder) -> None:
    interp = run(compound_with_self_transitions(rec), rec)
    send(interp, "ext")
    assert rec.take() == ["exit:c1", "exit:c", "t", "enter:c", "enter:c2"]
    assert interp.configuration == {"root", "c", "c2"}


def test_internal_to_self_is_external(rec: Recorder) -> None:
    # The source is not a proper descendant of itself, so internal=True has
    # no effect and the source is exited and re-entered by default.
    interp = run(compound_with_self_transitions(rec), rec)
    send(interp, "int")
    rec.take()
    send(interp, "int_self")
    assert rec.take() == ["exit:c2", "exit:c", "t", "enter:c", "enter:c1"]
    send(interp, "ext_self")
    assert rec.take() == ["exit:c1", "exit:c", "t", "enter:c", "enter:c1"]


def test_atomic_self_transition(rec: Recorder) -> None:
    chart = S(rec, "root", S(rec, "a", transitions=[Transition("e", "a", action=rec("t"))]))
    interp = run(chart, rec)
    send(interp, "e")
    assert rec.take() == ["exit:a", "t", "enter:a"]


def three_region_parallel(rec: Recorder, **p_kwargs) -> State:
    return S(
        rec,
        "root",
        P(
            rec,
            "p",
            S(rec, "r1", S(rec, "l1")),
            S(rec, "r2", S(rec, "l2")),
            S(rec, "r3", S(rec, "l3")),
            **p_kwargs,
        ),
        S(rec, "out"),
    )


def test_exit_parallel_reverse_order(rec: Recorder) -> None:
    chart = three_region_parallel(rec, transitions=[Transition("leave", "out", action=rec("t"))])
    interp = run(chart)
    assert rec.take() == [
        "enter:root", "enter:p",
        "enter:r1", "enter:l1", "enter:r2", "enter:l2", "enter:r3", "enter:l3",
    ]
    send(interp, "leave")
    assert rec.take() == [
        "exit:l3", "exit:r3", "exit:l2", "exit:r2", "exit:l1", "exit:r1", "exit:p",
        "t",
        "enter:out",
    ]
    assert interp.configuration == {"root", "out"}


def test_exit_parallel_from_leaf(rec: Recorder) -> None:
    # The transition's source is a leaf of the middle region; every region
    # exits all the same because the domain is root.
    chart = S(
        rec,
        "root",
        P(
            rec,
            "p",
            S(rec, "r1", S(rec, "l1")),
            S(rec, "r2", S(rec, "l2", transitions=[Transition("leave", "out", action=rec("t"))])),
            S(rec, "r3", S(rec, "l3")),
        ),
        S(rec, "out"),
    )
    interp = run(chart, rec)
    send(interp, "leave")
    assert rec.take() == [
        "exit:l3", "exit:r3", "exit:l2", "exit:r2", "exit:l1", "exit:r1", "exit:p",
        "t",
        "enter:out",
    ]


def two_regions(rec: Recorder, wrap: bool) -> State | Parallel:
    parallel = P(
        rec,
        "p",
        S(rec, "r1", S(rec, "a1", transitions=[Transition("cross", "b2", action=rec("t"))]), S(rec, "b1")),
        S(rec, "r2", S(rec, "a2"), S(rec, "b2")),
    )
    return S(rec, "root", parallel) if wrap else parallel


@pytest.mark.parametrize("wrap", [True, False], ids=["in-compound", "top-level"])
def test_cross_region_reenters_parallel(rec: Recorder, wrap: bool) -> None:
    # The domain is root (or the document root for a top-level parallel), so
    # the whole parallel state exits and enters again, with r1 by default.
    interp = run(two_regions(rec, wrap), rec)
    send(interp, "cross")
    assert rec.take() == [
        "exit:a2", "exit:r2", "exit:a1", "exit:r1", "exit:p",
        "t",
        "enter:p", "enter:r1", "enter:a1", "enter:r2", "enter:b2",
    ]
    expected = {"p", "r1", "a1", "r2", "b2"} | ({"root"} if wrap else set())
    assert interp.configuration == expected


def test_region_internal_transition(rec: Recorder) -> None:
    # A transition inside one region leaves the other regions alone.
    chart = S(
        rec,
        "root",
        P(
            rec,
            "p",
            S(rec, "r1", S(rec, "a1", transitions=[Transition("go", "b1", action=rec("t"))]), S(rec, "b1")),
            S(rec, "r2", S(rec, "a2")),
        ),
    )
    interp = run(chart, rec)
    send(interp, "go")
    assert rec.take() == ["exit:a1", "t", "enter:b1"]
    assert interp.configuration == {"root", "p", "r1", "b1", "r2", "a2"}


def history_around_parallel(rec: Recorder, deep: bool) -> State:
    return S(
        rec,
        "root",
        S(
            rec,
            "outer",
            History("h", deep=deep),
            S(rec, "idle", transitions=[Transition("start", "p")]),
            P(
                rec,
                "p",
                S(rec, "r1", S(rec, "a1", transitions=[Transition("n1", "b1")]), S(rec, "b1")),
                S(rec, "r2", S(rec, "a2", transitions=[Transition("n2", "b2")]), S(rec, "b2")),
            ),
            transitions=[Transition("pause", "away")],
        ),
        S(rec, "away", transitions=[Transition("resume", "h")]),
    )


def test_deep_history_restores_regions(rec: Recorder) -> None:
    interp = run(history_around_parallel(rec, deep=True), rec)
    for name in ("start", "n1", "n2", "pause"):
        send(interp, name)
    assert interp.configuration == {"root", "away"}
    rec.take()

    send(interp, "resume")
    assert rec.take() == [
        "exit:away", "enter:outer", "enter:p", "enter:r1", "enter:b1", "enter:r2", "enter:b2",
    ]
    assert interp.configuration == {"root", "outer", "p", "r1", "b1", "r2", "b2"}


def test_shallow_history_reenters_defaults(rec: Recorder) -> None:
    # A shallow history of outer remembers only p; p's regions re-enter by
    # default because history records one level.
    interp = run(history_around_parallel(rec, deep=False), rec)
    for name in ("start", "n1", "n2", "pause"):
        send(interp, name)
    rec.take()

    send(interp, "resume")
    assert rec.take() == [
        "exit:away", "enter:outer", "enter:p", "enter:r1", "enter:a1", "enter:r2", "enter:a2",
    ]
    assert interp.configuration == {"root", "outer", "p", "r1", "a1", "r2", "a2"}


def test_history_inside_parallel(rec: Recorder) -> None:
    # Deep history as a child of the parallel state itself.
    chart = S(
        rec,
        "root",
        P(
            rec,
            "p",
            History("hp", deep=True),
            S(rec, "r1", S(rec, "a1", transitions=[Transition("n1", "b1")]), S(rec, "b1")),
            S(rec, "r2", S(rec, "a2"), S(rec, "b2")),
            transitions=[Transition("pause", "away")],
        ),
        S(rec, "away", transitions=[Transition("resume", "hp")]),
    )
    interp = run(chart, rec)
    send(interp, "n1")
    send(interp, "pause")
    rec.take()
    send(interp, "resume")
    assert rec.take() == ["exit:away", "enter:p", "enter:r1", "enter:b1", "enter:r2", "enter:a2"]
    assert interp.configuration == {"root", "p", "r1", "b1", "r2", "a2"}


def test_history_stored_per_exit(rec: Recorder) -> None:
    # The history value is replaced on every exit, not kept from the first.
    chart = S(
        rec,
        "root",
        S(
            rec,
            "c",
            History("h"),
            S(rec, "x", transitions=[Transition("next", "y")]),
            S(rec, "y", transitions=[Transition("next", "z")]),
            S(rec, "z"),
            transitions=[Transition("pause", "away")],
        ),
        S(rec, "away", transitions=[Transition("resume", "h")]),
    )
    interp = run(chart, rec)
    send(interp, "next")
    send(interp, "pause")
    send(interp, "resume")
    assert interp.configuration == {"root", "c", "y"}
    send(interp, "next")
    send(interp, "pause")
    send(interp, "resume")
    assert interp.configuration == {"root", "c", "z"}


def test_history_default_action(rec: Recorder) -> None:
    chart = S(
        rec,
        "root",
        S(rec, "start", transitions=[Transition("go", "h", action=rec("t"))]),
        S(
            rec,
            "c",
            History("h", default=Transition(target="c2", action=rec("history-default"))),
            S(rec, "c1"),
            S(rec, "c2"),
            transitions=[Transition("back", "start")],
        ),
    )
    interp = run(chart, rec)
    send(interp, "go")
    assert rec.take() == ["exit:start", "t", "enter:c", "history-default", "enter:c2"]

    # Once c has been exited, the stored value is used and the default
    # action does not run.
    send(interp, "back")
    rec.take()
    send(interp, "go")
    assert rec.take() == ["exit:start", "t", "enter:c", "enter:c2"]


def test_history_without_default(rec: Recorder) -> None:
    # With no default, the parent's own initial is used.
    chart = S(
        rec,
        "root",
        S(rec, "start", transitions=[Transition("go", "h")]),
        S(rec, "c", History("h"), S(rec, "c1"), S(rec, "c2"), initial="c2"),
    )
    interp = run(chart, rec)
    send(interp, "go")
    assert rec.take() == ["exit:start", "enter:c", "enter:c2"]


def test_initial_transition_action(rec: Recorder) -> None:
    chart = S(
        rec,
        "root",
        S(rec, "a", transitions=[Transition("go", "c", action=rec("t"))]),
        S(
            rec,
            "c",
            S(rec, "c1"),
            S(rec, "c2", S(rec, "c21"), S(rec, "c22")),
            initial=Transition(target="c22", action=rec("initial")),
        ),
    )
    interp = run(chart, rec)
    send(interp, "go")
    assert rec.take() == ["exit:a", "t", "enter:c", "initial", "enter:c2", "enter:c22"]
    assert interp.configuration == {"root", "c", "c2", "c22"}


def test_initial_action_only_default_entry(rec: Recorder) -> None:
    # A transition that targets a child explicitly does not use the
    # parent's initial, so its action does not run.
    chart = S(
        rec,
        "root",
        S(rec, "a", transitions=[Transition("go", "c2")]),
        S(rec, "c", S(rec, "c1"), S(rec, "c2"), initial=Transition(target="c1", action=rec("initial"))),
    )
    interp = run(chart, rec)
    send(interp, "go")
    assert rec.take() == ["exit:a", "enter:c", "enter:c2"]


def test_multiple_initial_targets(rec: Recorder) -> None:
    # SCXML <initial> may name one descendant per region of a parallel.
    chart = S(
        rec,
        "root",
        P(rec, "p", S(rec, "r1", S(rec, "a1"), S(rec, "b1")), S(rec, "r2", S(rec, "a2"), S(rec, "b2"))),
        initial="b1 b2",
    )
    interp = run(chart)
    assert rec.take() == ["enter:root", "enter:p", "enter:r1", "enter:b1", "enter:r2", "enter:b2"]
    assert interp.configuration == {"root", "p", "r1", "b1", "r2", "b2"}


def test_done_state_parallel(rec: Recorder) -> None:
    chart = S(
        rec,
        "root",
        P(
            rec,
            "p",
            S(rec, "r1", S(rec, "a1", transitions=[Transition("e1", "f1")]), Final("f1")),
            S(rec, "r2", S(rec, "a2", transitions=[Transition("e2", "f2")]), Final("f2")),
            transitions=[
                Transition("done.state.r1", action=rec("done:r1")),
                Transition("done.state.r2", action=rec("done:r2")),
                Transition("done.state.p", "after", action=rec("done:p")),
            ],
        ),
        S(rec, "after"),
    )
    interp = run(chart, rec)
    send(interp, "e1")
    assert rec.take() == ["exit:a1", "done:r1"]
    assert interp.is_in("p")

    send(interp, "e2")
    assert rec.take() == [
        "exit:a2", "done:r2",
        "exit:r2", "exit:r1", "exit:p", "done:p", "enter:after",
    ]
    assert interp.configuration == {"root", "after"}


def test_done_state_parallel_one_microstep(rec: Recorder) -> None:
    # Both regions reach final states in the same microstep: done.state.r1,
    # done.state.r2 and done.state.p are raised in that order.
    events: list[str] = []

    def note(ctx):
        events.append(ctx.event.name)

    chart = S(
        rec,
        "root",
        P(
            rec,
            "p",
            S(rec, "r1", S(rec, "a1"), Final("f1")),
            S(rec, "r2", S(rec, "a2"), Final("f2")),
            transitions=[Transition("finish", "f1 f2"), Transition("done.*", action=note)],
        ),
    )
    interp = run(chart, rec)
    send(interp, "finish")
    assert events == ["done.state.r1", "done.state.r2", "done.state.p"]
    assert interp.configuration == {"root", "p", "r1", "f1", "r2", "f2"}


def test_done_state_compound_data(rec: Recorder) -> None:
    received: list[object] = []
    chart = S(
        rec,
        "root",
        S(
            rec,
            "c",
            S(rec, "work", transitions=[Transition("finish", "end")]),
            Final("end", donedata=lambda ctx: {"result": 42}),
            transitions=[Transition("done.state.c", "next", action=lambda ctx: received.append(ctx.event))],
        ),
        S(rec, "next"),
    )
    interp = run(chart, rec)
    send(interp, "finish")
    assert len(received) == 1
    assert received[0].data == {"result": 42}
    assert received[0].type == "platform"
    assert rec.take() == ["exit:work", "exit:c", "enter:next"]


def test_parallel_both_regions_transition(rec: Recorder) -> None:
    chart = S(
        rec,
        "root",
        P(
            rec,
            "p",
            S(rec, "r1", S(rec, "a1", transitions=[Transition("e", "b1", action=rec("t1"))]), S(rec, "b1")),
            S(rec, "r2", S(rec, "a2", transitions=[Transition("e", "b2", action=rec("t2"))]), S(rec, "b2")),
        ),
    )
    interp = run(chart, rec)
    send(interp, "e")
    # One microstep: all exits (reverse document order), then both actions
    # (document order), then all entries.
    assert rec.take() == ["exit:a2", "exit:a1", "t1", "t2", "enter:b1", "enter:b2"]
    assert interp.configuration == {"root", "p", "r1", "b1", "r2", "b2"}


@pytest.mark.parametrize("inner_region", ["r1", "r2"])
def test_inner_preempts_ancestor(rec: Recorder, inner_region: str) -> None:
    # The transition of an atomic state in one region preempts the one on
    # the parallel ancestor, whichever region's atomic state comes first.
    def region(n: int) -> State:
        transitions = [Transition("e", f"b{n}", action=rec(f"t{n}"))] if inner_region == f"r{n}" else None
        return S(rec, f"r{n}", S(rec, f"a{n}", transitions=transitions), S(rec, f"b{n}"))

    chart = S(
        rec,
        "root",
        P(rec, "p", region(1), region(2), transitions=[Transition("e", "out", action=rec("tp"))]),
        S(rec, "out"),
    )
    interp = run(chart, rec)
    send(interp, "e")
    n = inner_region[1]
    assert rec.take() == [f"exit:a{n}", f"t{n}", f"enter:b{n}"]
    assert interp.is_in(f"b{n}")
    assert interp.is_in("p")


def test_first_region_wins_conflict(rec: Recorder) -> None:
    # Both regions leave the parallel state: the exit sets intersect and
    # neither source is a descendant of the other, so the first in
    # document order is kept.
    chart = S(
        rec,
        "root",
        P(
            rec,
            "p",
            S(rec, "r1", S(rec, "a1", transitions=[Transition("e", "x", action=rec("t1"))])),
            S(rec, "r2", S(rec, "a2", transitions=[Transition("e", "y", action=rec("t2"))])),
        ),
        S(rec, "x"),
        S(rec, "y"),
    )
    interp = run(chart, rec)
    send(interp, "e")
    assert rec.take() == [
        "exit:a2", "exit:r2", "exit:a1", "exit:r1", "exit:p", "t1", "enter:x",
    ]
    assert interp.configuration == {"root", "x"}


def test_targetless_and_targeted_regions(rec: Recorder) -> None:
    # A targetless transition has an empty exit set, so it never conflicts.
    chart = S(
        rec,
        "root",
        P(
            rec,
            "p",
            S(rec, "r1", S(rec, "a1", transitions=[Transition("e", action=rec("t1"))])),
            S(rec, "r2", S(rec, "a2", transitions=[Transition("e", "b2", action=rec("t2"))]), S(rec, "b2")),
        ),
    )
    interp = run(chart, rec)
    send(interp, "e")
    assert rec.take() == ["exit:a2", "t1", "t2", "enter:b2"]


def test_document_order_wins(rec: Recorder) -> None:
    chart = S(
        rec,
        "root",
        S(
            rec,
            "a",
            transitions=[
                Transition("x", "generic"),
                Transition("x.y", "specific"),
            ],
        ),
        S(
            rec,
            "b",
            transitions=[
                Transition("x.y", "specific"),
                Transition("x", "generic"),
            ],
        ),
        S(rec, "generic", transitions=[Transition("to_b", "b")]),
        S(rec, "specific"),
    )
    interp = run(chart)
    send(interp, "x.y")
    assert interp.configuration == {"root", "generic"}
    send(interp, "to_b")
    send(interp, "x.y")
    assert interp.configuration == {"root", "specific"}


def test_child_before_ancestor(rec: Recorder) -> None:
    # A less specific descriptor on the child beats a more specific one on
    # the parent: states are searched from the atomic state outwards.
    chart = S(
        rec,
        "root",
        S(rec, "c", S(rec, "c1", transitions=[Transition("x", "one")]), transitions=[Transition("x.y", "two")]),
        S(rec, "one"),
        S(rec, "two"),
    )
    interp = run(chart)
    send(interp, "x.y")
    assert interp.configuration == {"root", "one"}


def test_guard_falls_through(rec: Recorder) -> None:
    # A failing guard lets the next transition in document order, and then
    # the ancestors' transitions, be considered.
    chart = S(
        rec,
        "root",
        S(
            rec,
            "c",
            S(
                rec,
                "c1",
                transitions=[
                    Transition("e", "one", guard=lambda ctx: ctx.data.get("k") == 1),
                    Transition("e", "two", guard=lambda ctx: ctx.data.get("k") == 2),
                ],
            ),
            transitions=[Transition("e", "three")],
        ),
        S(rec, "one"),
        S(rec, "two"),
        S(rec, "three"),
    )
    for k, expected in [(1, "one"), (2, "two"), (3, "three")]:
        machine = Machine(chart)
        interp = Interpreter(machine, data={"k": k})
        interp.start()
        interp.send("e")
        assert interp.configuration == {"root", expected}


def test_targetless_no_exit_entry(rec: Recorder) -> None:
    chart = S(
        rec,
        "root",
        S(rec, "c", S(rec, "c1"), transitions=[Transition("e", action=rec("t"))]),
    )
    interp = run(chart, rec)
    send(interp, "e")
    send(interp, "e")
    assert rec.take() == ["t", "t"]
    assert interp.configuration == {"root", "c", "c1"}


def test_eventless_chain(rec: Recorder) -> None:
    chart = S(
        rec,
        "root",
        S(rec, "a", transitions=[Transition("e", "b", action=rec("t:e"))]),
        S(rec, "b", transitions=[Transition(None, "c", action=rec("t:b"))]),
        S(rec, "c", transitions=[Transition(None, "d", action=rec("t:c"))]),
        S(rec, "d"),
    )
    interp = run(chart, rec)
    send(interp, "e")
    assert rec.take() == [
        "exit:a", "t:e", "enter:b",
        "exit:b", "t:b", "enter:c",
        "exit:c", "t:c", "enter:d",
    ]


def test_eventless_at_start(rec: Recorder) -> None:
    chart = S(
        rec,
        "root",
        S(rec, "a", transitions=[Transition(None, "b")]),
        S(rec, "b"),
    )
    interp = run(chart)
    assert rec.take() == ["enter:root", "enter:a", "exit:a", "enter:b"]
    assert interp.configuration == {"root", "b"}


def test_eventless_before_internal(rec: Recorder) -> None:
    # The action raises "i" while moving to b. The eventless transition from
    # b to c comes first, so "i" is handled in c, not in b.
    chart = S(
        rec,
        "root",
        S(rec, "a", transitions=[Transition("e", "b", action=lambda ctx: ctx.raise_event("i"))]),
        S(rec, "b", transitions=[Transition(None, "c"), Transition("i", "wrong")]),
        S(rec, "c", transitions=[Transition("i", "right")]),
        S(rec, "wrong"),
        S(rec, "right"),
    )
    interp = run(chart, rec)
    send(interp, "e")
    assert rec.take() == [
        "exit:a", "enter:b", "exit:b", "enter:c", "exit:c", "enter:right",
    ]


def test_internal_before_external(rec: Recorder) -> None:
    def both(ctx):
        # Sent first but processed second: the internal queue drains before
        # the next external event.
        ctx.send("ext")
        ctx.raise_event("int")

    chart = S(
        rec,
        "root",
        S(
            rec,
            "a",
            transitions=[
                Transition("go", action=both),
                Transition("ext", action=rec("ext")),
                Transition("int", action=rec("int")),
            ],
        ),
    )
    interp = run(chart, rec)
    send(interp, "go")
    assert rec.take() == ["int", "ext"]


def test_internal_events_fifo(rec: Recorder) -> None:
    def raise_three(ctx):
        for name in ("i1", "i2", "i3"):
            ctx.raise_event(name)

    chart = S(
        rec,
        "root",
        S(
            rec,
            "a",
            transitions=[
                Transition("go", action=raise_three),
                Transition("i1 i2 i3", action=lambda ctx: rec.log.append(ctx.event.name)),
            ],
        ),
    )
    interp = run(chart, rec)
    send(interp, "go")
    assert rec.take() == ["i1", "i2", "i3"]


def test_top_level_final_exit_order(rec: Recorder) -> None:
    chart = [
        S(
            rec,
            "main",
            P(rec, "p", S(rec, "r1", S(rec, "a1")), S(rec, "r2", S(rec, "a2"))),
            transitions=[Transition("quit", "end")],
        ),
        Final("end", **rec.entry_exit("end")),
    ]
    interp = run(chart, rec)
    send(interp, "quit")
    # Exiting main, entering end, then exiting the interpreter: end's exit
    # action runs as the interpreter stops.
    assert rec.take() == [
        "exit:a2", "exit:r2", "exit:a1", "exit:r1", "exit:p", "exit:main",
        "enter:end", "exit:end",
    ]
    assert interp.finished


def test_stop_exit_order(rec: Recorder) -> None:
    chart = S(rec, "root", P(rec, "p", S(rec, "r1", S(rec, "a1")), S(rec, "r2", S(rec, "a2"))))
    interp = run(chart, rec)
    interp.stop()
    assert rec.take() == ["exit:a2", "exit:r2", "exit:a1", "exit:r1", "exit:p", "exit:root"]
    assert not interp.running
    assert not interp.finished


def test_history_above_domain_record(rec: Recorder) -> None:
    # leaf -> h: h's default is top's initial, leaf, so the domain is mid,
    # but SCXML adds the ancestors of leaf up to h's parent (top) to the
    # entry set, which includes the active state mid.
    chart = S(
        rec,
        "top",
        History("h"),
        S(rec, "mid", S(rec, "leaf", transitions=[Transition("go", "h")])),
        S(rec, "other"),
        initial="leaf",
    )
    interp = run(chart, rec)
    records = []
    interp.add_listener(records.append)
    send(interp, "go")
    assert rec.take() == ["exit:leaf", "enter:leaf"]
    assert records[-1].exited == ("leaf",)
    assert records[-1].entered == ("leaf",)


def test_history_own_parallel(rec: Recorder) -> None:
    # x -> hp, where hp is the deep history of the one-region parallel state
    # p that contains x. Before the exit hp has no value, so its default r
    # gives the domain root and p exits. The exit records hp = (x,), which
    # alone would give the domain r, but p must be entered again to reach x.
    chart = S(
        rec,
        "root",
        S(rec, "start", transitions=[Transition("go", "x")]),
        P(
            rec,
            "p",
            History("hp", deep=True, default="r"),
            S(rec, "r", S(rec, "x", transitions=[Transition("back", "hp")])),
        ),
    )
    interp = run(chart, rec)
    send(interp, "go")
    rec.take()
    interp.send("back")
    assert rec.take() == ["exit:x", "exit:r", "exit:p", "enter:p", "enter:r", "enter:x"]
    assert interp.configuration == {"root", "p", "r", "x"}
    assert legal_configuration(interp.machine, interp.configuration)
