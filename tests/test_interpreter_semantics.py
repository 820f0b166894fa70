"""Interpreter semantics beyond ordering: errors, lifecycle, cycles, records,
listeners, forced transitions, datamodel binding and delayed events."""

from __future__ import annotations

import logging

import pytest

from helpers import Recorder, legal_configuration
from statechartx import (
    ChartError,
    Event,
    Final,
    History,
    Interpreter,
    InterpreterNotRunning,
    Machine,
    Macrostep,
    MacrostepLimitError,
    Microstep,
    Parallel,
    State,
    Transition,
)

pytestmark = pytest.mark.timeout(30)


def started(chart, **kwargs) -> Interpreter:
    machine_kwargs = {k: kwargs.pop(k) for k in ("binding", "datamodel", "script", "initial") if k in kwargs}
    interp = Interpreter(Machine(chart, **machine_kwargs), **kwargs)
    interp.start()
    return interp


# ----------------------------------------------------------------------
# error.execution


def test_action_error_queues_event() -> None:
    errors: list[Event] = []
    failure = ZeroDivisionError("boom")

    def explode(ctx):
        raise failure

    chart = State(
        "root",
        children=[
            State("a", transitions=[Transition("go", "b", action=[explode, lambda ctx: ctx.data.__setitem__("after", True)])]),
            State("b", transitions=[Transition("error.execution", action=lambda ctx: errors.append(ctx.event))]),
        ],
    )
    interp = started(chart)
    interp.send("go")

    # The transition completed, the next action block still ran, and the
    # error event arrived once in b with the exception as its data.
    assert interp.configuration == {"root", "b"}
    assert interp.data["after"] is True
    assert len(errors) == 1
    assert errors[0].data is failure
    assert errors[0].type == "platform"

    interp.send("go")
    assert interp.running


def test_entry_error_queues_event() -> None:
    seen: list[str] = []

    def explode(ctx):
        raise RuntimeError("entry failed")

    chart = State(
        "root",
        children=[State("a", on_entry=explode, transitions=[Transition("error", "b")]), State("b")],
        transitions=[Transition("error.execution", action=lambda ctx: seen.append("root"))],
    )
    interp = started(chart)
    # The error raised during start is handled in the same macrostep by a's
    # transition ("error" matches "error.execution").
    assert interp.configuration == {"root", "b"}
    assert seen == []


def test_guard_error_is_false() -> None:
    log: list[str] = []

    def bad_guard(ctx):
        raise KeyError("missing")

    chart = State(
        "root",
        children=[
            State(
                "a",
                transitions=[
                    Transition("go", "x", guard=bad_guard),
                    Transition("go", "y"),
                    Transition("error.execution", action=lambda ctx: log.append(type(ctx.event.data).__name__)),
                ],
            ),
            State("x"),
            State("y", transitions=[Transition("error.execution", action=lambda ctx: log.append("in y"))]),
        ],
    )
    interp = started(chart)
    interp.send("go")
    assert interp.configuration == {"root", "y"}
    assert log == ["in y"]


def test_error_in_eventless_guard() -> None:
    calls = {"n": 0}

    def flaky(ctx):
        calls["n"] += 1
        raise ValueError("flaky")

    chart = State(
        "root",
        children=[
            State("a", transitions=[Transition(None, "b", guard=flaky), Transition("error.execution", "c")]),
            State("b"),
            State("c"),
        ],
    )
    interp = started(chart)
    assert interp.configuration == {"root", "c"}
    assert calls["n"] >= 1


def test_donedata_error() -> None:
    events: list[str] = []

    def bad(ctx):
        raise RuntimeError("no data")

    chart = State(
        "root",
        children=[
            State(
                "c",
                children=[State("w", transitions=[Transition("go", "f")]), Final("f", donedata=bad)],
            ),
        ],
        transitions=[Transition("*", action=lambda ctx: events.append(ctx.event.name))],
    )
    interp = started(chart)
    interp.send("go")
    assert events == ["error.execution", "done.state.c"]


