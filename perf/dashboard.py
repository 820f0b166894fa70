"""A static HTML dashboard of the headline figures across every suite run.

    python -m perf.dashboard [--results perf/results] [--out perf/results/dashboard.html]

Reads every ``<results>/*/results.json`` that ``python -m perf`` wrote,
orders the runs by start time and draws one trend plot per headline figure,
with the GIL and free-threaded runs as two series and the performance targets as
dashed horizontal lines. The page is self-contained: the plots are inline
SVG generated here, the styles and one small status script are inline, and
nothing is loaded from the network, so it opens from disk.

A run can lack a figure because a part failed or did not run, or because an
older suite did not write the key. Such a run leaves a gap in its build's
line and is never drawn as zero. A results.json that cannot be read is skipped with a warning
that names the file, on stderr and on the page.

``headline_figures`` is the one place that knows where each figure sits in
results.json; change it there when the suite's format changes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

__all__ = [
    "FIGURES",
    "Figure",
    "Run",
    "build_dashboard",
    "headline_figures",
    "load_runs",
    "main",
]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TEMPLATE = Path(__file__).resolve().parent / "dashboard_template.html"

BUILDS = ("gil", "nogil")
BUILD_NAMES = {"gil": "GIL", "nogil": "free-threaded"}
# Colour-blind-safe pair (Okabe-Ito blue and vermillion).
COLOURS = {"gil": "#0072B2", "nogil": "#D55E00"}

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


# ---------------------------------------------------------------------------
# Figures and the adapter from results.json


@dataclass(frozen=True)
class Figure:
    """One trend plot: a headline figure, its unit and its target."""

    key: str
    section: str
    title: str
    unit: str
    target: float | None = None
    target_label: str = ""
    caption: str = ""


FIGURES: tuple[Figure, ...] = (
    Figure("runtime_events_per_s", "Throughput", "Event throughput, Runtime", "events/s",
           10_000, "target > 10,000 /s",
           "One producer thread sends N events to one Runtime (1M-event stress test)."),
    Figure("interpreter_events_per_s", "Throughput", "Event throughput, Interpreter", "events/s",
           10_000, "target > 10,000 /s",
           "Interpreter.send in a loop, no threads (1M-event stress test)."),
    Figure("machines_10000_s", "Throughput", "10,000 machines x 100 events", "wall time (s)",
           60, "target < 60 s",
           "Runtimes on a PoolDispatcher, events sent round-robin."),
    Figure("transition_ns", "Engine latency", "State transition", "time per transition (ns)",
           1_000, "target < 1 us", "Median of Interpreter.send on a two-state chart (pyperf)."),
    Figure("send_ns", "Engine latency", "Event send", "time per send (ns)",
           500, "target < 500 ns", "Median of Runtime.send from the producer thread (pyperf)."),
    Figure("lca_ns", "Engine latency", "LCA computation", "time per call (ns)",
           100, "target < 100 ns", "Median of Machine.lca on two leaves 5 levels deep (pyperf)."),
    Figure("machine_creation_us", "Engine latency", "Machine creation, small chart",
           "time per Machine (us)", 10, "target < 10 us", "Median of Machine(chart), 20 states."),
    Figure("region_spawn_us", "Engine latency", "10 region spawn", "time (us)",
           1_000, "target < 1 ms", "Runtime.call entering a concurrent parallel state of 10 regions."),
    Figure("latency_p50_us", "Event latency (send to processed)", "Event latency p50",
           "latency (us)", caption="From the Runtime.metrics snapshot of the throughput run."),
    Figure("latency_p95_us", "Event latency (send to processed)", "Event latency p95",
           "latency (us)", caption="From the Runtime.metrics snapshot of the throughput run."),
    Figure("latency_p99_us", "Event latency (send to processed)", "Event latency p99",
           "latency (us)", caption="From the Runtime.metrics snapshot of the throughput run."),
    Figure("latency_max_us", "Event latency (send to processed)", "Event latency max",
           "latency (us)", caption="From the Runtime.metrics snapshot of the throughput run."),
    Figure("peak_memory_mib", "Resources", "Peak memory, 1M-state chart", "peak RSS (MiB)",
           1_024, "target < 1 GB", "Peak RSS of the child that builds the chart (fewer states with --quick)."),
    Figure("states_build_s", "Resources", "1M-state chart: creation", "build + compile (s)",
           10, "target < 10 s", "Chart construction and Machine compilation."),
    Figure("thread_count", "Resources", "Thread count", "threads",
           caption="Peak number of threads during the 10,000-machine stress test."),
    Figure("gc_pause_ms", "Resources", "GC pause time", "total pause (ms)",
           caption="Cyclic-collector pauses seen by gc.callbacks during the throughput run."),
    Figure("regions_start_ms", "Large charts", "1,000 regions: start", "time (ms)",
           5_000, "target < 5 s", "Interpreter start entering a parallel state of 1,000 regions."),
    Figure("regions_stop_ms", "Large charts", "1,000 regions: stop", "time (ms)",
           5_000, "target < 5 s", "Interpreter stop leaving a parallel state of 1,000 regions."),
    Figure("depth_transition_ms", "Large charts", "1,000-deep transition", "time (ms)",
           1_000, "target < 1 s", "Slowest of 5 transitions that exit and enter 1,000 levels."),
    Figure("break_states", "Breaking points", "Breaking point: states", "largest size passed (states)",
           caption="Flat chart of N states: build, compile, start, 1,000 events."),
    Figure("break_event_rate", "Breaking points", "Breaking point: queued events",
           "largest size passed (events)", caption="N events queued by one action, then drained."),
    Figure("break_regions", "Breaking points", "Breaking point: regions",
           "largest size passed (regions)", caption="Parallel state of N regions."),
    Figure("break_depth", "Breaking points", "Breaking point: depth",
           "largest size passed (levels)", caption="Two chains N levels deep."),
    Figure("break_offered_rate", "Breaking points", "Breaking point: offered event rate",
           "largest rate sustained (events/s)", caption="Events per second offered to one Runtime for 1 s."),
)


def _part(run: dict[str, Any], name: str) -> dict[str, Any]:
    """Return the data of a part that finished ok, else an empty dict."""
    parts = run.get("parts")
    part = parts.get(name) if isinstance(parts, dict) else None
    if not isinstance(part, dict) or part.get("status") != "ok":
        return {}
    data = part.get("data")
    return data if isinstance(data, dict) else {}


def _dig(data: Any, *keys: str) -> Any:
    """Follow ``keys`` through nested dicts and return None when a step is missing."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _number(value: Any) -> float | None:
    """Return a finite int or float as float, and None for anything else (bools too)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _ok(entry: Any) -> dict[str, Any]:
    """Return ``entry`` if it is a dict whose status is absent or "ok", else {}."""
    if not isinstance(entry, dict) or entry.get("status", "ok") != "ok":
        return {}
    return entry


def _find_key(data: Any, key: str) -> Any:
    """Return the first value stored under ``key`` anywhere in ``data`` (depth first)."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if key in node:
                return node[key]
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return None


