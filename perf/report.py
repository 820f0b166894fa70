"""report.md from one or more results.json files.

``write_report(folder, other)`` writes ``folder/report.md`` (and its plots)
for one run, with a GIL vs free-threaded column when ``other`` is a results
folder of the other build. ``write_combined(folders, out)`` writes one
report over several runs. Everything is computed from results.json, so a
report can be rebuilt at any time with ``python -m perf report``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["write_report", "write_combined", "evaluate_targets", "load"]


def load(folder: Path) -> dict[str, Any]:
    """Load the results.json of a results folder and add the folder's path."""
    run = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    run["folder"] = str(folder)
    return run


def _part(run: dict[str, Any], name: str) -> dict[str, Any]:
    part = run.get("parts", {}).get(name, {})
    return (part.get("data") or {}) if part.get("status") == "ok" else {}


# ---------------------------------------------------------------------------
# Targets


@dataclass(frozen=True)
class Target:
    """One row of the targets table and how to read its value from a run."""

    measure: str
    target: str
    go_figure: str
    # Returns (value as text, passed) or None when not measured.
    read: Callable[[dict[str, Any]], tuple[str, bool | None] | None]


def _bench(name: str, limit_s: float) -> Callable[[dict[str, Any]], tuple[str, bool | None] | None]:
    def read(run: dict[str, Any]) -> tuple[str, bool | None] | None:
        data = _part(run, "benchmarks").get(name)
        if not data:
            return None
        if data.get("status") == "skipped":
            return ("skipped: runtime not available", None)
        if data.get("status") != "ok":
            return (f"failed: {data.get('error')}", False)
        return (_duration(data["median"]), data["median"] < limit_s)

    return read


def _stress(name: str, render: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], tuple[str, bool | None] | None]:
    def read(run: dict[str, Any]) -> tuple[str, bool | None] | None:
        data = _part(run, "stress").get(name)
        if not data:
            return None
        if data.get("status") == "skipped":
            return ("skipped: runtime not available", None)
        if data.get("status") != "ok":
            return (f"failed: {data.get('error')}", False)
        text = render(data)
        if data.get("reduced_size"):
            text += f" (quick: n={data['size']:,})"
        return (text, data["verdict"] == "pass")

    return read


def _events_text(data: dict[str, Any]) -> str:
    interpreter = data["interpreter"]
    text = f"{interpreter['events_per_s']:,.0f} /s, {interpreter['lost']} lost (Interpreter)"
    runtime = data.get("runtime", {})
    if runtime.get("status") == "ok":
        text += f"; {runtime['events_per_s']:,.0f} /s, {runtime['lost']} lost (Runtime)"
        metrics = runtime.get("metrics") or {}
        if "statechartx_event_latency_seconds_p50" in metrics:
            text += (
                f", latency p50 {_duration(metrics['statechartx_event_latency_seconds_p50'])}"
                f" p99 {_duration(metrics['statechartx_event_latency_seconds_p99'])}"
            )
    elif runtime.get("status") == "skipped":
        text += "; Runtime: skipped"
    elif runtime:
        text += f"; Runtime failed: {runtime.get('error')}"
    return text


TARGETS = (
    Target("state transition", "< 1 us", "518 ns", _bench("transition", 1e-6)),
    Target("event send", "< 500 ns", "217 ns", _bench("event_send", 500e-9)),
    Target("LCA computation", "< 100 ns", "38 ns", _bench("lca", 100e-9)),
    Target("machine creation (small chart)", "< 10 us", "", _bench("machine_creation", 10e-6)),
    Target("10 region spawn", "< 1 ms", "", _bench("region_spawn", 1e-3)),
    Target("1M events throughput", "> 10,000 /s", "1.44 M/s", _stress("million_events", _events_text)),
    Target("1M states: creation, memory", "< 10 s, < 1 GB", "264 ms, 149 MB", _stress(
        "million_states", lambda d: f"{d['build_s']:.2f} s, {d['peak_rss_mb']:,.0f} MiB peak RSS")),
    Target("1,000 regions: start, stop", "< 5 s each", "3.8 ms start", _stress(
        "regions_1000", lambda d: f"{_duration(d['start_s'])} start, {_duration(d['stop_s'])} stop")),
    Target("1,000-deep: transition", "< 1 s", "", _stress(
        "depth_1000", lambda d: f"{_duration(d['cross_max_s'])} (max of 5)")),
    Target("10,000 machines x 100 events", "< 60 s", "", _stress(
        "machines_10000", lambda d: f"{d['seconds']:.1f} s")),
)