# ----------------------------------------------------------------------
# Lifecycle


def test_send_before_start() -> None:
    interp = Interpreter(Machine(State("a")))
    with pytest.raises(InterpreterNotRunning, match=r"not started.*start\(\)"):
        interp.send("e")
    with pytest.raises(InterpreterNotRunning, match="'e'"):
        interp.send("e")
    with pytest.raises(InterpreterNotRunning):
        interp.transition_to("a")
    assert not interp.running
    assert interp.configuration == frozenset()


def test_start_twice() -> None:
    interp = started(State("a"))
    with pytest.raises(InterpreterNotRunning, match="already started"):
        interp.start()


def test_top_level_final_finishes() -> None:
    rec = Recorder()
    chart = [
        State(
            "work",
            children=[State("busy", **rec.entry_exit("busy"))],
            transitions=[Transition("quit", "end", action=rec("t"))],
            **rec.entry_exit("work"),
        ),
        Final("end", donedata=lambda ctx: {"code": ctx.data["code"]}, **rec.entry_exit("end")),
    ]
    interp = started(chart, data={"code": 7})
    assert interp.running
    rec.take()

    interp.send("quit")
    assert interp.finished
    assert not interp.running
    assert interp.done_data == {"code": 7}
    assert rec.take() == ["exit:busy", "exit:work", "t", "enter:end", "exit:end"]
    # The configuration keeps the final state that was reached.
    assert interp.configuration == {"end"}
    with pytest.raises(InterpreterNotRunning, match="finished"):
        interp.send("anything")
    with pytest.raises(InterpreterNotRunning):
        interp.transition_to("work")


def test_final_at_start() -> None:
    interp = started([Final("end", donedata=lambda ctx: "direct")])
    assert interp.finished
    assert interp.done_data == "direct"


def test_nested_final_not_finish() -> None:
    chart = State("root", children=[State("a", transitions=[Transition("go", "f")]), Final("f")])
    interp = started(chart)
    interp.send("go")
    assert interp.running
    assert not interp.finished
    assert interp.configuration == {"root", "f"}


def test_finish_discards_queued() -> None:
    log: list[str] = []

    def quit_and_more(ctx):
        ctx.raise_event("later_internal")
        ctx.send("later_external")

    chart = [
        State(
            "a",
            transitions=[
                Transition("quit", "end", action=quit_and_more),
                Transition("later_internal later_external", action=lambda ctx: log.append(ctx.event.name)),
            ],
        ),
        Final("end"),
    ]
    interp = started(chart)
    interp.send("quit")
    assert interp.finished
    assert log == []


def test_stop_then_send() -> None:
    interp = started(State("a"))
    interp.stop()
    assert not interp.running
    assert not interp.finished
    with pytest.raises(InterpreterNotRunning, match="stopped"):
        interp.send("e")
    interp.stop()


# ----------------------------------------------------------------------
# Cycles


def cycle_chart() -> State:
    return State(
        "root",
        children=[
            State("idle", transitions=[Transition("go", "ping")]),
            State("ping", transitions=[Transition(None, "pong")]),
            State("pong", transitions=[Transition(None, "ping")]),
        ],
    )


@pytest.mark.timeout(10)
def test_eventless_cycle_limit() -> None:
    interp = started(cycle_chart(), max_microsteps=1000)
    with pytest.raises(MacrostepLimitError) as info:
        interp.send("go")
    message = str(info.value)
    assert "1000" in message
    assert "'ping'" in message
    assert "'pong'" in message
    assert "ping" in info.value.states
    assert "pong" in info.value.states


@pytest.mark.timeout(10)
def test_eventless_cycle_at_start() -> None:
    chart = State(
        "root",
        children=[
            State("a", transitions=[Transition(None, "b")]),
            State("b", transitions=[Transition(None, "a")]),
        ],
    )
    interp = Interpreter(Machine(chart), max_microsteps=500)
    with pytest.raises(MacrostepLimitError, match="'a'"):
        interp.start()


