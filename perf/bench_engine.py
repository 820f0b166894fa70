"""pyperf benchmarks of the engine: Machine and Interpreter on one thread.

Run one scenario directly with ``python -m perf.bench_engine --scenario NAME``
(any pyperf option works, e.g. ``--fast`` or ``-o out.json``); the suite runs
them all through ``python -m perf --only benchmarks``.
"""

from __future__ import annotations

from time import perf_counter

from statechartx import Interpreter, Machine

from . import charts
from .pyperf_script import Scenario, TimeFunc, run_scenarios

__all__ = ["SCENARIOS"]

# The LCA benchmark's tree: 4 children per state, 5 levels, 1,365 states.
LCA_TREE_DEPTH = 5
LCA_TREE_FANOUT = 4
ROUTING_REGIONS = 10


def _started(chart: object) -> Interpreter:
    interpreter = Interpreter(Machine(chart))  # type: ignore[arg-type]
    interpreter.start()
    return interpreter


def setup_transition() -> TimeFunc:
    send = _started(charts.ping_pong()).send

    def time_func(loops: int) -> float:
        started = perf_counter()
        for _ in range(loops):
            send("ping")
        return perf_counter() - started

    return time_func


def setup_lca() -> TimeFunc:
    machine = Machine(charts.balanced_tree(LCA_TREE_DEPTH, LCA_TREE_FANOUT))
    first, last = charts.tree_leaf_pair(LCA_TREE_DEPTH, LCA_TREE_FANOUT)
    lca = machine.lca

    def time_func(loops: int) -> float:
        started = perf_counter()
        for _ in range(loops):
            lca(first, last)
        return perf_counter() - started

    return time_func


def setup_lca_index() -> TimeFunc:
    machine = Machine(charts.balanced_tree(LCA_TREE_DEPTH, LCA_TREE_FANOUT))
    first, last = (machine.index[i] for i in charts.tree_leaf_pair(LCA_TREE_DEPTH, LCA_TREE_FANOUT))
    lca_index = machine.lca_index

    def time_func(loops: int) -> float:
        started = perf_counter()
        for _ in range(loops):
            lca_index(first, last)
        return perf_counter() - started

    return time_func


def setup_machine_creation() -> TimeFunc:
    # The chart objects are built once; the timed part is validation and
    # compilation, which is what Machine() costs an application.
    chart = charts.standard_chart()

    def time_func(loops: int) -> float:
        started = perf_counter()
        for _ in range(loops):
            Machine(chart)
        return perf_counter() - started

    return time_func


def setup_interpreter_start() -> TimeFunc:
    machine = Machine(charts.standard_chart())

    def time_func(loops: int) -> float:
        started = perf_counter()
        for _ in range(loops):
            Interpreter(machine).start()
        return perf_counter() - started

    return time_func


def setup_history_restore() -> TimeFunc:
    interpreter = _started(charts.history_chart())
    interpreter.send("next")
    send = interpreter.send

    def time_func(loops: int) -> float:
        started = perf_counter()
        for _ in range(loops):
            send("suspend")
            send("resume")
        return perf_counter() - started

    return time_func


def setup_routing() -> TimeFunc:
    send = _started(charts.broadcast_chart(ROUTING_REGIONS)).send

    def time_func(loops: int) -> float:
        started = perf_counter()
        for _ in range(loops):
            send("tick")
        return perf_counter() - started

    return time_func


def setup_complex() -> TimeFunc:
    send = _started(charts.complex_chart()).send
    cycle = charts.COMPLEX_CYCLE

    def time_func(loops: int) -> float:
        started = perf_counter()
        for _ in range(loops):
            for name in cycle:
                send(name)
        return perf_counter() - started

    return time_func


SCENARIOS: dict[str, Scenario] = {
    "transition": Scenario(
        "one Interpreter.send on a two-state ping-pong chart (one transition)",
        setup_transition,
    ),
    "lca": Scenario(
        f"Machine.lca of two leaves {LCA_TREE_DEPTH} levels deep in a "
        f"{LCA_TREE_FANOUT}-ary tree of 1,365 states",
        setup_lca,
    ),
    "lca_index": Scenario(
        "Machine.lca_index on the same two leaves given as state indices (no id lookup)",
        setup_lca_index,
    ),
    "machine_creation": Scenario(
        "Machine(chart) for the standard 20-state chart (nested, parallel, deep history)",
        setup_machine_creation,
    ),
    "interpreter_start": Scenario(
        "Interpreter(machine).start() for the standard 20-state chart",
        setup_interpreter_start,
    ),
    "history_restore": Scenario(
        "suspend + resume through a deep history state (two events, value per pair)",
        setup_history_restore,
    ),
    "routing": Scenario(
        f"one event broadcast to a parallel state of {ROUTING_REGIONS} regions "
        f"({ROUTING_REGIONS} transitions)",
        setup_routing,
    ),
    "complex": Scenario(
        "one event of a fixed cycle through a chart with nested, parallel, "
        "history, guards, actions and a raised event (value per event)",
        setup_complex,
        inner_loops=len(charts.COMPLEX_CYCLE),
    ),
}


if __name__ == "__main__":
    run_scenarios(SCENARIOS, "perf.bench_engine")
