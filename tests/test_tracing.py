"""The viztracer timeline: structure of the trace file and the summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from statechartx import Machine, Parallel, State, Transition
from statechartx.runtime import Runtime
from statechartx.tracing import Tracing, active_tracer, summarize

pytest.importorskip("viztracer", reason="tracing needs viztracer (pip install viztracer)")


def regions_machine() -> Machine:
    regions = [
        State(
            f"r{i}",
            children=[
                State(f"r{i}a", transitions=[Transition("go", f"r{i}b")]),
                State(f"r{i}b", on_entry=lambda ctx: sum(range(5_000)), transitions=[Transition("go", f"r{i}a")]),
            ],
        )
        for i in range(3)
    ]
    return Machine(State("top", children=[Parallel("p", children=regions, concurrent=True)]))


def load_events(path: Path) -> list[dict]:
    trace = json.loads(path.read_text(encoding="utf-8"))
    return trace["traceEvents"] if isinstance(trace, dict) else trace


@pytest.mark.timeout(60)
def test_trace_structure(tmp_path: Path) -> None:
    output = tmp_path / "trace.json"
    with Tracing(str(output)):
        with Runtime(regions_machine(), name="traced") as rt:
            for _ in range(5):
                rt.send("go")
            assert rt.wait_idle(10)
    assert active_tracer() is None

    events = load_events(output)
    names = {
        e["tid"]: e["args"]["name"]
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name"
    }
    spans = [e for e in events if e.get("ph") == "X" and e.get("cat") == "statechartx"]
    tracks = {names.get(e["tid"]) for e in spans}

    # One named track per actor thread: the runtime and each region.
    assert "runtime:traced" in tracks
    for i in range(3):
        assert f"region:traced/r{i}" in tracks
    # A span per macrostep of the runtime (start is not one: it runs before
    # the first message).
    macrosteps = [e for e in spans if e["name"] == "macrostep go"]
    assert len(macrosteps) == 5
    assert all(names[e["tid"]] == "runtime:traced" for e in macrosteps)
    # Wait spans that show where threads wait.
    waits = {e["name"] for e in spans if e["name"].startswith("wait:")}
    assert "wait:barrier" in waits
    assert "wait:park" in waits
    # Every span has a start and a non-negative duration.
    assert all(e["dur"] >= 0 and "ts" in e for e in spans)


@pytest.mark.timeout(60)
def test_trace_summary_rows(tmp_path: Path) -> None:
    output = tmp_path / "trace.json"
    with Tracing(str(output)):
        with Runtime(regions_machine(), name="summed") as rt:
            for _ in range(4):
                rt.send("go")
            assert rt.wait_idle(10)
    rows = {row["thread"]: row for row in summarize(str(output))}
    runtime_row = rows["runtime:summed"]
    assert runtime_row["wait_ms"] > 0
    assert runtime_row["busy_ms"] >= 0
    region_row = rows["region:summed/r0"]
    assert region_row["busy_ms"] > 0
    assert all(len(row["longest_waits"]) <= 3 for row in rows.values())


@pytest.mark.timeout(30)
def test_untraced_runtime_reports_nothing(tmp_path: Path) -> None:
    # A runtime started before tracing began keeps its untraced receive.
    output = tmp_path / "trace.json"
    with Runtime(regions_machine(), name="early") as rt:
        with Tracing(str(output)):
            rt.send("go")
            assert rt.wait_idle(10)
    events = load_events(output)
    assert not [e for e in events if e.get("ph") == "X" and e.get("name", "").startswith("macrostep")]


@pytest.mark.timeout(30)
def test_nested_tracing_rejected(tmp_path: Path) -> None:
    with Tracing(str(tmp_path / "outer.json")):
        with pytest.raises(RuntimeError, match="already active"):
            with Tracing(str(tmp_path / "inner.json")):
                pass


@pytest.mark.timeout(120)
def test_trace_command(tmp_path: Path) -> None:
    output = tmp_path / "cli.json"
    result = subprocess.run(
        [sys.executable, "-m", "statechartx", "trace", "regions", "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert result.returncode == 0, result.stderr
    assert "runtime:regions" in result.stdout
    assert output.exists()
    summary = subprocess.run(
        [sys.executable, "-m", "statechartx", "trace-summary", str(output)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert summary.returncode == 0, summary.stderr
    assert "region:regions/r0" in summary.stdout


@pytest.mark.timeout(30)
def test_trace_summary_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "statechartx", "trace-summary", str(bad)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 1
    assert "cannot read trace" in result.stderr