@pytest.mark.timeout(10)
def test_raise_cycle_limit() -> None:
    chart = State(
        "root",
        children=[
            State(
                "loop",
                transitions=[
                    Transition("go", action=lambda ctx: ctx.raise_event("again")),
                    Transition("again", action=lambda ctx: ctx.raise_event("again")),
                ],
            )
        ],
    )
    interp = started(chart, max_microsteps=1000)
    with pytest.raises(MacrostepLimitError) as info:
        interp.send("go")
    assert "loop" in info.value.states
    assert "'loop'" in str(info.value)


@pytest.mark.timeout(10)
def test_cycle_limit_counts_per_macrostep() -> None:
    # A bounded eventless run of 30 microsteps fits a cap of 50 every time:
    # the count restarts with each external event.
    def below(ctx):
        return ctx.data["n"] < 30

    def bump(ctx):
        ctx.data["n"] += 1

    chart = State(
        "root",
        children=[
            State("idle", transitions=[Transition("go", "spin", action=lambda ctx: ctx.data.__setitem__("n", 0))]),
            State("spin", transitions=[Transition(None, "spin", guard=below, action=bump), Transition(None, "idle")]),
        ],
    )
    interp = started(chart, max_microsteps=50)
    for _ in range(5):
        interp.send("go")
        assert interp.data["n"] == 30
        assert interp.configuration == {"root", "idle"}


def test_max_microsteps_invalid() -> None:
    with pytest.raises(ValueError, match="max_microsteps"):
        Interpreter(Machine(State("a")), max_microsteps=0)


# ----------------------------------------------------------------------
# Macrostep records and listeners


def test_step_returns_macrostep() -> None:
    chart = State(
        "root",
        children=[
            State("a", transitions=[Transition("go", "b")]),
            State("b", transitions=[Transition(None, "c")]),
            State("c"),
        ],
    )
    interp = started(chart)
    result = interp.step("go")
    assert isinstance(result, Macrostep)
    assert result.event.name == "go"
    assert len(result.microsteps) == 2
    first, second = result.microsteps
    assert isinstance(first, Microstep)
    assert first.exited == ("a",)
    assert first.entered == ("b",)
    assert first.event.name == "go"
    assert second.exited == ("b",)
    assert second.entered == ("c",)
    assert result.configuration == {"root", "c"}
    assert first.transitions[0].event == "go"
    assert second.transitions[0].event is None


def test_step_no_match() -> None:
    interp = started(State("root", children=[State("a")]))
    result = interp.step("unknown")
    assert result.microsteps == ()
    assert result.configuration == {"root", "a"}


def test_step_then_send_fifo() -> None:
    log: list[str] = []
    chart = State(
        "a",
        transitions=[
            Transition("e1", action=lambda ctx: ctx.send("e3")),
            Transition("e2 e3", action=lambda ctx: log.append(ctx.event.name)),
        ],
    )
    interp = started(chart)
    interp.step("e1")
    interp.send("e2")
    assert log == ["e3", "e2"]


def test_listener_records() -> None:
    records: list[Microstep] = []
    chart = State(
        "root",
        children=[
            Parallel("p", children=[State("r1", children=[State("a1")]), State("r2", children=[State("a2")])]),
            State("out"),
        ],
        transitions=[Transition("leave", "out")],
    )
    interp = Interpreter(Machine(chart))
    interp.add_listener(records.append)
    interp.start()
    assert len(records) == 1
    assert records[0].exited == ()
    assert records[0].entered == ("root", "p", "r1", "a1", "r2", "a2")
    assert records[0].event is None

    interp.send("leave")
    assert records[1].exited == ("a2", "r2", "a1", "r1", "p", "root")
    assert records[1].entered == ("root", "out")

    interp.remove_listener(records.append)
    interp.send("leave")
    assert len(records) == 2


