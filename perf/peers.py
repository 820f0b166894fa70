"""statechartx next to other Python statechart libraries, on the same workloads.

    python -m perf.peers [--quick] [--out DIR]

Runs four workloads with each library in one process and writes
``perf/results/<UTC timestamp>-peers/`` (or ``--out``) with ``results.json``
and ``report.md``:

- ``ping_pong``: two states that swap on every ``go`` event; cost of one event.
- ``hierarchical``: two chains of 5 nested states under the top; one
  ``cross`` event moves from the leaf of one chain to the leaf of the other,
  which exits 5 levels and enters 5; cost of one event.
- ``parallel``: a parallel state of 10 regions, each toggling between two
  states on ``go``; cost of one broadcast event handled by all 10 regions.
- ``construction``: from nothing to a started instance of a 20-state chart
  (4 compound states of 4 leaves each, a ring of 16 ``next`` transitions);
  cost of one build.

The libraries: statechartx (its synchronous ``Interpreter``, the layer
comparable to the others, which have no actor runtime), transitions
(``HierarchicalMachine``), python-statemachine (``StateChart`` classes built
from a definition dict) and sismic (``Statechart`` with the Python evaluator).
Every case checks after timing that the instance is in the configuration
that the number of events implies, so that no library is timed doing less
work. A library that is not installed, or that cannot express a workload,
is recorded as not supported with the reason.

Timing: the loop count is calibrated until one sample takes at least the
sample time, then the median of the samples (time per operation) is
reported. ``ratio`` is statechartx's median divided by the peer's: below 1
statechartx is faster.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.metadata
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import system

__all__ = ["LIBRARIES", "WORKLOADS", "NotSupported", "run", "main"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"

WORKLOADS = {
    "ping_pong": "two states, one event swaps them (time per event)",
    "hierarchical": "5-level chains, one event from leaf to leaf across them (time per event)",
    "parallel": "10 regions, one broadcast event toggles each (time per event)",
    "construction": "build a 20-state chart and start an instance (time per build)",
}

DEPTH = 5
REGIONS = 10
GROUPS = 4
LEAVES_PER_GROUP = 4


class NotSupported(Exception):
    """Raised when the library cannot express the workload; the message gives the reason."""


@dataclass
class Case:
    """One workload set up for one library.

    ``step`` does one operation (one event, or one build). ``verify(count)``
    raises AssertionError unless the instance is where ``count`` operations
    must have left it.
    """

    step: Callable[[], None]
    verify: Callable[[int], None]


def _toggled(count: int, even: str, odd: str) -> str:
    return even if count % 2 == 0 else odd


def _chain(prefix: str) -> list[str]:
    return [f"{prefix}{level}" for level in range(1, DEPTH + 1)]


def _ring() -> list[tuple[str, list[str]]]:
    """Return the construction chart as (group, leaves): groups g0..g3 of leaves g<i>l<j>."""
    return [(f"g{g}", [f"g{g}l{leaf}" for leaf in range(LEAVES_PER_GROUP)]) for g in range(GROUPS)]


def _ring_edges() -> list[tuple[str, str]]:
    leaves = [leaf for _, group in _ring() for leaf in group]
    return [(leaves[i], leaves[(i + 1) % len(leaves)]) for i in range(len(leaves))]


# ---------------------------------------------------------------------------
# statechartx


class StatechartxCases:
    name = "statechartx"
    distribution = "statechartx"

    def ping_pong(self) -> Case:
        from statechartx import Interpreter, Machine, State, Transition  # noqa: PLC0415

        machine = Machine(State("root", initial="ping", children=[
            State("ping", transitions=[Transition("go", "pong")]),
            State("pong", transitions=[Transition("go", "ping")]),
        ]))
        interpreter = Interpreter(machine)
        interpreter.start()

        def verify(count: int) -> None:
            assert interpreter.is_in(_toggled(count, "ping", "pong")), interpreter.configuration

        return Case(lambda: interpreter.send("go"), verify)

    def hierarchical(self) -> Case:
        from statechartx import Interpreter, Machine, State, Transition  # noqa: PLC0415

        def chain(prefix: str, other: str) -> State:
            names = _chain(prefix)
            state = State(names[-1], transitions=[Transition("cross", f"{other}{DEPTH}")])
            for name in reversed(names[:-1]):
                state = State(name, children=[state])
            return state

        machine = Machine(State("root", initial="a1", children=[chain("a", "b"), chain("b", "a")]))
        interpreter = Interpreter(machine)
        interpreter.start()

        def verify(count: int) -> None:
            leaf = _toggled(count, f"a{DEPTH}", f"b{DEPTH}")
            assert interpreter.is_in(leaf), interpreter.configuration

        return Case(lambda: interpreter.send("cross"), verify)

    def parallel(self) -> Case:
        from statechartx import Interpreter, Machine, Parallel, State, Transition  # noqa: PLC0415

        regions = [
            State(f"r{i}", initial=f"r{i}x", children=[
                State(f"r{i}x", transitions=[Transition("go", f"r{i}y")]),
                State(f"r{i}y", transitions=[Transition("go", f"r{i}x")]),
            ])
            for i in range(REGIONS)
        ]
        interpreter = Interpreter(Machine(State("root", children=[Parallel("p", children=regions)])))
        interpreter.start()

        def verify(count: int) -> None:
            for i in range(REGIONS):
                leaf = _toggled(count, f"r{i}x", f"r{i}y")
                assert interpreter.is_in(leaf), interpreter.configuration

        return Case(lambda: interpreter.send("go"), verify)

    def construction(self) -> Case:
        from statechartx import Interpreter, Machine, State, Transition  # noqa: PLC0415

        edges = dict(_ring_edges())
        built: list[Any] = []

        def step() -> None:
            groups = [
                State(group, children=[
                    State(leaf, transitions=[Transition("next", edges[leaf])]) for leaf in leaves
                ])
                for group, leaves in _ring()
            ]
            interpreter = Interpreter(Machine(State("root", children=groups)))
            interpreter.start()
            built[:] = [interpreter]

        def verify(count: int) -> None:
            assert built and built[0].is_in("g0l0"), built

        return Case(step, verify)


# ---------------------------------------------------------------------------
# transitions (pytransitions)


class TransitionsCases:
    name = "transitions"
    distribution = "transitions"

    @staticmethod
    def _machine_class() -> Any:
        from transitions.extensions import HierarchicalMachine  # noqa: PLC0415

        return HierarchicalMachine

    def ping_pong(self) -> Case:
        from transitions import Machine  # noqa: PLC0415

        # The plain Machine, because this chart has no nesting.
        machine = Machine(
            states=["ping", "pong"],
            transitions=[["go", "ping", "pong"], ["go", "pong", "ping"]],
            initial="ping", auto_transitions=False,
        )

        def verify(count: int) -> None:
            assert machine.state == _toggled(count, "ping", "pong"), machine.state

        return Case(lambda: machine.trigger("go"), verify)

    def hierarchical(self) -> Case:
        def chain(prefix: str) -> dict[str, Any]:
            names = _chain(prefix)
            state: dict[str, Any] = {"name": names[-1]}
            for name in reversed(names[:-1]):
                state = {"name": name, "children": [state], "initial": state["name"]}
            return state

        # Nested state names join the path with "_".
        a_leaf = "_".join(_chain("a"))
        b_leaf = "_".join(_chain("b"))
        machine = self._machine_class()(
            states=[chain("a"), chain("b")],
            transitions=[["cross", a_leaf, b_leaf], ["cross", b_leaf, a_leaf]],
            initial="a1", auto_transitions=False,
        )

        def verify(count: int) -> None:
            assert machine.state == _toggled(count, a_leaf, b_leaf), machine.state

        return Case(lambda: machine.trigger("cross"), verify)

    def parallel(self) -> Case:
        regions = [
            {
                "name": f"r{i}", "children": ["x", "y"], "initial": "x",
                "transitions": [["go", "x", "y"], ["go", "y", "x"]],
            }
            for i in range(REGIONS)
        ]
        machine = self._machine_class()(
            states=[{"name": "p", "parallel": regions}], initial="p", auto_transitions=False,
        )

        def verify(count: int) -> None:
            expected = [f"p_r{i}_{_toggled(count, 'x', 'y')}" for i in range(REGIONS)]
            assert sorted(machine.state) == sorted(expected), machine.state

        return Case(lambda: machine.trigger("go"), verify)

    def construction(self) -> Case:
        machine_class = self._machine_class()
        built: list[Any] = []

        def step() -> None:
            states = [{"name": group, "children": leaves, "initial": leaves[0]} for group, leaves in _ring()]
            transitions = [["next", f"{a[:2]}_{a}", f"{b[:2]}_{b}"] for a, b in _ring_edges()]
            built[:] = [machine_class(
                states=states, transitions=transitions, initial="g0", auto_transitions=False,
            )]

        def verify(count: int) -> None:
            assert built and built[0].state == "g0_g0l0", built

        return Case(step, verify)


# ---------------------------------------------------------------------------
# python-statemachine


class PythonStatemachineCases:
    name = "python-statemachine"
    distribution = "python-statemachine"

    @staticmethod
    def _create(name: str, states: dict[str, Any]) -> Any:
        from statemachine.io import create_machine_class_from_definition  # noqa: PLC0415

        return create_machine_class_from_definition(name, states=states)

    @staticmethod
    def _active(machine: Any) -> set[str]:
        return {state.id for state in machine.configuration}

    def ping_pong(self) -> Case:
        machine = self._create("PingPong", {
            "ping": {"initial": True, "on": {"go": [{"target": "pong"}]}},
            "pong": {"on": {"go": [{"target": "ping"}]}},
        })()

        def verify(count: int) -> None:
            assert self._active(machine) == {_toggled(count, "ping", "pong")}, machine.configuration

        return Case(lambda: machine.send("go"), verify)

    def hierarchical(self) -> Case:
        def chain(prefix: str, other: str, initial: bool) -> dict[str, Any]:
            names = _chain(prefix)
            state: dict[str, Any] = {"initial": True, "on": {"cross": [{"target": f"{other}{DEPTH}"}]}}
            for parent, child in reversed(list(zip(names[:-1], names[1:]))):
                state = {"initial": True, "states": {child: state}}
            state["initial"] = initial
            return {names[0]: state}

        machine = self._create("Hierarchical", {**chain("a", "b", True), **chain("b", "a", False)})()

        def verify(count: int) -> None:
            leaf = _toggled(count, f"a{DEPTH}", f"b{DEPTH}")
            assert leaf in self._active(machine), machine.configuration

        return Case(lambda: machine.send("cross"), verify)

    def parallel(self) -> Case:
        regions = {
            f"r{i}": {"initial": i == 0, "states": {
                f"r{i}x": {"initial": True, "on": {"go": [{"target": f"r{i}y"}]}},
                f"r{i}y": {"on": {"go": [{"target": f"r{i}x"}]}},
            }}
            for i in range(REGIONS)
        }
        machine = self._create("Parallel", {"p": {"initial": True, "parallel": True, "states": regions}})()

        def verify(count: int) -> None:
            active = self._active(machine)
            for i in range(REGIONS):
                leaf = _toggled(count, f"r{i}x", f"r{i}y")
                assert leaf in active, machine.configuration

        return Case(lambda: machine.send("go"), verify)

    def construction(self) -> Case:
        edges = dict(_ring_edges())
        built: list[Any] = []

        def step() -> None:
            states = {
                group: {"initial": index == 0, "states": {
                    leaf: {"initial": j == 0, "on": {"next": [{"target": edges[leaf]}]}}
                    for j, leaf in enumerate(leaves)
                }}
                for index, (group, leaves) in enumerate(_ring())
            }
            built[:] = [self._create("Ring", states)()]

        def verify(count: int) -> None:
            assert built and "g0l0" in self._active(built[0]), built

        return Case(step, verify)


# ---------------------------------------------------------------------------
# sismic


class SismicCases:
    name = "sismic"
    distribution = "sismic"

    @staticmethod
    def _start(statechart: Any) -> Any:
        from sismic.interpreter import Interpreter  # noqa: PLC0415

        interpreter = Interpreter(statechart)
        interpreter.execute_once()  # enters the initial configuration
        return interpreter

    @staticmethod
    def _sender(interpreter: Any, event: str) -> Callable[[], None]:
        queue = interpreter.queue
        execute_once = interpreter.execute_once

        def step() -> None:
            queue(event)
            execute_once()

        return step

    def ping_pong(self) -> Case:
        from sismic.model import BasicState, CompoundState, Statechart, Transition  # noqa: PLC0415

        chart = Statechart("ping_pong")
        chart.add_state(CompoundState("root", initial="ping"), None)
        # sismic checks a transition's target when it is added, so states first.
        for name in ("ping", "pong"):
            chart.add_state(BasicState(name), "root")
        for name, other in (("ping", "pong"), ("pong", "ping")):
            chart.add_transition(Transition(name, other, event="go"))
        interpreter = self._start(chart)

        def verify(count: int) -> None:
            assert _toggled(count, "ping", "pong") in interpreter.configuration, interpreter.configuration

        return Case(self._sender(interpreter, "go"), verify)

    def hierarchical(self) -> Case:
        from sismic.model import BasicState, CompoundState, Statechart, Transition  # noqa: PLC0415

        chart = Statechart("hierarchical")
        chart.add_state(CompoundState("root", initial="a1"), None)
        for prefix, other in (("a", "b"), ("b", "a")):
            names = _chain(prefix)
            parent = "root"
            for name, child in zip(names[:-1], names[1:]):
                chart.add_state(CompoundState(name, initial=child), parent)
                parent = name
            chart.add_state(BasicState(names[-1]), parent)
        for prefix, other in (("a", "b"), ("b", "a")):
            chart.add_transition(Transition(f"{prefix}{DEPTH}", f"{other}{DEPTH}", event="cross"))
        interpreter = self._start(chart)

        def verify(count: int) -> None:
            leaf = _toggled(count, f"a{DEPTH}", f"b{DEPTH}")
            assert leaf in interpreter.configuration, interpreter.configuration

        return Case(self._sender(interpreter, "cross"), verify)

    def parallel(self) -> Case:
        from sismic.model import BasicState, CompoundState, OrthogonalState, Statechart, Transition  # noqa: PLC0415

        chart = Statechart("parallel")
        chart.add_state(OrthogonalState("p"), None)
        for i in range(REGIONS):
            chart.add_state(CompoundState(f"r{i}", initial=f"r{i}x"), "p")
            for name in (f"r{i}x", f"r{i}y"):
                chart.add_state(BasicState(name), f"r{i}")
            for name, other in ((f"r{i}x", f"r{i}y"), (f"r{i}y", f"r{i}x")):
                chart.add_transition(Transition(name, other, event="go"))
        interpreter = self._start(chart)

        def verify(count: int) -> None:
            for i in range(REGIONS):
                leaf = _toggled(count, f"r{i}x", f"r{i}y")
                assert leaf in interpreter.configuration, interpreter.configuration

        return Case(self._sender(interpreter, "go"), verify)

    def construction(self) -> Case:
        from sismic.model import BasicState, CompoundState, Statechart, Transition  # noqa: PLC0415

        built: list[Any] = []
        edges = _ring_edges()

        def step() -> None:
            chart = Statechart("ring")
            chart.add_state(CompoundState("root", initial="g0"), None)
            for group, leaves in _ring():
                chart.add_state(CompoundState(group, initial=leaves[0]), "root")
                for leaf in leaves:
                    chart.add_state(BasicState(leaf), group)
            for source, target in edges:
                chart.add_transition(Transition(source, target, event="next"))
            built[:] = [self._start(chart)]

        def verify(count: int) -> None:
            assert built and "g0l0" in built[0].configuration, built

        return Case(step, verify)


LIBRARIES = (StatechartxCases, TransitionsCases, PythonStatemachineCases, SismicCases)


# ---------------------------------------------------------------------------
# Timing


def time_case(case: Case, *, samples: int, sample_s: float) -> dict[str, Any]:
    """Calibrate a loop count, take ``samples`` samples, verify, summarise."""
    step = case.step
    done = 0
    step()  # warm-up, and a first check that the step runs at all
    done += 1
    loops = 1
    while True:
        started = time.perf_counter()
        for _ in range(loops):
            step()
        elapsed = time.perf_counter() - started
        done += loops
        if elapsed >= sample_s or loops >= 1 << 24:
            break
        loops *= 2
    values = []
    for _ in range(samples):
        started = time.perf_counter()
        for _ in range(loops):
            step()
        values.append((time.perf_counter() - started) / loops)
        done += loops
    case.verify(done)
    return {
        "status": "ok",
        "median": statistics.median(values),
        "min": min(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
        "loops": loops,
        "samples": samples,
        "operations": done,
    }


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Time every workload with every library; return the results document."""
    samples, sample_s = (5, 0.02) if quick else (15, 0.1)
    say = progress or (lambda message: None)
    # Described before timing, so that the load average is the one the
    # measurements started under.
    environment = system.describe()
    libraries: dict[str, Any] = {}
    for cases_class in LIBRARIES:
        cases = cases_class()
        version = _version(cases.distribution)
        entry: dict[str, Any] = {"version": version, "workloads": {}}
        libraries[cases.name] = entry
        for workload in WORKLOADS:
            if version is None:
                entry["workloads"][workload] = {
                    "status": "not supported",
                    "reason": f"{cases.distribution} is not installed (pip install {cases.distribution})",
                }
                continue
            gc.collect()
            try:
                result = time_case(getattr(cases, workload)(), samples=samples, sample_s=sample_s)
            except NotSupported as exc:
                result = {"status": "not supported", "reason": str(exc)}
            except Exception as exc:  # noqa: BLE001 - one library failing must not stop the others
                result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:500]}
            entry["workloads"][workload] = result
            say(f"{cases.name} {workload}: {_cell(result)}")
    baseline = libraries["statechartx"]["workloads"]
    for name, entry in libraries.items():
        for workload, result in entry["workloads"].items():
            ours = baseline.get(workload, {})
            if name != "statechartx" and result.get("status") == "ok" and ours.get("status") == "ok":
                result["ratio"] = ours["median"] / result["median"]
    return {
        "schema": 1,
        "kind": "peers",
        "quick": quick,
        "workloads": WORKLOADS,
        "timing": {"samples": samples, "min_sample_s": sample_s, "statistic": "median time per operation"},
        "environment": environment,
        "load_avg_1min_end": system.describe().get("load_avg_1min"),
        "libraries": libraries,
    }


