"""Part "benchmarks": the pyperf scenarios and the 1,000,000-state build.

Each pyperf scenario runs as its own command (``python -m perf.bench_engine
--scenario NAME -o raw/NAME.json``) so that pyperf spawns and manages its
worker processes as usual; the JSON it writes is kept in the results
folder for ``pyperf compare_to``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from . import bench_engine, bench_runtime
from .isolate import ROOT
from .suite import RunContext, runtime_available

__all__ = ["run", "QUICK_PYPERF_OPTIONS"]

# Quick mode: 3 worker processes of 3 values each, 50 ms per value. Enough
# to catch a regression of tens of percent, not to publish.
QUICK_PYPERF_OPTIONS = ["--processes", "3", "--values", "3", "--warmups", "1", "--min-time", "0.05"]
FLAT_BUILD_STATES = 1_000_000
FLAT_BUILD_STATES_QUICK = 100_000


def run(ctx: RunContext) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in bench_engine.SCENARIOS:
        results[name] = _run_pyperf(ctx, "perf.bench_engine", name)

    available, reason = runtime_available()
    for name in bench_runtime.SCENARIOS:
        if available:
            results[name] = _run_pyperf(ctx, "perf.bench_runtime", name)
        else:
            results[name] = {"status": "skipped", "reason": reason}
            ctx.progress(f"{name}: {reason}")

    results["flat_build"] = _flat_build(ctx)
    return results


def _run_pyperf(ctx: RunContext, module: str, name: str) -> dict[str, Any]:
    import pyperf  # noqa: PLC0415 - the perf extra installs it

    output = ctx.raw_dir / f"{name}.json"
    output.unlink(missing_ok=True)
    command = [sys.executable, "-m", module, "--scenario", name, "--quiet", "-o", str(output)]
    if ctx.quick:
        command += QUICK_PYPERF_OPTIONS
    timeout = ctx.pick(600, 120)
    ctx.progress(f"{name} (pyperf{' quick' if ctx.quick else ''}) ...")
    try:
        completed = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"status": "failed", "error": f"pyperf run timed out after {timeout} s"}
    if completed.returncode != 0 or not output.exists():
        tail = "\n".join((completed.stderr or completed.stdout).splitlines()[-12:])
        return {"status": "failed", "error": f"pyperf exit status {completed.returncode}", "stderr_tail": tail}

    bench = pyperf.Benchmark.load(str(output))
    values = bench.get_values()
    summary = {
        "status": "ok",
        "description": bench.get_metadata().get("description", ""),
        "unit": "s",
        "median": bench.median(),
        "mean": bench.mean(),
        "stdev": bench.stdev() if len(values) > 1 else 0.0,
        "values": len(values),
        "loops": bench.get_metadata().get("loops"),
        "inner_loops": bench.get_metadata().get("inner_loops", 1),
        "raw": str(output.relative_to(ctx.out_dir)),
        "gil_enabled": bench.get_metadata().get("gil_enabled"),
    }
    ctx.progress(f"{name}: median {summary['median'] * 1e9:,.0f} ns over {len(values)} values")
    return summary


def _flat_build(ctx: RunContext) -> dict[str, Any]:
    """Seconds to build and compile a flat chart, then its memory in a second
    run with tracemalloc (which slows allocation, so it is not timed)."""
    states = ctx.pick(FLAT_BUILD_STATES, FLAT_BUILD_STATES_QUICK)
    timeout = ctx.pick(300, 60)
    memory_mb = ctx.pick(8192, 2048)
    timed = ctx.isolated(
        f"flat build {states:,} states", "perf.workloads:build_flat",
        {"states": states}, timeout=timeout, memory_mb=memory_mb,
    )
    traced = ctx.isolated(
        f"flat build {states:,} states with tracemalloc", "perf.workloads:build_flat",
        {"states": states, "trace_memory": True}, timeout=timeout * 2, memory_mb=memory_mb,
    )
    if not timed.ok:
        return {"status": "failed", "states": states, "error": timed.error, "outcome": timed.to_json()}
    result: dict[str, Any] = {"status": "ok", **(timed.result or {})}
    if traced.ok and traced.result:
        result["traced_peak_mb"] = traced.result["traced_peak_mb"]
    else:
        result["traced_error"] = traced.error
    return result


def pyperf_files(folder: Path) -> list[Path]:
    """The raw pyperf JSON files of a results folder."""
    return sorted((folder / "raw").glob("*.json"))
