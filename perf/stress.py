"""Part "stress": the five stress tests, each judged against its criteria.

These are measurements with pass/fail criteria, not unit tests: each runs
in an isolated child bounded in time and memory, and a failure is a result
in the report. Under ``--quick`` each runs at a reduced size; its verdict is
then marked as such because the criteria are stated for the full size.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .suite import RunContext, runtime_available

__all__ = ["run", "runtime_events_with_metrics", "machines_with_peak_threads"]

GIB = 1024.0


def run(ctx: RunContext) -> dict[str, Any]:
    results = {
        "million_states": _million_states(ctx),
        "million_events": _million_events(ctx),
        "regions_1000": _regions(ctx),
        "depth_1000": _depth(ctx),
        "machines_10000": _machines(ctx),
    }
    for result in results.values():
        if ctx.quick and result.get("size") != result.get("full_size"):
            result["reduced_size"] = True
    return results


def _verdict(checks: dict[str, bool]) -> str:
    return "pass" if all(checks.values()) else "fail"


def _failed(outcome: Any, **extra: Any) -> dict[str, Any]:
    return {"status": "failed", "verdict": "fail", "error": outcome.error, "outcome": outcome.to_json(), **extra}


def _million_states(ctx: RunContext) -> dict[str, Any]:
    full = 1_000_000
    states = ctx.pick(full, 100_000)
    base = {"size": states, "full_size": full, "criteria": "creation < 10 s, memory < 1 GB"}
    outcome = ctx.isolated(
        f"million_states n={states:,}", "perf.workloads:build_flat",
        {"states": states, "events": 1000}, timeout=ctx.pick(120, 30), memory_mb=ctx.pick(4096, 2048),
    )
    if not outcome.ok:
        return _failed(outcome, **base)
    result = outcome.result or {}
    checks = {
        "creation_under_10s": result["build_s"] < 10.0,
        # Peak RSS of the whole child: interpreter, chart objects and Machine.
        "memory_under_1gb": result["peak_rss_mb"] < GIB,
    }
    return {"status": "ok", "verdict": _verdict(checks), "checks": checks, **base, **result}


def _million_events(ctx: RunContext) -> dict[str, Any]:
    full = 1_000_000
    events = ctx.pick(full, 100_000)
    base = {"size": events, "full_size": full, "criteria": "none lost, > 10,000 events/s"}
    outcome = ctx.isolated(
        f"million_events n={events:,} (Interpreter)", "perf.workloads:ping_pong_events",
        {"events": events}, timeout=ctx.pick(300, 60), memory_mb=2048,
    )
    if not outcome.ok:
        return _failed(outcome, **base)
    result = outcome.result or {}
    checks = {"none_lost": result["lost"] == 0, "over_10000_per_s": result["events_per_s"] > 10_000}
    report: dict[str, Any] = {
        "status": "ok", "verdict": _verdict(checks), "checks": checks, **base,
        "interpreter": result,
    }
    available, reason = runtime_available()
    if not available:
        report["runtime"] = {"status": "skipped", "reason": reason}
        return report
    runtime_outcome = ctx.isolated(
        f"million_events n={events:,} (Runtime)", "perf.stress:runtime_events_with_metrics",
        {"events": events}, timeout=ctx.pick(600, 120), memory_mb=4096,
    )
    if not runtime_outcome.ok:
        report["runtime"] = _failed(runtime_outcome)
        report["verdict"] = "fail"
        return report
    runtime_result = runtime_outcome.result or {}
    runtime_checks = {
        "none_lost": runtime_result["lost"] == 0 and runtime_result["idle"],
        "over_10000_per_s": (runtime_result["events_per_s"] or 0) > 10_000,
    }
    report["runtime"] = {"status": "ok", "verdict": _verdict(runtime_checks), "checks": runtime_checks, **runtime_result}
    report["verdict"] = _verdict({**checks, **{f"runtime_{k}": v for k, v in runtime_checks.items()}})
    return report


def _regions(ctx: RunContext) -> dict[str, Any]:
    regions = 1000
    base = {"size": regions, "full_size": regions, "criteria": "start < 5 s, stop < 5 s (Interpreter)"}
    outcome = ctx.isolated(
        f"regions_1000 n={regions:,}", "perf.workloads:broadcast",
        {"regions": regions}, timeout=60, memory_mb=2048,
    )
    if not outcome.ok:
        return _failed(outcome, **base)
    result = outcome.result or {}
    checks = {"start_under_5s": result["start_s"] < 5.0, "stop_under_5s": result["stop_s"] < 5.0}
    return {"status": "ok", "verdict": _verdict(checks), "checks": checks, **base, **result}


def _depth(ctx: RunContext) -> dict[str, Any]:
    depth = 1000
    base = {"size": depth, "full_size": depth, "criteria": "transition < 1 s (exit and re-enter 1,000 levels)"}
    outcome = ctx.isolated(
        f"depth_1000 n={depth:,}", "perf.workloads:deep_transitions",
        {"depth": depth}, timeout=60, memory_mb=2048,
    )
    if not outcome.ok:
        return _failed(outcome, **base)
    result = outcome.result or {}
    checks = {"transition_under_1s": result["cross_max_s"] < 1.0}
    return {"status": "ok", "verdict": _verdict(checks), "checks": checks, **base, **result}


def _machines(ctx: RunContext) -> dict[str, Any]:
    full = 10_000
    machines = ctx.pick(full, 1_000)
    base = {"size": machines, "full_size": full, "criteria": "10,000 machines x 100 events < 60 s, none lost"}
    available, reason = runtime_available()
    if not available:
        ctx.progress(f"machines_10000: {reason}")
        return {"status": "skipped", "verdict": "skipped", "reason": reason, **base}
    outcome = ctx.isolated(
        f"machines_10000 n={machines:,} x 100 events", "perf.stress:machines_with_peak_threads",
        {"machines": machines, "events": 100}, timeout=ctx.pick(180, 60), memory_mb=8192,
    )
    if not outcome.ok:
        return _failed(outcome, **base)
    result = outcome.result or {}
    checks = {
        "under_60s": result["seconds"] < 60.0,
        "none_lost": result["lost"] == 0 and result["stuck_runtimes"] == 0,
    }
    return {"status": "ok", "verdict": _verdict(checks), "checks": checks, **base, **result}


# ---------------------------------------------------------------------------
# Child-side wrappers: the workloads of perf.workloads_runtime plus the two
# figures the dashboard reads (perf/dashboard.py headline_figures):
# parts.stress.data.million_events.runtime.metrics and
# parts.stress.data.machines_10000.peak_threads.


@contextmanager
def _metrics_at_stop(snapshots: list[dict[str, Any]]) -> Iterator[None]:
    """Record ``Runtime.metrics`` of every runtime as ``stop`` is called.

    runtime_events creates and stops its runtime itself; it stops it after
    ``wait_idle`` returned, so the snapshot taken here covers every event.
    The patch lives in the isolated child only and is undone on exit.
    """
    from statechartx.runtime import Runtime  # noqa: PLC0415

    original = Runtime.stop

    def stop(self: Any, *args: Any, **kwargs: Any) -> Any:
        snapshots.append(self.metrics)
        return original(self, *args, **kwargs)

    Runtime.stop = stop  # type: ignore[method-assign]
    try:
        yield
    finally:
        Runtime.stop = original  # type: ignore[method-assign]


def runtime_events_with_metrics(events: int) -> dict[str, Any]:
    """``workloads_runtime.runtime_events`` plus the runtime's metrics snapshot."""
    from .workloads_runtime import runtime_events  # noqa: PLC0415

    snapshots: list[dict[str, Any]] = []
    with _metrics_at_stop(snapshots):
        result = runtime_events(events)
    result["metrics"] = snapshots[0] if snapshots else None
    return result


def machines_with_peak_threads(machines: int, events: int) -> dict[str, Any]:
    """``workloads_runtime.concurrent_machines`` plus the peak thread count.

    A sampler thread reads ``threading.active_count()`` every 5 ms while the
    workload runs; the count it records excludes the sampler itself.
    """
    from .workloads_runtime import concurrent_machines  # noqa: PLC0415

    done = threading.Event()
    peak = [threading.active_count()]

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], threading.active_count() - 1)

    sampler = threading.Thread(target=sample, name="thread-count-sampler", daemon=True)
    sampler.start()
    try:
        result = concurrent_machines(machines, events)
    finally:
        done.set()
        sampler.join(5.0)
    result["peak_threads"] = peak[0]
    result["peak_threads_sampling"] = "threading.active_count() every 5 ms, sampler excluded"
    return result
