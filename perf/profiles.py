"""Part "profiles": where the time and the memory go.

- CPU: cProfile of the ping-pong and of the complex chart, top 15
  functions by own time; the ``.prof`` dumps stay in ``raw/`` for snakeviz
  or ``python -m pstats``.
- Allocations: tracemalloc around the hot path. A snapshot taken from
  inside a transition action, compared with one taken just before
  ``send``, lists what the event has allocated and still holds at that
  point; the traced peak of one event bounds its transient allocations;
  snapshots before and after many events show net growth per event.
- Heap and leaks: objgraph growth after repeated create/start/send/stop
  cycles of interpreters, after ``gc.collect()``.
"""

from __future__ import annotations

import cProfile
import gc
import io
import linecache
import os
import pstats
import time
import tracemalloc
from typing import Any

import statechartx
from statechartx import Interpreter, Machine, State, Transition

from . import charts
from .suite import RunContext

__all__ = ["run", "cpu_profile", "allocation_profile", "leak_check"]

TOP = 15


def run(ctx: RunContext) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for scenario in ("ping_pong", "complex"):
        dump = ctx.raw_dir / f"cpu-{scenario}.prof"
        outcome = ctx.isolated(
            f"cpu profile {scenario}", "perf.profiles:cpu_profile",
            {"scenario": scenario, "events": ctx.pick(200_000, 20_000), "dump": str(dump)},
            timeout=ctx.pick(300, 60), memory_mb=2048,
        )
        results[f"cpu_{scenario}"] = outcome.result if outcome.ok else {"status": "failed", "error": outcome.error}
    outcome = ctx.isolated(
        "allocation profile ping_pong", "perf.profiles:allocation_profile",
        {"events": ctx.pick(100_000, 10_000)}, timeout=ctx.pick(300, 60), memory_mb=2048,
    )
    results["allocations"] = outcome.result if outcome.ok else {"status": "failed", "error": outcome.error}
    outcome = ctx.isolated(
        "leak check", "perf.profiles:leak_check",
        {"cycles": ctx.pick(5_000, 500)}, timeout=ctx.pick(300, 60), memory_mb=2048,
    )
    results["leaks"] = outcome.result if outcome.ok else {"status": "failed", "error": outcome.error}
    return results


def _scenario(name: str) -> tuple[Interpreter, tuple[str, ...]]:
    if name == "ping_pong":
        chart, cycle = charts.ping_pong(), ("ping",)
    elif name == "complex":
        chart, cycle = charts.complex_chart(), charts.COMPLEX_CYCLE
    else:
        raise ValueError(f"unknown profile scenario {name!r}; expected 'ping_pong' or 'complex'")
    interpreter = Interpreter(Machine(chart))
    interpreter.start()
    return interpreter, cycle


