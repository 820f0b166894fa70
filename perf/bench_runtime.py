"""pyperf benchmarks of the threaded Runtime (statechartx.runtime).

Each scenario starts its runtimes in the worker process, times only the
operation, and stops them when the worker ends. The suite registers these
benchmarks as skipped while ``import statechartx.runtime`` fails.
"""

from __future__ import annotations

import threading
from time import perf_counter
from typing import Any

from statechartx import Machine, Parallel, State, Transition

from . import charts
from .pyperf_script import Scenario, TimeFunc, TimeFuncWithClose, run_scenarios

__all__ = ["SCENARIOS", "RUNTIME_COUNTS", "SPAWN_REGIONS"]

SPAWN_REGIONS = 10
RUNTIME_COUNTS = (1, 2, 4)
# Every wait on a runtime is bounded; a benchmark that exceeds this fails
# instead of hanging its worker.
WAIT_SECONDS = 120.0


def _runtime(machine: Machine, name: str) -> Any:
    from statechartx.runtime import Runtime  # noqa: PLC0415 - optional until it lands

    runtime = Runtime(machine, name=name)
    runtime.start()
    return runtime


def _wait_idle(runtime: Any) -> None:
    if not runtime.wait_idle(timeout=WAIT_SECONDS):
        raise RuntimeError(
            f"runtime {runtime!r} was not idle after {WAIT_SECONDS:g} s; "
            "events are stuck in its mailbox"
        )


def setup_event_send() -> TimeFunc:
    runtime = _runtime(Machine(charts.ping_pong()), "bench-send")
    send = runtime.send

    def time_func(loops: int) -> float:
        started = perf_counter()
        for _ in range(loops):
            send("ping")
        elapsed = perf_counter() - started
        # Draining is outside the timed part: this measures the producer's cost.
        _wait_idle(runtime)
        return elapsed

    return TimeFuncWithClose(time_func, lambda: runtime.stop(timeout=WAIT_SECONDS))


def spawn_chart(regions: int) -> State:
    """``enter`` goes into a concurrent parallel state of ``regions`` regions
    (one region actor each); ``leave`` goes back to ``idle``."""
    parallel = charts.broadcast_chart(regions)
    concurrent = Parallel(
        "regions", children=parallel.children, concurrent=True,
        transitions=[Transition("leave", target="idle")],
    )
    return State(
        "spawn",
        initial="idle",
        children=[State("idle", transitions=[Transition("enter", target="regions")]), concurrent],
    )


def setup_region_spawn() -> TimeFunc:
    runtime = _runtime(Machine(spawn_chart(SPAWN_REGIONS)), "bench-spawn")

    def time_func(loops: int) -> float:
        elapsed = 0.0
        for _ in range(loops):
            started = perf_counter()
            runtime.call("enter", timeout=WAIT_SECONDS)
            elapsed += perf_counter() - started
            runtime.call("leave", timeout=WAIT_SECONDS)
        return elapsed

    return TimeFuncWithClose(time_func, lambda: runtime.stop(timeout=WAIT_SECONDS))


def setup_throughput() -> TimeFunc:
    runtime = _runtime(Machine(charts.ping_pong()), "bench-throughput")
    send = runtime.send

    def time_func(loops: int) -> float:
        started = perf_counter()
        for _ in range(loops):
            send("ping")
        _wait_idle(runtime)
        return perf_counter() - started

    return TimeFuncWithClose(time_func, lambda: runtime.stop(timeout=WAIT_SECONDS))


def make_setup_runtimes(count: int) -> Any:
    """K runtimes, each fed by its own producer thread; the value is wall
    time per event over all of them, so 1/value is the aggregate rate."""

    def setup() -> TimeFunc:
        machine = Machine(charts.ping_pong())
        runtimes = [_runtime(machine, f"bench-k{count}-{i}") for i in range(count)]

        def time_func(loops: int) -> float:
            barrier = threading.Barrier(count + 1, timeout=WAIT_SECONDS)

            def produce(runtime: Any) -> None:
                barrier.wait()
                send = runtime.send
                for _ in range(loops):
                    send("ping")

            producers = [
                threading.Thread(target=produce, args=(rt,), name=f"producer-{i}")
                for i, rt in enumerate(runtimes)
            ]
            for thread in producers:
                thread.start()
            barrier.wait()
            started = perf_counter()
            for thread in producers:
                thread.join(WAIT_SECONDS)
                if thread.is_alive():
                    raise RuntimeError(f"{thread.name} still sending after {WAIT_SECONDS:g} s")
            for runtime in runtimes:
                _wait_idle(runtime)
            return perf_counter() - started

        def close() -> None:
            for runtime in reversed(runtimes):
                runtime.stop(timeout=WAIT_SECONDS)

        return TimeFuncWithClose(time_func, close)

    return setup


SCENARIOS: dict[str, Scenario] = {
    "event_send": Scenario(
        "Runtime.send of one event from the producer thread (returns before processing)",
        setup_event_send,
    ),
    "region_spawn": Scenario(
        f"Runtime.call entering a concurrent parallel state of {SPAWN_REGIONS} "
        "regions (region actors started)",
        setup_region_spawn,
    ),
    "throughput": Scenario(
        "one producer thread -> one Runtime: send N events and wait until idle "
        "(value per event)",
        setup_throughput,
    ),
}
for _count in RUNTIME_COUNTS:
    SCENARIOS[f"runtimes_k{_count}"] = Scenario(
        f"{_count} runtime(s), each fed by its own producer thread; wall time "
        "per event over all runtimes",
        make_setup_runtimes(_count),
        inner_loops=_count,
    )


if __name__ == "__main__":
    run_scenarios(SCENARIOS, "perf.bench_runtime")