def evaluate_targets(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Evaluate each target against this run: value and verdict (None: not measured)."""
    rows = []
    for target in TARGETS:
        measured = target.read(run)
        rows.append({
            "measure": target.measure,
            "target": target.target,
            "go_figure": target.go_figure,
            "value": measured[0] if measured else "not run",
            "passed": measured[1] if measured else None,
        })
    return rows


# ---------------------------------------------------------------------------
# Formatting


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-6:
        return f"{seconds * 1e9:,.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:,.2f} us"
    if seconds < 1:
        return f"{seconds * 1e3:,.2f} ms"
    return f"{seconds:,.2f} s"


def _verdict(passed: bool | None) -> str:
    return {True: "pass", False: "**FAIL**", None: "-"}[passed]


def _run_title(run: dict[str, Any]) -> str:
    env = run.get("environment", {})
    gil = "GIL enabled" if env.get("gil_enabled") else "GIL disabled"
    return (
        f"{run['build']}: CPython {env.get('python_version')} "
        f"({'free-threaded' if env.get('freethreaded_build') else 'GIL'} build, {gil})"
    )


def _environment(run: dict[str, Any]) -> list[str]:
    env = run.get("environment", {})
    return [
        f"- **{_run_title(run)}**, `{env.get('executable')}`, PYTHON_GIL={env.get('python_gil_env') or 'unset'}",
        f"  - machine: {env.get('cpu_model')}, {env.get('cpu_count')} CPUs, "
        f"{(env.get('memory_total_mb') or 0) / 1024:.0f} GiB, {env.get('platform')}, "
        f"load average {env.get('load_avg_1min') or 0:.2f} at start",
        f"  - command: `{run.get('command')}`{' (quick mode: reduced sizes)' if run.get('quick') else ''}; "
        f"started {run.get('started_utc')}, {run.get('elapsed_s', 0):.0f} s in all; folder `{Path(run['folder']).name}`",
    ]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines + [""]


# ---------------------------------------------------------------------------
# Sections


def _targets_section(runs: list[dict[str, Any]]) -> list[str]:
    evaluated = [evaluate_targets(run) for run in runs]
    header = ["measure", "target", "original Go"]
    for run in runs:
        header += [f"{run['build']} value", f"{run['build']}"]
    rows = []
    for i, target in enumerate(TARGETS):
        row = [target.measure, target.target, target.go_figure or "-"]
        for result in evaluated:
            row += [result[i]["value"], _verdict(result[i]["passed"])]
        rows.append(row)
    intro = [
        "## Targets",
        "",
        "The project's performance targets, with the figure of the "
        "original Go statechartx where one was published. A FAIL marks a "
        "target not met on this machine; the run itself still succeeded. "
        "Figures taken under load are upper bounds (see the load average "
        "above), and the two builds may differ in patch release as well as "
        "in the GIL (see the interpreter lines above).",
        "",
    ]
    return intro + _table(header, rows)


def _benchmarks_section(runs: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for run in runs:
        names += [name for name in _part(run, "benchmarks") if name not in names]
    if not names:
        return []
    header = ["benchmark", "what"] + [f"{run['build']} median (+- std dev)" for run in runs]
    if len(runs) == 2:
        header.append(f"{runs[1]['build']} / {runs[0]['build']}")
    rows = []
    for name in names:
        description = ""
        cells = []
        medians = []
        for run in runs:
            data = _part(run, "benchmarks").get(name, {})
            description = description or data.get("description", "")
            if name == "flat_build" and data.get("status") == "ok":
                traced = data.get("traced_peak_mb")
                cells.append(
                    f"{data['states']:,} states: {data['build_s']:.2f} s build+compile "
                    f"({data['compile_s']:.2f} s compile), {data['peak_rss_mb']:,.0f} MiB peak RSS"
                    + (f", {traced:,.0f} MiB traced peak" if traced else "")
                )
                medians.append(data["build_s"])
                description = "chart construction + Machine() of a flat chart, in a child process"
            elif data.get("status") == "ok":
                cells.append(f"{_duration(data['median'])} (+- {_duration(data['stdev'])})")
                medians.append(data["median"])
            else:
                cells.append(data.get("reason") or data.get("error") or "not run")
                medians.append(None)
        row = [name, description] + cells
        if len(runs) == 2:
            row.append(f"{medians[1] / medians[0]:.2f}x" if all(medians) else "-")
        rows.append(row)
    raw = ", ".join(f"`{Path(run['folder']).name}/raw/`" for run in runs)
    return ["## Benchmarks (pyperf)", "", f"Raw pyperf JSON: {raw} (compare with `python -m pyperf compare_to`).", ""] + _table(header, rows)


def _stress_section(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["## Stress tests", ""]
    header = ["test", "criteria"] + [f"{run['build']}" for run in runs]
    names: list[str] = []
    for run in runs:
        names += [name for name in _part(run, "stress") if name not in names]
    rows = []
    for name in names:
        criteria = ""
        cells = []
        for run in runs:
            data = _part(run, "stress").get(name, {})
            criteria = criteria or data.get("criteria", "")
            cells.append(_stress_cell(name, data))
        rows.append([name, criteria] + cells)
    return lines + _table(header, rows) if rows else []


def _stress_cell(name: str, data: dict[str, Any]) -> str:
    status = data.get("status")
    if status == "skipped":
        return "skipped (runtime not available)"
    if status != "ok":
        return f"**FAIL**: {data.get('error', 'not run')}"
    size = f"n={data['size']:,}{' (reduced)' if data.get('reduced_size') else ''}"
    if name == "million_states":
        figures = f"{data['build_s']:.2f} s, {data['peak_rss_mb']:,.0f} MiB"
    elif name == "million_events":
        figures = _events_text(data)
    elif name == "regions_1000":
        figures = f"start {_duration(data['start_s'])}, stop {_duration(data['stop_s'])}, broadcast {_duration(data['seconds'])}"
    elif name == "depth_1000":
        figures = f"cross {_duration(data['cross_s'])} (max {_duration(data['cross_max_s'])}), swap {_duration(data['swap_s'])}"
    elif name == "machines_10000":
        figures = f"{data['seconds']:.1f} s, {data.get('events_per_s') or 0:,.0f} events/s, {data['lost']} lost"
        if data.get("peak_threads") is not None:
            figures += f", peak {data['peak_threads']} threads"
    else:
        figures = ""
    verdict = "pass" if data["verdict"] == "pass" else "**FAIL**"
    return f"{verdict}: {figures}; {size}"


def _breaking_section(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["## Breaking points", "",
             "Each dimension grows geometrically, one child process per step, until a failure mode or a limit; "
             "the search is bounded by a max size and a total time.", ""]
    header = ["build", "dimension", "last good", "failing", "failure mode / end", "search time"]
    rows = []
    for run in runs:
        for name, data in _part(run, "breaking").items():
            if data.get("status") == "skipped":
                rows.append([run["build"], name, "-", "-", data.get("reason", "skipped"), "-"])
                continue
            last_good = f"{data['last_good']:,}" if data.get("last_good") else "none"
            failing = f"{data['failing']:,}" if data.get("failing") else "-"
            rows.append([run["build"], f"{name}: {data['description']}", last_good, failing,
                         data["failure_mode"], f"{data['elapsed_s']:.0f} s"])
    return lines + _table(header, rows) if rows else []


def _scalability_section(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["## Scalability", "",
             "Slope of log(cost) vs log(size) by least squares: about 0 is O(1), 1 is O(n). "
             "O(1) and O(log n) differ by a slope of only about 0.1-0.3 over these ranges.", ""]
    header = ["build", "curve", "sizes", "expected", "slope", "class", "cost ratio", "as expected"]
    rows = []
    for run in runs:
        for name, data in _part(run, "scalability").items():
            if data.get("status") != "ok":
                rows.append([run["build"], name, "-", data.get("expected", ""), "-", "failed", "-", "**no**"])
                continue
            sizes = [point["size"] for point in data["points"]]
            rows.append([
                run["build"], f"{name}: {data['description']}", f"{sizes[0]:,}..{sizes[-1]:,}",
                data["expected"], f"{data['slope']:.2f}", data["class"],
                f"{data['ratio']:,.1f}x for {data['size_ratio']:,.0f}x size",
                "yes" if data["as_expected"] else "**no**",
            ])
    return lines + _table(header, rows) if rows else []


def _profiles_section(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["## Profiles", ""]
    for run in runs:
        profiles = _part(run, "profiles")
        if not profiles:
            continue
        for scenario in ("cpu_ping_pong", "cpu_complex"):
            data = profiles.get(scenario, {})
            if data.get("status") != "ok":
                lines += [f"{run['build']} {scenario}: {data.get('error', 'not run')}", ""]
                continue
            lines += [
                f"### {run['build']}: CPU, {data['scenario']} ({data['events']:,} events, "
                f"{data['profiled_us_per_event']:.2f} us/event under cProfile)", "",
            ]
            rows = [
                [row["function"], f"{row['calls_per_event']:.2f}", f"{row['tottime_share'] * 100:.1f}%",
                 f"{row['tottime_s']:.3f}", f"{row['cumtime_s']:.3f}"]
                for row in data["top"]
            ]
            lines += _table(["function", "calls/event", "own time share", "tottime s", "cumtime s"], rows)
        alloc = profiles.get("allocations", {})
        if alloc.get("status") == "ok":
            lines += [
                f"### {run['build']}: allocations on the hot path (ping-pong)", "",
                f"- transient traced memory of one event: {alloc['one_event_transient_bytes']:,} bytes",
                f"- net growth after {alloc['events']:,} events: {alloc['net_growth_bytes_per_event']:.3f} bytes/event",
                f"- blocks held in the middle of one event (allocated since `send`): {alloc['in_flight_blocks']}",
                "",
            ]
            if alloc["in_flight_top"]:
                lines += _table(["site", "code", "bytes", "blocks"],
                                [[r["site"], f"`{r.get('code', '')}`", str(r["size_diff"]), str(r["count_diff"])]
                                 for r in alloc["in_flight_top"]])
        leaks = profiles.get("leaks", {})
        if leaks.get("status") == "ok":
            verdict = "**leak**: " + ", ".join(leaks["leaking_types"]) if leaks["leak"] else "no leak"
            lines += [
                f"### {run['build']}: heap growth after {leaks['cycles']:,} create/start/send/stop cycles", "",
                f"- {verdict}; RSS {leaks['rss_before_mb']:.1f} -> {leaks['rss_after_mb']:.1f} MiB",
                f"- objgraph growth (top): {_growth_text(leaks['growth'][:8])}",
                "",
            ]
    return lines if len(lines) > 2 else []


def _timeline_section(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["## Timeline", ""]
    for run in runs:
        part = run.get("parts", {}).get("timeline")
        if part is None:
            continue
        data = _part(run, "timeline")
        if data.get("status") != "ok":
            lines += [f"{run['build']}: {data.get('reason') or data.get('error') or part.get('error')}", ""]
            continue
        check = data["check"]
        verdict = "ok" if check["ok"] else "**FAIL**: " + "; ".join(check["problems"])
        waits = ", ".join(f"{name} x{count}" for name, count in sorted(check["wait_spans"].items()))
        lines += [
            f"### {run['build']}: scenario `{data['scenario']}`, {data['traced_s'] * 1e3:,.0f} ms traced", "",
            f"- trace: `{Path(run['folder']).name}/{data['file']}` ({data['bytes'] / 1e6:.1f} MB; "
            "open in ui.perfetto.dev or with `vizviewer`)",
            f"- structure: {verdict}; {check['events']:,} events, {check['macrosteps']:,} macrostep spans, "
            f"{len(check['actor_tracks'])} actor tracks; wait spans: {waits or 'none'}",
            "",
        ]
        rows = [
            [row["thread"], f"{row['busy_ms']:,.1f}", f"{row['wait_ms']:,.1f}",
             ", ".join(f"{wait['name']} {wait['ms']:,.1f}" for wait in row["longest_waits"]) or "-"]
            for row in data["summary"]
        ]
        lines += _table(["thread", "busy ms", "wait ms", "longest waits (ms)"], rows)
    return lines if len(lines) > 2 else []


def _growth_text(growth: list[dict[str, Any]]) -> str:
    return ", ".join(f"{row['type']} +{row['delta']}" for row in growth) or "none"


def _failures_section(runs: list[dict[str, Any]]) -> list[str]:
    lines = []
    for run in runs:
        for name, part in run.get("parts", {}).items():
            if part.get("status") != "ok":
                lines.append(f"- {run['build']} part `{name}` failed: {part.get('error')}")
    return (["## Failed parts", ""] + lines + [""]) if lines else []


def _plots_section(runs: list[dict[str, Any]], out_dir: Path) -> list[str]:
    from .plots import make_plots  # noqa: PLC0415

    try:
        names = make_plots(runs, out_dir)
    except ImportError as exc:
        return ["## Plots", "",
                f"matplotlib could not be imported here ({exc}); draw the plots with "
                f"`python -m perf report {out_dir}` from an interpreter that has it.", ""]
    return ["## Plots", ""] + [f"![{name}]({name})" for name in names] + [""]


def _render(runs: list[dict[str, Any]], out_dir: Path, title: str) -> str:
    lines = [f"# {title}", ""]
    for run in runs:
        lines += _environment(run)
    lines.append("")
    for section in (
        _targets_section(runs), _benchmarks_section(runs), _stress_section(runs),
        _breaking_section(runs), _scalability_section(runs), _profiles_section(runs),
        _timeline_section(runs), _failures_section(runs), _plots_section(runs, out_dir),
    ):
        lines += section
    return "\n".join(lines).rstrip() + "\n"


def _ordered(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # GIL first, so the ratio column reads free-threaded / GIL.
    return sorted(runs, key=lambda run: run.get("build") != "gil")


def write_report(folder: Path, other: Path | None) -> Path:
    """Write ``folder/report.md``; with ``other``, side by side with that run."""
    run = load(folder)
    runs = [run] + ([load(other)] if other is not None else [])
    run["targets"] = evaluate_targets(run)
    title = f"statechartx performance report: {run['build']}"
    if other is not None:
        title += f" (with the latest {runs[1]['build']} run side by side)"
    path = folder / "report.md"
    path.write_text(_render(_ordered(runs), folder, title), encoding="utf-8")
    return path


def write_combined(folders: list[Path], out_dir: Path) -> Path:
    """Write one report over several results folders into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = _ordered([load(folder) for folder in folders])
    path = out_dir / "report.md"
    path.write_text(_render(runs, out_dir, "statechartx performance report: combined"), encoding="utf-8")
    return path
