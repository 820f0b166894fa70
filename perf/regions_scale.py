"""Region actors at scale: start, broadcast, stop and memory; keep vs
stop-on-exit; CPU-bound regions sequential vs concurrent.

    python -m perf.regions_scale [--only scale,pool,keep,busy] [--quick] [--json FILE]

Every measurement runs in an isolated child (``perf.isolate``), so that its
peak RSS is its own and a hang or a thread limit cannot take the script
down. The figures go to stdout as a table and, with ``--json``, to a file.

- ``scale``: a ``Runtime`` whose chart has an ``idle`` state and a concurrent
  parallel state of N regions (default 1,000), each region on its own OS
  thread (the default ``ThreadDispatcher``). start = ``call("enter")``
  entering the parallel state, which spawns the region actors; broadcast =
  ``call("go")``, one event that every region handles with an entry action
  run on its region actor (median of repeats); stop = ``Runtime.stop``,
  which stops every region actor. Memory: RSS growth from before the
  runtime to after entering, and the child's peak RSS; a second child
  measures the tracemalloc peak of the same steps (tracemalloc slows
  everything, so it is kept out of the timed child).
- ``pool``: the same with 10,000 regions sharing a ``PoolDispatcher`` of
  one worker per CPU.
- ``keep``: entering and leaving the parallel state of 1,000 regions 20
  times with ``RegionActors(keep=True)`` (what ``Runtime`` uses) and with
  ``keep=False`` (region actors stopped on exit).
- ``busy``: ``statechartx.scenarios.busy_regions_machine``, regions whose
  entry action spins the CPU, with ``concurrent=False`` (all on the
  runtime's thread) and ``concurrent=True`` (region actors); the ratio is
  sequential time / concurrent time per event.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import tracemalloc
from typing import Any

from . import system
from .isolate import rss_mb, run_isolated

__all__ = ["scale", "keep_cycles", "busy", "main"]

def _noop(ctx: Any) -> None:
    """Entry action of every region state, so that each region has a task."""


def _chart(regions: int) -> Any:
    from statechartx import Machine, Parallel, State, Transition  # noqa: PLC0415

    children = [
        State(f"r{i}", initial=f"r{i}.a", children=[
            State(f"r{i}.a", on_entry=_noop, transitions=[Transition("go", f"r{i}.b")]),
            State(f"r{i}.b", on_entry=_noop, transitions=[Transition("go", f"r{i}.a")]),
        ])
        for i in range(regions)
    ]
    return Machine(State("top", initial="idle", children=[
        State("idle", transitions=[Transition("enter", "p")]),
        Parallel("p", children=children, concurrent=True, transitions=[Transition("leave", "idle")]),
    ]), name="regions-scale")


def _runtime(machine: Any, pool_workers: int, keep: bool = True) -> tuple[Any, Any]:
    from statechartx.actors import PoolDispatcher  # noqa: PLC0415
    from statechartx.runtime import Runtime  # noqa: PLC0415

    pool = PoolDispatcher(workers=pool_workers) if pool_workers else None
    runtime = Runtime(machine, name="scale", region_dispatcher=pool, keep_region_actors=keep)
    return runtime, pool


def scale(regions: int, broadcasts: int = 10, pool_workers: int = 0, trace_memory: bool = False) -> dict[str, Any]:
    """Start, broadcast and stop a concurrent parallel state of ``regions``
    regions (child side). ``pool_workers`` > 0 puts the regions on a pool."""
    import gc  # noqa: PLC0415

    machine = _chart(regions)
    gc.collect()
    if trace_memory:
        tracemalloc.start()
    rss_before = rss_mb()
    threads_before = threading.active_count()
    runtime, pool = _runtime(machine, pool_workers)
    runtime.start()
    try:
        started = time.perf_counter()
        runtime.call("enter", timeout=120.0)
        start_s = time.perf_counter() - started
        assert runtime.is_in("p"), runtime.configuration
        assert runtime.is_in(f"r{regions - 1}.a"), runtime.configuration
        threads_entered = threading.active_count()
        rss_entered = rss_mb()
        times = []
        for _ in range(broadcasts):
            began = time.perf_counter()
            runtime.call("go", timeout=120.0)
            times.append(time.perf_counter() - began)
        expected = f"r{regions - 1}.{'b' if broadcasts % 2 else 'a'}"
        assert runtime.is_in(expected), f"not in {expected} after {broadcasts} broadcasts"
    finally:
        began = time.perf_counter()
        runtime.stop(timeout=120.0)
        stop_s = time.perf_counter() - began
        if pool is not None:
            pool.shutdown(timeout=60.0)
    result = {
        "regions": regions,
        "pool_workers": pool_workers,
        "start_s": start_s,
        "broadcast_median_s": statistics.median(times),
        "broadcast_max_s": max(times),
        "broadcasts": broadcasts,
        "stop_s": stop_s,
        "threads_added": threads_entered - threads_before,
        "rss_growth_mb": rss_entered - rss_before,
        "threads_left_after_stop": threading.active_count() - threads_before,
    }
    if trace_memory:
        result["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result


def keep_cycles(regions: int, cycles: int, keep: bool) -> dict[str, Any]:
    """Enter and leave the parallel state ``cycles`` times (child side)."""
    machine = _chart(regions)
    runtime, _ = _runtime(machine, 0, keep)
    rss_before = rss_mb()
    runtime.start()
    assert runtime._regions.keep is keep
    enter, leave = [], []
    try:
        for _ in range(cycles):
            began = time.perf_counter()
            runtime.call("enter", timeout=120.0)
            enter.append(time.perf_counter() - began)
            began = time.perf_counter()
            runtime.call("leave", timeout=120.0)
            leave.append(time.perf_counter() - began)
        assert runtime.is_in("idle")
        threads_idle = threading.active_count()
        rss_after = rss_mb()
        # Actors that keep=False stopped on exit and that have not ended yet.
        retained = len(runtime._regions._stopping)
    finally:
        began = time.perf_counter()
        runtime.stop(timeout=120.0)
        stop_s = time.perf_counter() - began
    return {
        "regions": regions,
        "cycles": cycles,
        "keep": keep,
        "enter_median_s": statistics.median(enter),
        "enter_first_s": enter[0],
        "leave_median_s": statistics.median(leave),
        "total_s": sum(enter) + sum(leave),
        "threads_while_idle": threads_idle,
        "stopped_actors_retained": retained,
        "rss_growth_mb": rss_after - rss_before,
        "stop_s": stop_s,
    }


def busy(regions: int, work: int, events: int, concurrent: bool) -> dict[str, Any]:
    """Time ``events`` go events on busy_regions_machine (child side)."""
    from statechartx.runtime import Runtime  # noqa: PLC0415
    from statechartx.scenarios import busy_regions_machine  # noqa: PLC0415

    machine = busy_regions_machine(regions, work, concurrent)
    times = []
    with Runtime(machine, name="busy") as runtime:
        runtime.call("go", timeout=120.0)  # warm-up: threads started, code warm
        runtime.call("go", timeout=120.0)
        for _ in range(events):
            began = time.perf_counter()
            runtime.call("go", timeout=120.0)
            runtime.call("go", timeout=120.0)
            times.append(time.perf_counter() - began)
    # Each pair of events runs the spinning entry action once per region.
    return {
        "regions": regions,
        "work": work,
        "concurrent": concurrent,
        "pair_median_s": statistics.median(times),
        "pair_min_s": min(times),
        "pairs": events,
    }


# ---------------------------------------------------------------------------
# Parent side


def _isolated(target: str, kwargs: dict[str, Any], timeout: float = 300.0) -> dict[str, Any]:
    outcome = run_isolated(f"perf.regions_scale:{target}", kwargs, timeout=timeout, memory_mb=8192)
    if not outcome.ok:
        return {"status": outcome.status, "error": outcome.error, "stderr": outcome.stderr_tail}
    return {"status": "ok", "peak_rss_mb": outcome.peak_rss_mb, **(outcome.result or {})}


def _load() -> float:
    # NOTE: Linux counts runnable threads of this script's own children in
    # the load average too, so a reading taken right after a run of 1,000
    # region threads overstates the load from other processes.
    return system.describe().get("load_avg_1min") or 0.0


def run_parts(parts: list[str], quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {"environment": system.describe(), "quick": quick}
    big = 100 if quick else 1000
    if "scale" in parts:
        load = _load()
        results["scale"] = _isolated("scale", {"regions": big}) | {"load_before": load}
        memory = _isolated("scale", {"regions": big, "broadcasts": 2, "trace_memory": True})
        results["scale"]["tracemalloc_peak_mb"] = memory.get("tracemalloc_peak_mb")
        _say("scale", results["scale"])
    if "pool" in parts:
        workers = system.describe().get("cpu_count") or 2
        regions = 1000 if quick else 10_000
        load = _load()
        results["pool"] = _isolated("scale", {"regions": regions, "pool_workers": workers}) | {"load_before": load}
        memory = _isolated("scale", {"regions": regions, "broadcasts": 2, "pool_workers": workers, "trace_memory": True})
        results["pool"]["tracemalloc_peak_mb"] = memory.get("tracemalloc_peak_mb")
        _say("pool", results["pool"])
    if "keep" in parts:
        cycles = 5 if quick else 20
        for keep in (True, False):
            key = "keep_true" if keep else "keep_false"
            load = _load()
            results[key] = _isolated("keep_cycles", {"regions": big, "cycles": cycles, "keep": keep}) | {"load_before": load}
            _say(key, results[key])
    if "busy" in parts:
        work = 100_000 if quick else 1_000_000
        for regions in (2, 4):
            row: dict[str, Any] = {"load_before": _load()}
            for concurrent in (False, True):
                key = "concurrent" if concurrent else "sequential"
                row[key] = _isolated("busy", {"regions": regions, "work": work, "events": 5 if quick else 10,
                                              "concurrent": concurrent})
            if row["sequential"]["status"] == "ok" and row["concurrent"]["status"] == "ok":
                row["speedup"] = row["sequential"]["pair_median_s"] / row["concurrent"]["pair_median_s"]
            results[f"busy_{regions}"] = row
            _say(f"busy_{regions}", row)
    return results


def _say(label: str, data: dict[str, Any]) -> None:
    print(f"{label}: {json.dumps(data, default=str)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf.regions_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="scale,pool,keep,busy",
                        help="comma-separated measurements: scale, pool, keep, busy")
    parser.add_argument("--quick", action="store_true", help="100 regions (1,000 on the pool), fewer cycles")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    parts = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = set(parts) - {"scale", "pool", "keep", "busy"}
    if unknown:
        parser.error(f"unknown measurement(s) {', '.join(sorted(unknown))}; choose from scale, pool, keep, busy")
    env = system.describe()
    print(f"CPython {env['python_version']} {system.build_label()} (GIL enabled: {env['gil_enabled']}), "
          f"{env['cpu_count']} CPUs, load {env['load_avg_1min']}", flush=True)
    results = run_parts(parts, args.quick)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=1, default=str)
    failed = [key for key, value in results.items() if isinstance(value, dict) and value.get("status") not in (None, "ok")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
