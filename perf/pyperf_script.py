"""The pyperf entry point shared by the benchmark modules.

A benchmark module defines ``SCENARIOS``, a dict from benchmark name to a
``Scenario``, and ends with ``run_scenarios(SCENARIOS, __name__ ...)``. It
then runs as a pyperf script::

    python -m perf.bench_engine --scenario transition -o transition.json

pyperf re-runs the same command for its worker processes, so each worker
builds its fixture once (``setup``, outside the timed region) and times only
the function that ``setup`` returns. The run's metadata records the build
and the GIL state of the worker that measured.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import system

__all__ = ["Scenario", "TimeFunc", "TimeFuncWithClose", "run_scenarios"]

# ``setup()`` returns ``time_func(loops) -> seconds`` as pyperf's
# ``bench_time_func`` expects: it runs the operation ``loops`` times and
# returns the elapsed time of the timed part only.
TimeFunc = Callable[[int], float]


@dataclass(frozen=True)
class Scenario:
    """One named benchmark: what it measures and how to build its fixture."""

    description: str
    setup: Callable[[], TimeFunc]
    # Operations per loop when one loop runs several; pyperf divides by it,
    # so the reported value is the time of one operation.
    inner_loops: int = 1


class TimeFuncWithClose:
    """A time function that owns resources to release when the worker ends."""

    def __init__(self, time_func: TimeFunc, close: Callable[[], None]) -> None:
        self._time_func = time_func
        self.close = close

    def __call__(self, loops: int) -> float:
        return self._time_func(loops)


def run_scenarios(scenarios: dict[str, Scenario], module: str) -> None:
    """Parse pyperf's command line plus ``--scenario`` and run that scenario."""
    import pyperf  # noqa: PLC0415 - only benchmark processes need pyperf

    def pass_scenario(command: list[str], args: argparse.Namespace) -> None:
        command.extend(["--scenario", args.scenario])

    runner = pyperf.Runner(
        program_args=("-m", module),
        add_cmdline_args=pass_scenario,
        metadata=_metadata(),
    )
    runner.argparser.add_argument(
        "--scenario", required=True, choices=sorted(scenarios),
        help="name of the benchmark to run",
    )
    args = runner.parse_args()
    scenario = scenarios[args.scenario]
    runner.metadata["description"] = scenario.description
    # Only worker processes time anything; the manager process that spawns
    # them would otherwise build the fixture (threads included) for nothing.
    time_func = scenario.setup() if args.worker else _not_called
    try:
        runner.bench_time_func(args.scenario, time_func, inner_loops=scenario.inner_loops)
    finally:
        # A fixture that owns threads (a runtime) exposes ``close``; the
        # worker must stop them or it would never exit.
        close = getattr(time_func, "close", None)
        if close is not None:
            close()


def _not_called(loops: int) -> float:
    raise AssertionError("the pyperf manager process does not run benchmarks")


def _metadata() -> dict[str, Any]:
    info = system.describe()
    return {
        "statechartx_build": system.build_label(),
        "gil_enabled": str(info["gil_enabled"]),
        "py_gil_disabled": str(info["py_gil_disabled"]),
        "python_gil_env": str(info["python_gil_env"]),
    }