def _runtime_metrics(run: dict[str, Any]) -> dict[str, Any]:
    """Return the Runtime.metrics snapshot that a run recorded, or {}.

    NOTE: the suite does not record a snapshot yet. These are the places
    where it is looked for, in order: the Runtime side of the 1M-event
    stress test, the throughput benchmark, then the first dict anywhere in
    the run that contains a latency percentile.
    """
    candidates = (
        _dig(_part(run, "stress"), "million_events", "runtime", "metrics"),
        _dig(_part(run, "benchmarks"), "throughput", "metrics"),
    )
    for candidate in candidates:
        if isinstance(candidate, dict):
            return candidate
    stack: list[Any] = [run.get("parts")]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "statechartx_event_latency_seconds_p50" in node:
                return node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return {}


def _scaled(value: Any, factor: float) -> float | None:
    number = _number(value)
    return None if number is None else number * factor


def headline_figures(run: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """Map a results.json document to ``{figure key: (value, note)}``.

    Values are in the unit of the figure's axis. A figure the run lacks is
    absent from the result. The note is shown in the point's tooltip.
    """
    benchmarks = _part(run, "benchmarks")
    stress = _part(run, "stress")
    breaking = _part(run, "breaking")
    metrics = _runtime_metrics(run)
    found: dict[str, tuple[float | None, str]] = {}

    def bench(key: str, name: str, factor: float) -> None:
        entry = _ok(benchmarks.get(name))
        found[key] = (_scaled(entry.get("median"), factor), "")

    bench("transition_ns", "transition", 1e9)
    bench("send_ns", "event_send", 1e9)
    bench("lca_ns", "lca", 1e9)
    bench("machine_creation_us", "machine_creation", 1e6)
    bench("region_spawn_us", "region_spawn", 1e6)

    events = _ok(stress.get("million_events"))
    size = _number(events.get("size"))
    size_note = f"n={size:,.0f}" if size else ""
    found["runtime_events_per_s"] = (
        _number(_ok(events.get("runtime")).get("events_per_s")), size_note)
    found["interpreter_events_per_s"] = (
        _number(_ok(events.get("interpreter")).get("events_per_s")), size_note)

    states = _ok(stress.get("million_states"))
    states_note = f"{_number(states.get('states')) or 0:,.0f} states" if states else ""
    found["peak_memory_mib"] = (_number(states.get("peak_rss_mb")), states_note)
    found["states_build_s"] = (_number(states.get("build_s")), states_note)

    regions = _ok(stress.get("regions_1000"))
    found["regions_start_ms"] = (_scaled(regions.get("start_s"), 1e3), "")
    found["regions_stop_ms"] = (_scaled(regions.get("stop_s"), 1e3), "")
    found["depth_transition_ms"] = (
        _scaled(_ok(stress.get("depth_1000")).get("cross_max_s"), 1e3), "")
    machines = _ok(stress.get("machines_10000"))
    machines_note = f"{_number(machines.get('machines')) or 0:,.0f} machines" if machines else ""
    found["machines_10000_s"] = (_number(machines.get("seconds")), machines_note)

    # NOTE: the suite records no thread count yet. These keys are where one
    # is looked for.
    threads = _number(machines.get("peak_threads"))
    if threads is None:
        threads = _number(_find_key(run.get("parts"), "peak_threads"))
    found["thread_count"] = (threads, "")

    for suffix in ("p50", "p95", "p99", "max"):
        found[f"latency_{suffix}_us"] = (
            _scaled(metrics.get(f"statechartx_event_latency_seconds_{suffix}"), 1e6), "")
    found["gc_pause_ms"] = (_scaled(metrics.get("statechartx_gc_pause_seconds_total"), 1e3), "")

    for name in ("states", "event_rate", "regions", "depth", "offered_rate"):
        entry = _ok(breaking.get(name))
        note = ""
        if entry and entry.get("broke") is False:
            note = "did not break up to the search limit"
        elif entry.get("failure_mode"):
            note = f"next size failed: {str(entry['failure_mode'])[:80]}"
        found[f"break_{name}"] = (_number(entry.get("last_good")), note)

    return {key: (value, note) for key, (value, note) in found.items() if value is not None}


# ---------------------------------------------------------------------------
# Loading runs


@dataclass
class Run:
    """One suite run: where it came from and its headline figures."""

    path: Path
    build: str
    started: dt.datetime
    quick: bool
    finished: bool
    python: str
    parts: dict[str, str]
    figures: dict[str, tuple[float, str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.started.strftime("%Y-%m-%d %H:%M:%S UTC")


def _parse_stamp(text: Any) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.strptime(text[:16], STAMP_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _read_run(path: Path) -> Run:
    """Read one results.json, or raise ValueError saying why it is unusable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read it: {error}") from error
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid JSON: {error}") from error
    if not isinstance(document, dict):
        raise ValueError(f"expected a JSON object, got {type(document).__name__}")

    folder = path.parent.name
    build = document.get("build")
    if build not in BUILDS:
        suffix = folder.rsplit("-", 1)[-1]
        if suffix not in BUILDS:
            raise ValueError(f"build {build!r} is neither 'gil' nor 'nogil'")
        build = suffix
    started = _parse_stamp(document.get("started_utc")) or _parse_stamp(folder)
    if started is None:
        raise ValueError("no start time: neither 'started_utc' nor the folder name is a UTC stamp")
    parts = document.get("parts")
    if not isinstance(parts, dict):
        raise ValueError("'parts' is missing or not an object")

    environment = document.get("environment")
    python = ""
    if isinstance(environment, dict):
        python = str(environment.get("python_version", ""))
    return Run(
        path=path,
        build=build,
        started=started,
        quick=bool(document.get("quick", False)),
        finished="finished_utc" in document,
        python=python,
        parts={
            name: str(part.get("status", "?")) if isinstance(part, dict) else "invalid"
            for name, part in parts.items()
        },
        figures=headline_figures(document),
    )


def _is_other_kind(path: Path) -> bool:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(document, dict) and document.get("kind") not in (None, "suite")


def load_runs(results_dir: Path) -> tuple[list[Run], list[str]]:
    """Read every ``results_dir/*/results.json``.

    Returns the runs ordered by start time, and one warning per skipped file.
    """
    runs: list[Run] = []
    warnings: list[str] = []
    for path in sorted(results_dir.glob("*/results.json")):
        if _is_other_kind(path):
            # Peer comparisons and other documents are not suite runs.
            continue
        try:
            runs.append(_read_run(path))
        except ValueError as error:
            warnings.append(f"skipped {path}: {error}")
    runs.sort(key=lambda run: (run.started, run.build, str(run.path)))
    return runs, warnings


# ---------------------------------------------------------------------------
# SVG plots

WIDTH, HEIGHT = 440, 250
LEFT, RIGHT, TOP, BOTTOM = 62, 14, 24, 44
# A y range wider than this ratio is drawn on a log scale.
LOG_RATIO = 30.0


def _format_number(value: float) -> str:
    """Format a number compactly for ticks and tooltips: 1.2k, 3.4M, 0.25."""
    magnitude = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return f"{value / limit:.3g}{suffix}"
    if magnitude == 0:
        return "0"
    return f"{value:.3g}"


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * power:
            return multiple * power
    return 10 * power


@dataclass(frozen=True)
class _Axis:
    """The y axis of one plot: linear from 0, or log10 over whole decades."""

    low: float
    high: float
    log: bool

    @classmethod
    def fit(cls, values: list[float]) -> _Axis:
        positive = [v for v in values if v > 0]
        if positive and min(values) > 0 and max(positive) / min(positive) > LOG_RATIO:
            low = 10 ** math.floor(math.log10(min(positive)))
            high = 10 ** math.ceil(math.log10(max(positive)))
            return cls(low, high if high > low else low * 10, True)
        top = max(values) if values else 1.0
        if top <= 0:
            top = 1.0
        step = _nice_step(top * 1.05)
        return cls(0.0, step * math.ceil(top * 1.05 / step), False)

    def fraction(self, value: float) -> float:
        if self.log:
            return (math.log10(value) - math.log10(self.low)) / (
                math.log10(self.high) - math.log10(self.low))
        return (value - self.low) / (self.high - self.low)

    def ticks(self) -> list[float]:
        if self.log:
            first, last = round(math.log10(self.low)), round(math.log10(self.high))
            stride = max(1, math.ceil((last - first) / 6))
            return [10.0 ** e for e in range(first, last + 1, stride)]
        step = _nice_step(self.high)
        count = int(round(self.high / step))
        return [i * step for i in range(count + 1)]

    def drawable(self, value: float) -> bool:
        """Return whether ``value`` can be drawn: a log axis shows gaps for values <= 0."""
        return value > 0 if self.log else True


def _x_positions(count: int) -> list[float]:
    inner = WIDTH - LEFT - RIGHT
    if count == 1:
        return [LEFT + inner / 2]
    pad = min(18.0, inner / (2 * count))
    return [LEFT + pad + i * (inner - 2 * pad) / (count - 1) for i in range(count)]


def _segments(points: list[tuple[float, float] | None]) -> Iterator[list[tuple[float, float]]]:
    """Split a series at missing points, giving one segment per line to draw."""
    current: list[tuple[float, float]] = []
    for point in points:
        if point is None:
            if current:
                yield current
            current = []
        else:
            current.append(point)
    if current:
        yield current


def render_plot(figure: Figure, runs: list[Run]) -> str:
    """Return the ``<svg class="plot">`` element of one figure over ``runs``."""
    values = [
        run.figures[figure.key][0] for run in runs if figure.key in run.figures
    ]
    parts: list[str] = []
    x_of = _x_positions(len(runs))
    plot_bottom = HEIGHT - BOTTOM
    plot_height = plot_bottom - TOP
    count_points = 0

    if not values:
        parts.append(
            f'<text class="empty" x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" '
            f'y="{TOP + plot_height / 2:.1f}" text-anchor="middle">'
            "not measured in any run</text>"
        )
        axis = _Axis(0.0, 1.0, False)
    else:
        axis_values = values + ([figure.target] if figure.target is not None else [])
        axis = _Axis.fit(axis_values)

    def y_of(value: float) -> float:
        return plot_bottom - axis.fraction(value) * plot_height

    # Grid and y ticks.
    if values:
        for tick in axis.ticks():
            y = y_of(tick)
            parts.append(
                f'<line class="gridline" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                f'y1="{y:.1f}" y2="{y:.1f}"/>'
            )
            parts.append(
                f'<text x="{LEFT - 5}" y="{y + 3.5:.1f}" text-anchor="end">'
                f"{_format_number(tick)}</text>"
            )

    # X ticks: run start times, thinned to about 8 labels.
    stride = max(1, math.ceil(len(runs) / 8))
    for index, run in enumerate(runs):
        x = x_of[index]
        parts.append(
            f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{plot_bottom}" '
            f'y2="{plot_bottom + 3}"/>'
        )
        if index % stride == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{plot_bottom + 13}" text-anchor="middle">'
                f'{run.started.strftime("%m-%d")}'
                f'<tspan x="{x:.1f}" dy="11">{run.started.strftime("%H:%M")}</tspan></text>'
            )

    # Axes and their labels.
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{plot_bottom}"/>'
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{plot_bottom}" '
        f'y2="{plot_bottom}"/>'
    )
    y_label = figure.unit + (", log scale" if axis.log else "")
    parts.append(
        f'<text x="12" y="{TOP + plot_height / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {TOP + plot_height / 2:.1f})">{html.escape(y_label)}</text>'
    )
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{HEIGHT - 4}" '
        'text-anchor="middle">run start (UTC)</text>'
    )

    # Target line.
    if figure.target is not None and values:
        y = y_of(figure.target)
        parts.append(
            f'<line class="target" data-target="{figure.target:g}" x1="{LEFT}" '
            f'x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"><title>{html.escape(figure.target_label)}</title></line>'
        )
        label_y = y - 4 if y - 4 > TOP + 8 else y + 12
        parts.append(
            f'<text class="target-label" x="{WIDTH - RIGHT - 3}" y="{label_y:.1f}" '
            f'text-anchor="end">{html.escape(figure.target_label)}</text>'
        )

    # Series: one line per build, broken where a run lacks the figure.
    for build in BUILDS:
        series: list[tuple[float, float] | None] = []
        markers: list[str] = []
        for index, run in enumerate(runs):
            if run.build != build:
                continue
            entry = run.figures.get(figure.key)
            if entry is None or not axis.drawable(entry[0]):
                series.append(None)
                continue
            value, note = entry
            point = (x_of[index], y_of(value))
            series.append(point)
            tooltip = f"{BUILD_NAMES[build]}, {run.label}: {_format_number(value)} {figure.unit}"
            if run.quick:
                tooltip += " (--quick run)"
            if note:
                tooltip += f"; {note}"
            markers.append(
                f'<circle class="point build-{build}{" quick" if run.quick else ""}" '
                f'cx="{point[0]:.1f}" cy="{point[1]:.1f}" r="3.6">'
                f"<title>{html.escape(tooltip)}</title></circle>"
            )
        for segment in _segments(series):
            if len(segment) > 1:
                coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                parts.append(f'<polyline class="build-{build}" points="{coordinates}"/>')
        parts.extend(markers)
        count_points += len(markers)

    # Legend.
    legend_x = LEFT + 6
    for build in BUILDS:
        parts.append(
            f'<circle class="legend build-{build}" cx="{legend_x}" cy="{TOP - 10}" r="4"/>'
            f'<text x="{legend_x + 7}" y="{TOP - 6.5}">{BUILD_NAMES[build]}</text>'
        )
        legend_x += 88
    if figure.target is not None:
        parts.append(
            f'<line class="target" x1="{legend_x - 4}" x2="{legend_x + 16}" '
            f'y1="{TOP - 10}" y2="{TOP - 10}"/>'
            f'<text x="{legend_x + 20}" y="{TOP - 6.5}">target</text>'
        )

    return (
        f'<svg class="plot" data-figure="{figure.key}" data-points="{count_points}" '
        f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{html.escape(figure.title)}">' + "".join(parts) + "</svg>"
    )


# ---------------------------------------------------------------------------
# The page


def _sections_html(runs: list[Run]) -> str:
    chunks: list[str] = []
    section = None
    for figure in FIGURES:
        if figure.section != section:
            if section is not None:
                chunks.append("</div>")
            section = figure.section
            chunks.append(f'<h2>{html.escape(section)}</h2>\n<div class="grid">')
        caption = html.escape(figure.caption)
        chunks.append(
            f'<figure id="{figure.key}"><h3>{html.escape(figure.title)}</h3>'
            f"{render_plot(figure, runs)}<figcaption>{caption}</figcaption></figure>"
        )
    if section is not None:
        chunks.append("</div>")
    return "\n".join(chunks)


def _runs_table(runs: list[Run], out: Path) -> str:
    if not runs:
        return "<p>No runs found.</p>"
    rows = [
        "<table><tr><th>#</th><th>start (UTC)</th><th>build</th><th>Python</th>"
        "<th>mode</th><th>parts</th><th>report</th></tr>"
    ]
    for number, run in enumerate(runs, 1):
        failed = [name for name, status in run.parts.items() if status != "ok"]
        parts = f"{len(run.parts) - len(failed)} ok"
        if failed:
            parts += ", not ok: " + ", ".join(failed)
        if not run.finished:
            parts += " (unfinished)"
        report = run.path.parent / "report.md"
        link = ""
        if report.is_file():
            relative = Path(os.path.relpath(report, out.parent)).as_posix()
            link = f'<a href="{html.escape(relative)}">report.md</a>'
        rows.append(
            f"<tr><td>{number}</td><td>{html.escape(run.label)}</td>"
            f"<td>{BUILD_NAMES[run.build]}</td><td>{html.escape(run.python)}</td>"
            f"<td>{'--quick' if run.quick else 'full'}</td><td>{html.escape(parts)}</td>"
            f"<td>{link}</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def _warnings_html(warnings: list[str]) -> str:
    if not warnings:
        return ""
    items = "".join(f"<li>{html.escape(text)}</li>" for text in warnings)
    return f'<h2>Skipped files</h2><ul class="warnings">{items}</ul>'


def render_page(runs: list[Run], warnings: list[str], out: Path) -> str:
    """Return the dashboard's HTML text."""
    counts = {build: sum(1 for run in runs if run.build == build) for build in BUILDS}
    if runs:
        summary = (
            f"{len(runs)} run(s) from {runs[0].label} to {runs[-1].label}: "
            f"{counts['gil']} GIL, {counts['nogil']} free-threaded. "
            f"Built {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}."
        )
    else:
        summary = "No results.json found yet: run nox -s perf-gil perf-nogil first."
    template = Template(TEMPLATE.read_text(encoding="utf-8"))
    return template.substitute(
        summary=html.escape(summary),
        sections=_sections_html(runs),
        runs_table=_runs_table(runs, out),
        warnings=_warnings_html(warnings),
        gil_colour=COLOURS["gil"],
        nogil_colour=COLOURS["nogil"],
    )


def build_dashboard(
    results_dir: Path = RESULTS_DIR,
    out: Path | None = None,
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Write the dashboard of every run under ``results_dir`` and return its path.

    Each skipped file is passed to ``warn`` (default: a line on stderr).
    """
    out = out if out is not None else results_dir / "dashboard.html"
    runs, warnings = load_runs(results_dir)
    report = warn or (lambda text: print(f"warning: {text}", file=sys.stderr))
    for text in warnings:
        report(text)
    page = render_page(runs, warnings, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(out.name + ".tmp")
    temporary.write_text(page, encoding="utf-8")
    temporary.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m perf.dashboard",
        description="Build a static HTML dashboard of every performance-suite run.",
    )
    parser.add_argument("--results", type=Path, default=RESULTS_DIR,
                        help="folder holding one subfolder per run with results.json "
                             "(default: perf/results)")
    parser.add_argument("--out", type=Path, default=None,
                        help="HTML file to write (default: <results>/dashboard.html)")
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        parser.error(f"--results {args.results} is not a folder")
    print(build_dashboard(args.results, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