# ---------------------------------------------------------------------------
# Report


def _duration(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:,.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:,.2f} us"
    return f"{seconds * 1e3:,.2f} ms"


def _cell(result: dict[str, Any]) -> str:
    status = result.get("status")
    if status == "ok":
        return _duration(result["median"])
    if status == "not supported":
        return f"not supported: {result['reason']}"
    return f"failed: {result.get('error')}"


def render(document: dict[str, Any]) -> str:
    """Return report.md for a peers results document."""
    env = document["environment"]
    libraries = document["libraries"]
    gil = "GIL enabled" if env.get("gil_enabled") else "GIL disabled"
    lines = [
        "# statechartx and other Python statechart libraries", "",
        f"- CPython {env.get('python_version')} "
        f"({'free-threaded' if env.get('freethreaded_build') else 'GIL'} build, {gil}), `{env.get('executable')}`",
        f"- machine: {env.get('cpu_model')}, {env.get('cpu_count')} CPUs, load average "
        f"{env.get('load_avg_1min') or 0:.2f} at start, {document.get('load_avg_1min_end') or 0:.2f} at the end",
        f"- command: `python -m perf.peers{' --quick' if document['quick'] else ''}`; "
        f"started {document.get('started_utc')}, {document.get('elapsed_s', 0):.0f} s in all",
        "- versions: " + ", ".join(f"{name} {entry['version'] or 'not installed'}" for name, entry in libraries.items()),
        f"- timing: median of {document['timing']['samples']} samples per case, each at least "
        f"{document['timing']['min_sample_s'] * 1e3:.0f} ms of calibrated loops; ratio = statechartx / peer "
        "(below 1: statechartx is faster)",
        "",
    ]
    header = ["workload", "what"]
    for name in libraries:
        header.append(name if name == "statechartx" else f"{name} (ratio)")
    rows = []
    for workload, description in document["workloads"].items():
        row = [workload, description]
        for name, entry in libraries.items():
            result = entry["workloads"].get(workload, {})
            text = _cell(result)
            if "ratio" in result:
                text += f" ({result['ratio']:.3g})"
            row.append(text)
        rows.append(row)
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m perf.peers",
        description="Time statechartx against transitions, python-statemachine and sismic "
                    "on the same workloads, in this process.",
    )
    parser.add_argument("--quick", action="store_true", help="fewer, shorter samples (under a minute)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default: perf/results/<UTC timestamp>-peers)")
    args = parser.parse_args(argv)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir = args.out or RESULTS_DIR / f"{stamp}-peers"
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"[peers {time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    document = run(args.quick, progress)
    document["started_utc"] = stamp
    document["elapsed_s"] = time.perf_counter() - started
    (out_dir / "results.json").write_text(json.dumps(document, indent=1, default=str), encoding="utf-8")
    (out_dir / "report.md").write_text(render(document), encoding="utf-8")
    print(out_dir / "report.md")
    failed = [
        f"{name} {workload}"
        for name, entry in document["libraries"].items()
        for workload, result in entry["workloads"].items()
        if result.get("status") == "failed"
    ]
    if failed:
        print(f"failed cases: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
