"""Part "breaking": grow one dimension geometrically until something gives.

Each dimension starts small and multiplies its size by ``factor`` per step.
Every step runs in a fresh isolated child. A failure mode (an exception
such as ``MemoryError`` or ``RecursionError``, a crash) or a limit (the
step's time limit, the RSS limit) ends the search, which records the last
good size and the failing size. The search also ends, without a
failure, at ``max_size`` or when the dimension's total time bound would be
exceeded by one more step, so it always finishes within that bound plus
one step's time limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .suite import RunContext, runtime_available

__all__ = ["run", "Dimension", "search"]


@dataclass(frozen=True)
class Dimension:
    """How to grow one dimension and which limits end the search."""

    name: str
    description: str
    target: str
    argument: str
    start: int
    factor: int
    max_size: int
    step_timeout_s: float
    memory_mb: float
    total_s: float
    extra: tuple[tuple[str, Any], ...] = ()
    # A result field that, when true, is a failure even though the step ran
    # (the offered event rate that the runtime could not keep up with).
    failure_flag: str | None = None


def _dimensions(ctx: RunContext) -> list[Dimension]:
    quick = ctx.quick
    dims = [
        Dimension(
            "states", "flat chart of N states: build, compile, start, 1,000 events",
            "perf.workloads:build_flat", "states",
            start=ctx.pick(62_500, 10_000), factor=4, max_size=ctx.pick(16_000_000, 640_000),
            step_timeout_s=ctx.pick(120, 15), memory_mb=ctx.pick(12_288, 2048), total_s=ctx.pick(420, 40),
        ),
        Dimension(
            "event_rate", "N external events queued by one action, then drained (Interpreter)",
            "perf.workloads:event_burst", "events",
            start=ctx.pick(100_000, 10_000), factor=4, max_size=ctx.pick(25_600_000, 640_000),
            step_timeout_s=ctx.pick(120, 15), memory_mb=ctx.pick(12_288, 2048), total_s=ctx.pick(300, 30),
        ),
        Dimension(
            "regions", "parallel state of N regions: compile, start, 10 broadcasts x 3, stop",
            "perf.workloads:broadcast", "regions",
            start=ctx.pick(1_000, 250), factor=2 if not quick else 4, max_size=ctx.pick(1_024_000, 64_000),
            step_timeout_s=ctx.pick(120, 15), memory_mb=ctx.pick(12_288, 2048), total_s=ctx.pick(420, 40),
        ),
        Dimension(
            "depth", "two chains N levels deep: compile, start, 5 cross transitions, 500 swaps",
            "perf.workloads:deep_transitions", "depth",
            start=ctx.pick(1_000, 1_000), factor=4, max_size=ctx.pick(4_096_000, 256_000),
            step_timeout_s=ctx.pick(120, 15), memory_mb=ctx.pick(12_288, 2048), total_s=ctx.pick(420, 40),
        ),
    ]
    available, _ = runtime_available()
    if available:
        dims.append(Dimension(
            "offered_rate", "events/s offered to one Runtime for 1 s; fails when it falls behind by 10%",
            "perf.workloads_runtime:offered_rate", "rate",
            start=ctx.pick(5_000, 10_000), factor=2, max_size=ctx.pick(5_120_000, 640_000),
            step_timeout_s=ctx.pick(60, 15), memory_mb=ctx.pick(8192, 2048), total_s=ctx.pick(240, 40),
            extra=(("duration", ctx.pick(1.0, 0.25)),), failure_flag="saturated",
        ))
    return dims


def run(ctx: RunContext) -> dict[str, Any]:
    results = {dimension.name: search(ctx, dimension) for dimension in _dimensions(ctx)}
    available, reason = runtime_available()
    if not available:
        results["offered_rate"] = {"status": "skipped", "reason": reason}
    return results


def search(ctx: RunContext, dimension: Dimension) -> dict[str, Any]:
    """Grow ``dimension`` until a failure, a limit, ``max_size`` or its time bound."""
    began = time.perf_counter()
    steps: list[dict[str, Any]] = []
    last_good: int | None = None
    failing: int | None = None
    mode = ""
    size = dimension.start
    while True:
        spent = time.perf_counter() - began
        if size > dimension.max_size:
            mode = f"none up to max size {dimension.max_size:,}"
            break
        if spent + dimension.step_timeout_s > dimension.total_s:
            mode = f"none before the time bound of {dimension.total_s:g} s (next size {size:,} not run)"
            break
        outcome = ctx.isolated(
            f"{dimension.name} n={size:,}", dimension.target,
            {dimension.argument: size, **dict(dimension.extra)},
            timeout=dimension.step_timeout_s, memory_mb=dimension.memory_mb,
        )
        step: dict[str, Any] = {
            "size": size, "status": outcome.status, "elapsed_s": outcome.elapsed_s,
            "peak_rss_mb": outcome.peak_rss_mb,
        }
        if outcome.ok and outcome.result:
            step["result"] = outcome.result
            if dimension.failure_flag and outcome.result.get(dimension.failure_flag):
                step["status"] = dimension.failure_flag
        else:
            step["error"] = outcome.error
            step["stderr_tail"] = outcome.stderr_tail
        steps.append(step)
        if step["status"] != "ok":
            failing = size
            mode = _failure_mode(step, dimension)
            break
        last_good = size
        size *= dimension.factor
    return {
        "status": "ok",
        "description": dimension.description,
        "factor": dimension.factor,
        "limits": {
            "step_timeout_s": dimension.step_timeout_s,
            "memory_mb": dimension.memory_mb,
            "max_size": dimension.max_size,
            "total_s": dimension.total_s,
        },
        "last_good": last_good,
        "failing": failing,
        "failure_mode": mode,
        "broke": failing is not None,
        "elapsed_s": time.perf_counter() - began,
        "steps": steps,
    }


def _failure_mode(step: dict[str, Any], dimension: Dimension) -> str:
    status = step["status"]
    if status == "timeout":
        return f"time limit: step took over {dimension.step_timeout_s:g} s"
    if status == "memory-limit":
        return f"memory limit: RSS over {dimension.memory_mb:g} MiB"
    if status == "error":
        return f"exception: {step['error']}"
    if status == "crash":
        return f"crash: {step['error']}"
    result = step.get("result", {})
    if status == "saturated":
        return (
            f"saturated: processed {result.get('achieved_per_s', 0):,.0f} events/s of "
            f"{result.get('offered_per_s') or 0:,.0f} offered"
        )
    return f"{status}: {result}"