def test_listener_error_detached(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []
    good: list[Microstep] = []

    def bad(record):
        calls.append("bad")
        raise RuntimeError("listener broke")

    chart = State(
        "root",
        children=[State("a", transitions=[Transition("go", "b")]), State("b", transitions=[Transition("go", "a")])],
    )
    interp = Interpreter(Machine(chart))
    interp.add_listener(bad)
    interp.add_listener(good.append)
    with caplog.at_level(logging.ERROR, logger="statechartx"):
        interp.start()
    assert calls == ["bad"]
    assert "detached" in caplog.text

    interp.send("go")
    interp.send("go")
    assert calls == ["bad"]
    assert len(good) == 3
    assert interp.configuration == {"root", "a"}


# ----------------------------------------------------------------------
# Forced transitions


def deep_chart() -> State:
    return State(
        "root",
        children=[
            State("a", children=[State("a1"), State("a2", children=[State("a21"), State("a22", children=[State("a221")])])]),
            Parallel(
                "p",
                children=[
                    State("r1", children=[State("x1"), State("y1")]),
                    State("r2", children=[State("x2"), State("y2")]),
                    State("r3", children=[State("x3"), State("y3", children=[State("y31"), State("y32")])]),
                ],
            ),
        ],
    )


def test_transition_to_deep_state() -> None:
    rec_records: list[Microstep] = []
    machine = Machine(deep_chart())
    interp = Interpreter(machine)
    interp.start()
    interp.add_listener(rec_records.append)
    interp.transition_to("a221")
    assert interp.configuration == {"root", "a", "a2", "a22", "a221"}
    assert legal_configuration(machine, interp.configuration)
    assert rec_records[-1].exited == ("a1",)
    assert rec_records[-1].entered == ("a2", "a22", "a221")


def test_transition_to_region_state() -> None:
    machine = Machine(deep_chart())
    interp = Interpreter(machine)
    interp.start()
    interp.transition_to("y1")
    assert interp.configuration == {"root", "p", "r1", "y1", "r2", "x2", "r3", "x3"}

    records: list[Microstep] = []
    interp.add_listener(records.append)
    interp.transition_to("y32")
    # Only r3 changes: r1 keeps y1, r2 keeps x2.
    assert interp.configuration == {"root", "p", "r1", "y1", "r2", "x2", "r3", "y3", "y32"}
    assert legal_configuration(machine, interp.configuration)
    assert records[-1].exited == ("x3",)
    assert records[-1].entered == ("y3", "y32")


def test_transition_to_compound_default() -> None:
    interp = started(deep_chart())
    interp.transition_to("a2")
    assert interp.configuration == {"root", "a", "a2", "a21"}


def test_transition_to_runs_eventless() -> None:
    chart = State("root", children=[State("a"), State("b", transitions=[Transition(None, "c")]), State("c")])
    interp = started(chart)
    interp.transition_to("b")
    assert interp.configuration == {"root", "c"}


def test_transition_to_history() -> None:
    chart = State(
        "root",
        children=[
            State("c", children=[History("h"), State("c1"), State("c2")]),
            State("away"),
        ],
    )
    interp = started(chart)
    interp.transition_to("c2")
    interp.transition_to("away")
    interp.transition_to("h")
    assert interp.configuration == {"root", "c", "c2"}


def test_transition_to_unknown() -> None:
    interp = started(State("a"))
    with pytest.raises(ChartError, match="'ghost'"):
        interp.transition_to("ghost")
    with pytest.raises(ChartError, match="'ghost'"):
        interp.is_in("ghost")


# ----------------------------------------------------------------------
# Datamodel binding


def binding_chart(log: list[str]) -> State:
    def dm(name):
        def init(ctx):
            log.append(f"dm:{name}")
            ctx.data[name] = len(log)

        return init

    return State(
        "root",
        datamodel=dm("root"),
        on_entry=lambda ctx: log.append("enter:root"),
        children=[
            State(
                "a",
                datamodel=dm("a"),
                on_entry=lambda ctx: log.append("enter:a"),
                transitions=[Transition("go", "b")],
            ),
            State(
                "b",
                datamodel=dm("b"),
                on_entry=lambda ctx: log.append("enter:b"),
                transitions=[Transition("go", "a")],
            ),
        ],
    )


def test_early_binding() -> None:
    log: list[str] = []
    interp = started(
        binding_chart(log),
        binding="early",
        datamodel=lambda ctx: log.append("machine-dm"),
        script=lambda ctx: log.append("script"),
    )
    assert log == ["machine-dm", "dm:root", "dm:a", "dm:b", "script", "enter:root", "enter:a"]
    assert "b" in interp.data


def test_late_binding() -> None:
    log: list[str] = []
    interp = started(
        binding_chart(log),
        binding="late",
        datamodel=lambda ctx: log.append("machine-dm"),
        script=lambda ctx: log.append("script"),
    )
    assert log == ["machine-dm", "script", "dm:root", "enter:root", "dm:a", "enter:a"]
    assert "b" not in interp.data
    interp.send("go")
    interp.send("go")
    interp.send("go")
    # b's datamodel runs on its first entry only.
    assert log[6:] == ["dm:b", "enter:b", "enter:a", "enter:b"]


def test_initial_data_shared() -> None:
    data = {"x": 1}
    chart = State("a", transitions=[Transition("inc", action=lambda ctx: ctx.data.__setitem__("x", ctx.data["x"] + 1))])
    interp = started(chart, data=data)
    interp.send("inc")
    assert data["x"] == 2
    assert interp.data is data


def test_context_fields() -> None:
    seen: dict[str, object] = {}

    def look(ctx):
        seen["session"] = ctx.session_id
        seen["name"] = ctx.name
        seen["interp"] = ctx.interpreter
        seen["in_a"] = ctx.is_in("a")
        seen["in_b"] = ctx.is_in("b")

    chart = State("root", children=[State("a", transitions=[Transition("look", action=look)]), State("b")])
    interp = Interpreter(Machine(chart, name="demo"), session_id="s-1")
    interp.start()
    interp.send("look")
    assert seen == {"session": "s-1", "name": "demo", "interp": interp, "in_a": True, "in_b": False}


# ----------------------------------------------------------------------
# Delayed events on the virtual clock


def delayed_chart(log: list[str]) -> State:
    def schedule(ctx):
        ctx.data["late"] = ctx.send("late", delay=3.0)
        ctx.send("early", delay=1.0)
        ctx.send("middle", delay=2.0)
        ctx.data["cancelled"] = ctx.send("never", delay=1.5)

    return State(
        "a",
        transitions=[
            Transition("schedule", action=schedule),
            Transition("cancel", action=lambda ctx: log.append(f"cancel:{ctx.cancel(ctx.data['cancelled'])}")),
            Transition("early middle late never", action=lambda ctx: log.append(ctx.event.name)),
        ],
    )


def test_delayed_delivery_order() -> None:
    log: list[str] = []
    interp = started(delayed_chart(log))
    interp.send("schedule")
    assert interp.pending_delayed == 4
    assert log == []

    assert interp.advance(0.5) == 0
    assert interp.advance(0.5) == 1
    assert log == ["early"]
    assert interp.advance(None) == 1
    assert log == ["early", "never"]
    assert interp.advance(10) == 2
    assert log == ["early", "never", "middle", "late"]
    assert interp.pending_delayed == 0
    assert interp.advance(None) == 0


def test_delayed_cancel() -> None:
    log: list[str] = []
    interp = started(delayed_chart(log))
    interp.send("schedule")
    interp.send("cancel")
    assert log == ["cancel:True"]
    assert interp.advance(10) == 3
    assert log == ["cancel:True", "early", "middle", "late"]
    # Cancelling an event that was already delivered finds nothing.
    interp.send("cancel")
    assert log[-1] == "cancel:False"


def test_delayed_sendid() -> None:
    received: list[Event] = []
    chart = State(
        "a",
        transitions=[
            Transition("go", action=lambda ctx: ctx.data.__setitem__("id", ctx.send("tick", {"n": 1}, delay=1))),
            Transition("tick", action=lambda ctx: received.append(ctx.event)),
        ],
    )
    interp = started(chart, session_id="sess")
    interp.send("go")
    interp.advance(None)
    assert received[0].sendid == interp.data["id"]
    assert received[0].sendid.startswith("sess")
    assert received[0].data == {"n": 1}


def test_pending_after_cancel() -> None:
    log: list[str] = []
    interp = started(delayed_chart(log))
    interp.send("schedule")
    interp.send("cancel")
    assert interp.pending_delayed == 3


def test_advance_chained_delays() -> None:
    log: list[str] = []
    chart = State(
        "a",
        on_entry=lambda ctx: ctx.send("t1", delay=1),
        transitions=[
            Transition("t1", action=[lambda ctx: log.append("t1"), lambda ctx: ctx.send("t2", delay=2)]),
            Transition("t2", action=lambda ctx: log.append("t2")),
        ],
    )
    interp = started(chart)
    # t1 is due at 1 and schedules t2 for 1 + 2 = 3, inside the window.
    assert interp.advance(10) == 2
    assert log == ["t1", "t2"]


def test_delayed_cancelled_on_finish() -> None:
    chart = [
        State("a", on_entry=lambda ctx: ctx.send("late", delay=5), transitions=[Transition("quit", "end")]),
        Final("end"),
    ]
    interp = started(chart)
    assert interp.pending_delayed == 1
    interp.send("quit")
    assert interp.pending_delayed == 0
    assert interp.advance(10) == 0


def test_send_negative_delay() -> None:
    errors: list[Event] = []
    chart = State(
        "a",
        transitions=[
            Transition("go", action=lambda ctx: ctx.send("x", delay=-1)),
            Transition("error.execution", action=lambda ctx: errors.append(ctx.event)),
        ],
    )
    interp = started(chart)
    interp.send("go")
    assert len(errors) == 1
    assert isinstance(errors[0].data, ValueError)


def test_send_internal_target() -> None:
    log: list[str] = []

    def both(ctx):
        ctx.send("ext")
        ctx.send("int", target="#_internal")

    chart = State(
        "a",
        transitions=[Transition("go", action=both), Transition("ext int", action=lambda ctx: log.append(ctx.event.name + ":" + ctx.event.type))],
    )
    interp = started(chart)
    interp.send("go")
    assert log == ["int:internal", "ext:external"]


def test_send_unknown_target_error() -> None:
    errors: list[Event] = []
    chart = State(
        "a",
        transitions=[
            Transition("go", action=lambda ctx: ctx.send("x", target="#_other")),
            Transition("error.execution", action=lambda ctx: errors.append(ctx.event)),
        ],
    )
    interp = started(chart)
    interp.send("go")
    assert len(errors) == 1
    assert "#_other" in str(errors[0].data)


def test_send_from_action_queued() -> None:
    # send() called inside an action queues the event behind the current
    # macrostep instead of nesting a macrostep.
    log: list[str] = []
    chart = State(
        "root",
        children=[
            State("a", transitions=[Transition("go", "b", action=lambda ctx: ctx.interpreter.send("next"))]),
            State("b", on_entry=lambda ctx: log.append("enter:b"), transitions=[Transition("next", "c", action=lambda ctx: log.append("next"))]),
            State("c"),
        ],
    )
    interp = started(chart)
    interp.send("go")
    assert log == ["enter:b", "next"]
    assert interp.configuration == {"root", "c"}
