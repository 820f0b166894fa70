"""Property tests: region actors give the results of sequential SCXML.

Random charts with parallel states have entry, exit and transition actions
that log to one list per region and raise internal events. The same event
sequence runs in a sequential runtime and in one with region actors
(``concurrent_regions=True``). Both must end every macrostep in the same
configuration, take the same microsteps on the same events in the same
order, and leave equal per-region logs. An interpreter listener records the
microsteps, and a catch-all ``*`` transition on the top state makes every
processed event take one. The interpreter-level ``SequentialRegions`` executor must
give exactly what no executor gives.

The chart shape keeps every macrostep finite. External events a-d may raise
internal events i1/i2 from transition actions, and transitions on i1/i2 may
have targets, but entry and exit actions raise only "note" events, which no
transition but the catch-all takes.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import legal_configuration
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statechartx import Final, Interpreter, Machine, Parallel, State, Transition
from statechartx.interpreter import SequentialRegions
from statechartx.runtime import Runtime

WAIT = 20.0
EXTERNAL = ("a", "b", "c", "d")
INTERNAL = ("i1", "i2")

# ----------------------------------------------------------------------
# Chart specifications: plain data that hypothesis can shrink.
#
# A region spec is a list of state specs. A state spec is
# (kind, entry_raises, exit_raises, children, transitions) with kind
# "atomic", "compound" or "final". A transition spec is
# (event, target_choice, raises), where target_choice indexes into the
# region's states (None: targetless, -1: leave the parallel for "idle").


transition_spec = st.tuples(
    st.sampled_from(EXTERNAL + INTERNAL),
    st.one_of(st.none(), st.integers(-1, 6)),
    st.lists(st.sampled_from(INTERNAL), max_size=2),
)


def state_spec(depth: int) -> Any:
    leaf = st.tuples(
        st.just("atomic"),
        st.booleans(),
        st.booleans(),
        st.just([]),
        st.lists(transition_spec, max_size=3),
    )
    final = st.tuples(st.just("final"), st.booleans(), st.booleans(), st.just([]), st.just([]))
    if depth == 0:
        return st.one_of(leaf, leaf, final)
    compound = st.tuples(
        st.just("compound"),
        st.booleans(),
        st.booleans(),
        st.lists(state_spec(depth - 1), min_size=1, max_size=3),
        st.lists(transition_spec, max_size=2),
    )
    return st.one_of(leaf, leaf, compound, final)


region_spec = st.lists(state_spec(1), min_size=1, max_size=3)
parallel_spec = st.lists(region_spec, min_size=2, max_size=4)
chart_spec = st.lists(parallel_spec, min_size=1, max_size=2)
event_sequence = st.lists(st.sampled_from(EXTERNAL), min_size=1, max_size=12)


class _Builder:
    """Machine builder for chart specs, whose actions log into ``ctx.data``."""

    def __init__(self) -> None:
        self.counter = 0
        self.regions: list[str] = []

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    @staticmethod
    def logger(log_key: str, label: str, raises: list[str], note: bool) -> Any:
        def action(ctx: Any) -> None:
            ctx.data["logs"][log_key].append((label, ctx.event.name if ctx.event else None))
            for name in raises:
                ctx.raise_event(name, label)
            if note:
                ctx.raise_event("note", label)

        action.__qualname__ = f"log({label!r})"
        return action

    def build_region(self, region_id: str, specs: list[Any]) -> State:
        # First pass: ids of every state in the region, for transition targets.
        ids: list[str] = []
        named: list[tuple[str, Any]] = []

        def assign(spec: Any) -> None:
            state_id = self.fresh("s")
            ids.append(state_id)
            named.append((state_id, spec))
            for child in spec[3]:
                assign(child)

        for spec in specs:
            assign(spec)
        by_spec = {id(spec): state_id for state_id, spec in named}

        def make(spec: Any) -> Any:
            kind, entry_raises, exit_raises, children, transitions = spec
            state_id = by_spec[id(spec)]
            on_entry = self.logger(region_id, f"enter {state_id}", [], entry_raises)
            on_exit = self.logger(region_id, f"exit {state_id}", [], exit_raises)
            if kind == "final":
                return Final(state_id, on_entry=on_entry, on_exit=on_exit)
            built = []
            for number, (event, choice, raises) in enumerate(transitions):
                if choice is None:
                    target = None
                elif choice == -1:
                    target = "idle"
                else:
                    target = ids[choice % len(ids)]
                # Only external events raise i1/i2, so internal events
                # cannot feed themselves.
                raised = raises if event in EXTERNAL else []
                action = self.logger(region_id, f"t{number} {state_id}", raised, False)
                built.append(Transition(event, target=target, action=action))
            return State(
                state_id,
                children=[make(child) for child in children],
                transitions=built,
                on_entry=on_entry,
                on_exit=on_exit,
            )

        self.regions.append(region_id)
        return State(
            region_id,
            children=[make(spec) for spec in specs],
            on_entry=self.logger(region_id, f"enter {region_id}", [], True),
            on_exit=self.logger(region_id, f"exit {region_id}", [], True),
        )

    def build(self, spec: list[Any]) -> Machine:
        parallels = []
        idle_transitions = []
        for number, regions in enumerate(spec):
            parallel_id = f"p{number}"
            idle_transitions.append(Transition(EXTERNAL[number], target=parallel_id))
            parallels.append(
                Parallel(
                    parallel_id,
                    children=[
                        self.build_region(self.fresh(f"{parallel_id}r"), region)
                        for region in regions
                    ],
                    transitions=[Transition("d", target="idle")],
                    on_entry=self.logger("main", f"enter {parallel_id}", [], True),
                    on_exit=self.logger("main", f"exit {parallel_id}", [], True),
                )
            )

        def attach_listener(ctx: Any) -> None:
            steps = ctx.data["steps"]

            def record(step: Any) -> None:
                event = step.event
                steps.append(
                    (
                        None if event is None else (event.name, event.type, event.data),
                        tuple(id(t) for t in step.transitions),
                        step.exited,
                        step.entered,
                    )
                )

            ctx.interpreter.add_listener(record)

        return Machine(
            State(
                "top",
                initial="idle",
                on_entry=attach_listener,
                transitions=[Transition("*", action=self.logger("main", "catch-all", [], False))],
                children=[State("idle", transitions=idle_transitions), *parallels],
            )
        )


def build_machine(spec: list[Any]) -> tuple[Machine, list[str]]:
    builder = _Builder()
    machine = builder.build(spec)
    return machine, builder.regions


def fresh_data(regions: list[str]) -> dict[str, Any]:
    logs: dict[str, list[Any]] = {region: [] for region in regions}
    logs["main"] = []
    return {"logs": logs, "steps": []}


def normalised_steps(steps: list[Any]) -> list[Any]:
    # error.execution data are exception objects; compare their text.
    return [
        (
            None if event is None else (event[0], event[1], repr(event[2])),
            transitions,
            exited,
            entered,
        )
        for event, transitions, exited, entered in steps
    ]


# ----------------------------------------------------------------------
# Runtime: sequential against region actors


@pytest.mark.timeout(600)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=chart_spec, events=event_sequence)
def test_region_actors_match_sequential_runtime(spec: list[Any], events: list[str]) -> None:
    machine, regions = build_machine(spec)
    results = []
    for concurrent in (False, True):
        data = fresh_data(regions)
        with Runtime(
            machine,
            name=f"property-{'regions' if concurrent else 'sequential'}",
            data=data,
            concurrent_regions=concurrent,
            max_microsteps=10_000,
        ) as rt:
            configurations = [rt.configuration]
            for event in events:
                configurations.append(rt.call(event, timeout=WAIT))
            restarts = rt.actor.restarts
        assert restarts == 0
        for config in configurations:
            assert legal_configuration(machine, config)
        results.append((configurations, normalised_steps(data["steps"]), data["logs"]))
    sequential, concurrent_result = results
    assert concurrent_result[0] == sequential[0], "configurations differ"
    assert concurrent_result[1] == sequential[1], "microsteps or internal events differ"
    assert concurrent_result[2] == sequential[2], "per-region action logs differ"


# ----------------------------------------------------------------------
# Interpreter: SequentialRegions against no executor


def run_interpreter(machine: Machine, regions: list[str], events: list[str], executor: Any) -> Any:
    data = fresh_data(regions)
    if executor is None:
        interp = Interpreter(machine, data=data)
    else:
        interp = Interpreter(
            machine, data=data, region_executor=executor, all_parallel_concurrent=True
        )
    interp.start()
    configurations = [interp.configuration]
    for event in events:
        interp.send(event)
        configurations.append(interp.configuration)
    return configurations, normalised_steps(data["steps"]), data["logs"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=chart_spec, events=event_sequence)
def test_sequential_executor_matches_no_executor(spec: list[Any], events: list[str]) -> None:
    machine, regions = build_machine(spec)
    plain = run_interpreter(machine, regions, events, None)
    deferred = run_interpreter(machine, regions, events, SequentialRegions())
    assert deferred[0] == plain[0], "configurations differ"
    assert deferred[1] == plain[1], "microsteps or internal events differ"
    assert deferred[2] == plain[2], "per-region action logs differ"


def test_generated_charts_raise_internal_events() -> None:
    # Guards the generator: a chart where every kind of callback fires.
    spec = [
        [
            [("atomic", True, True, [], [("a", 0, ["i1", "i2"]), ("i1", None, [])])],
            [("compound", True, False, [("atomic", False, True, [], [("i2", -1, [])])], [])],
        ]
    ]
    machine, regions = build_machine(spec)
    configurations, steps, logs = run_interpreter(machine, regions, ["a", "a", "d"], None)
    processed = [step[0][0] for step in steps if step[0] is not None]
    assert "i1" in processed
    assert "i2" in processed
    assert "note" in processed
    assert all(logs[region] for region in regions)
    assert configurations[-1] == frozenset({"top", "idle"})
