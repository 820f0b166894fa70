"""Part "scalability": how cost grows with size, classified by log-log slope.

For each dimension the cost is measured at sizes spread geometrically (one
isolated child per size), then ``log10(cost)`` is fitted against
``log10(size)`` by least squares. The slope classifies the growth: about 0
is O(1), 1 is O(n), 2 is O(n^2). O(log n) shows as a small positive slope
(about 0.1-0.3 over these ranges), so the O(1)/O(log n) boundary is a
heuristic; the fitted slope and the cost ratio are reported with the class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .suite import RunContext

__all__ = ["run", "classify", "fit_slope", "Curve"]


@dataclass(frozen=True)
class Curve:
    """One measured dimension: which workload, which field is the cost."""

    name: str
    description: str
    target: str
    argument: str
    field: str
    expected: str
    max_exponent_full: float
    max_exponent_quick: float
    min_exponent: float = 2.0


CURVES = (
    Curve("state_count", "cost of one event vs number of states (flat chart)",
          "perf.workloads:flat_event_cost", "states", "seconds", "O(1)", 6.0, 5.0),
    Curve("event_count", "total time vs number of events (ping-pong)",
          "perf.workloads:ping_pong_events", "events", "seconds", "O(n)", 6.0, 5.0),
    Curve("region_count", "cost of one broadcast event vs number of regions",
          "perf.workloads:broadcast", "regions", "seconds", "O(n)", 5.0, 4.0, 1.0),
    Curve("depth_cross", "cost of a transition that exits and enters N levels vs depth N",
          "perf.workloads:deep_transitions", "depth", "cross_s", "O(n)", 5.0, 4.0, 1.0),
    Curve("depth_swap", "cost of a transition between two leaves at depth N vs N",
          "perf.workloads:deep_transitions", "depth", "swap_s", "O(1)", 5.0, 4.0, 1.0),
)


def fit_slope(sizes: list[float], costs: list[float]) -> float:
    """Least-squares slope of log10(cost) against log10(size)."""
    xs = [math.log10(size) for size in sizes]
    ys = [math.log10(cost) for cost in costs]
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        raise ValueError("fit_slope needs at least two distinct sizes")
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def classify(slope: float) -> str:
    """Complexity class of a log-log slope (see the module docstring)."""
    if slope < 0.1:
        return "O(1)"
    if slope < 0.3:
        return "O(log n)"
    if slope < 0.8:
        return f"O(n^{slope:.1f}) (sublinear)"
    if slope < 1.2:
        return "O(n)"
    if slope < 1.5:
        return "O(n log n)"
    return f"O(n^{slope:.1f})"


def _sizes(ctx: RunContext, curve: Curve) -> list[int]:
    top = curve.max_exponent_quick if ctx.quick else curve.max_exponent_full
    # Half-decades in full mode for a steadier fit, decades under --quick.
    step = 1.0 if ctx.quick else 0.5
    exponents = []
    exponent = curve.min_exponent
    while exponent <= top + 1e-9:
        exponents.append(exponent)
        exponent += step
    return [int(round(10**e)) for e in exponents]


def run(ctx: RunContext) -> dict[str, Any]:
    # Workloads measured once per size serve every curve that reads them
    # (depth_cross and depth_swap share their runs).
    cache: dict[tuple[str, int], Any] = {}
    results: dict[str, Any] = {}
    for curve in CURVES:
        points = []
        failures = []
        for size in _sizes(ctx, curve):
            key = (curve.target, size)
            if key not in cache:
                cache[key] = ctx.isolated(
                    f"{curve.name} n={size:,}", curve.target, {curve.argument: size},
                    timeout=ctx.pick(180, 30), memory_mb=ctx.pick(8192, 2048),
                )
            outcome = cache[key]
            if outcome.ok and outcome.result and outcome.result.get(curve.field):
                points.append({"size": size, "cost_s": outcome.result[curve.field]})
            else:
                failures.append({"size": size, "status": outcome.status, "error": outcome.error})
        result: dict[str, Any] = {
            "description": curve.description,
            "expected": curve.expected,
            "points": points,
            "failures": failures,
        }
        if len(points) >= 2:
            sizes = [p["size"] for p in points]
            costs = [p["cost_s"] for p in points]
            slope = fit_slope(sizes, costs)
            result.update({
                "status": "ok",
                "slope": slope,
                "class": classify(slope),
                "ratio": costs[-1] / costs[0],
                "size_ratio": sizes[-1] / sizes[0],
            })
            result["as_expected"] = result["class"] == curve.expected
            ctx.progress(f"{curve.name}: slope {slope:.2f} -> {result['class']} (expected {curve.expected})")
        else:
            result["status"] = "failed"
            result["error"] = "fewer than two sizes measured"
        results[curve.name] = result
    return results