def cpu_profile(scenario: str, events: int, dump: str) -> dict[str, Any]:
    """Profile ``events`` events of ``scenario`` and return the top functions."""
    interpreter, cycle = _scenario(scenario)
    send = interpreter.send
    rounds = max(1, events // len(cycle))
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(rounds):
        for name in cycle:
            send(name)
    profiler.disable()
    elapsed = time.perf_counter() - started
    profiler.dump_stats(dump)

    stats = pstats.Stats(profiler, stream=io.StringIO())
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (filename, line, function), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append({
            "function": f"{_short(filename)}:{line}({function})",
            "ncalls": ncalls,
            "tottime_s": tottime,
            "cumtime_s": cumtime,
            "tottime_share": tottime / total if total else 0.0,
            "calls_per_event": ncalls / (rounds * len(cycle)),
        })
    rows.sort(key=lambda row: row["tottime_s"], reverse=True)
    return {
        "status": "ok",
        "scenario": scenario,
        "events": rounds * len(cycle),
        "profiled_s": elapsed,
        "profiled_us_per_event": elapsed / (rounds * len(cycle)) * 1e6,
        "total_tt_s": total,
        "top": rows[:TOP],
        "dump": dump,
    }


def _short(filename: str) -> str:
    for marker in ("statechartx/", "perf/"):
        position = filename.rfind(marker)
        if position >= 0:
            return filename[position:]
    return filename


def allocation_profile(events: int) -> dict[str, Any]:
    """Allocations of the ping-pong hot path (see the module docstring)."""
    mid_event: list[tracemalloc.Snapshot] = []
    armed = [False]

    def capture(ctx: Any) -> None:
        if armed[0] and not mid_event:
            mid_event.append(tracemalloc.take_snapshot())

    chart = State(
        "pingpong",
        initial="ping",
        children=[
            State("ping", transitions=[Transition("ping", target="pong")]),
            State("pong", transitions=[Transition("ping", target="ping")]),
            # A self-transition whose action snapshots the heap mid-event.
            State("probe", transitions=[Transition("ping", target="probe", action=capture)]),
        ],
    )
    interpreter = Interpreter(Machine(chart))
    interpreter.start()
    send = interpreter.send
    for _ in range(1000):
        send("ping")
    gc.collect()

    tracemalloc.start(10)
    # Transient memory of one event: the traced peak above the level before it.
    before_bytes, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    send("ping")
    _, one_event_peak = tracemalloc.get_traced_memory()

    # Net growth over many events.
    gc.collect()
    start_snapshot = tracemalloc.take_snapshot()
    for _ in range(events):
        send("ping")
    gc.collect()
    end_snapshot = tracemalloc.take_snapshot()

    # What one warm event keeps alive in the middle of its transition's
    # action. The probe's self-transition runs 100 times first, so its
    # first-use caches are filled before the measured event.
    interpreter.transition_to("probe")
    for _ in range(100):
        send("ping")
    armed[0] = True
    before_probe = tracemalloc.take_snapshot()
    send("ping")
    tracemalloc.stop()

    # Only allocations made by the package's own files. A pattern on the
    # name "statechartx" alone would also match an interpreter installed
    # under a folder of that name.
    package_dir = os.path.dirname(statechartx.__file__)
    key_filter = [tracemalloc.Filter(True, os.path.join(package_dir, "*"))]
    growth = end_snapshot.filter_traces(key_filter).compare_to(start_snapshot.filter_traces(key_filter), "lineno")
    growth_bytes = sum(stat.size_diff for stat in growth)
    live: list[dict[str, Any]] = []
    if mid_event:
        in_flight = mid_event[0].filter_traces(key_filter).compare_to(before_probe.filter_traces(key_filter), "lineno")
        live = [_stat_row(stat) for stat in in_flight if stat.count_diff > 0][:TOP]
    return {
        "status": "ok",
        "events": events,
        "one_event_transient_bytes": one_event_peak - before_bytes,
        "net_growth_bytes_per_event": growth_bytes / events,
        "growth_top": [_stat_row(stat) for stat in growth if stat.size_diff][:TOP],
        "in_flight_top": live,
        "in_flight_blocks": sum(row["count_diff"] for row in live),
    }


def _stat_row(stat: Any) -> dict[str, Any]:
    frame = stat.traceback[0]
    return {
        "site": f"{_short(frame.filename)}:{frame.lineno}",
        "code": linecache.getline(frame.filename, frame.lineno).strip(),
        "size_diff": stat.size_diff,
        "count_diff": stat.count_diff,
    }


def leak_check(cycles: int) -> dict[str, Any]:
    """Create, start, drive and stop interpreters ``cycles`` times; report
    which object types grew (objgraph) and the RSS before and after."""
    import objgraph  # noqa: PLC0415 - the perf extra installs it

    from .isolate import rss_mb  # noqa: PLC0415

    machine = Machine(charts.complex_chart())

    def cycle() -> None:
        interpreter = Interpreter(machine)
        interpreter.start()
        for name in charts.COMPLEX_CYCLE:
            interpreter.send(name)
        interpreter.stop()

    for _ in range(100):
        cycle()
    gc.collect()
    objgraph.growth(limit=None, shortnames=False)  # baseline
    rss_before = rss_mb()
    for _ in range(cycles):
        cycle()
    gc.collect()
    grown = objgraph.growth(limit=20, shortnames=False)
    rss_after = rss_mb()
    statechartx_growth = [
        {"type": name, "count": count, "delta": delta}
        for name, count, delta in grown if "statechartx" in name
    ]
    # A type that grew by at least one object per 10 cycles grows with the
    # number of interpreters created: that is a leak, not a cache.
    per_cycle = [row for row in grown if row[2] >= cycles / 10]
    return {
        "status": "ok",
        "cycles": cycles,
        "growth": [{"type": name, "count": count, "delta": delta} for name, count, delta in grown],
        "statechartx_growth": statechartx_growth,
        "leaking_types": [name for name, _, _ in per_cycle],
        "leak": bool(per_cycle),
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
    }
