"""PNG plots of one or more results.json files (matplotlib, Agg backend).

``make_plots`` raises ImportError when matplotlib is missing; the report
then states it, and ``python -m perf report DIR`` can draw them later from
another interpreter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["make_plots"]


def make_plots(runs: list[dict[str, Any]], out_dir: Path) -> list[str]:
    """Draw every plot the data allows into ``out_dir``; return the file names."""
    import matplotlib  # noqa: PLC0415 - optional dependency

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    written = []
    for name, draw in (
        ("scalability.png", _scalability),
        ("benchmarks.png", _benchmarks),
        ("breaking.png", _breaking),
    ):
        figure = draw(plt, runs)
        if figure is None:
            continue
        figure.savefig(out_dir / name, dpi=110, bbox_inches="tight")
        plt.close(figure)
        written.append(name)
    return written


def _label(run: dict[str, Any]) -> str:
    env = run.get("environment", {})
    return f"{run.get('build')} (CPython {env.get('python_version')})"


def _part(run: dict[str, Any], name: str) -> dict[str, Any]:
    part = run.get("parts", {}).get(name, {})
    return part.get("data") or {} if part.get("status") == "ok" else {}


def _scalability(plt: Any, runs: list[dict[str, Any]]) -> Any:
    curves = sorted({name for run in runs for name in _part(run, "scalability")})
    if not curves:
        return None
    columns = min(3, len(curves))
    rows = (len(curves) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.8 * rows), squeeze=False)
    for axis, curve in zip(axes.flat, curves, strict=False):
        expected = ""
        for run in runs:
            data = _part(run, "scalability").get(curve)
            if not data or not data.get("points"):
                continue
            sizes = [point["size"] for point in data["points"]]
            costs = [point["cost_s"] for point in data["points"]]
            label = f"{_label(run)}: {data.get('class', '?')}"
            axis.loglog(sizes, costs, marker="o", label=label)
            expected = data.get("expected", "")
        axis.set_title(f"{curve} (expected {expected})", fontsize=10)
        axis.set_xlabel("size")
        axis.set_ylabel("seconds")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    for axis in list(axes.flat)[len(curves):]:
        axis.set_visible(False)
    figure.suptitle("Scalability: cost vs size (log-log)")
    figure.tight_layout()
    return figure


def _benchmarks(plt: Any, runs: list[dict[str, Any]]) -> Any:
    names = []
    for run in runs:
        for name, data in _part(run, "benchmarks").items():
            if data.get("status") == "ok" and "median" in data and name not in names:
                names.append(name)
    if not names:
        return None
    figure, axis = plt.subplots(figsize=(max(6, 1.1 * len(names)), 4))
    width = 0.8 / len(runs)
    for position, run in enumerate(runs):
        data = _part(run, "benchmarks")
        medians = [data.get(name, {}).get("median", 0) * 1e6 for name in names]
        offsets = [i + position * width for i in range(len(names))]
        axis.bar(offsets, medians, width=width, label=_label(run))
    axis.set_xticks([i + width * (len(runs) - 1) / 2 for i in range(len(names))])
    axis.set_xticklabels(names, rotation=30, ha="right")
    axis.set_yscale("log")
    axis.set_ylabel("median, microseconds (log)")
    axis.set_title("pyperf benchmarks")
    axis.legend(fontsize=8)
    axis.grid(True, axis="y", which="both", alpha=0.3)
    figure.tight_layout()
    return figure


def _breaking(plt: Any, runs: list[dict[str, Any]]) -> Any:
    dimensions = sorted({
        name for run in runs for name, data in _part(run, "breaking").items() if data.get("steps")
    })
    if not dimensions:
        return None
    figure, axes = plt.subplots(1, len(dimensions), figsize=(4.5 * len(dimensions), 3.6), squeeze=False)
    for axis, dimension in zip(axes.flat, dimensions, strict=False):
        for run in runs:
            data = _part(run, "breaking").get(dimension)
            if not data or not data.get("steps"):
                continue
            steps = data["steps"]
            axis.loglog([s["size"] for s in steps], [max(s["elapsed_s"], 1e-3) for s in steps],
                        marker="o", label=_label(run))
            failed = [s for s in steps if s["status"] != "ok"]
            if failed:
                axis.scatter([s["size"] for s in failed], [s["elapsed_s"] for s in failed],
                             marker="x", s=80, color="red", zorder=3)
        axis.set_title(dimension, fontsize=10)
        axis.set_xlabel("size")
        axis.set_ylabel("step wall time, s")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    figure.suptitle("Breaking points: time per step (x = failing step)")
    figure.tight_layout()
    return figure
