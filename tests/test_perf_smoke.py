"""Smoke test of the performance suite: its pieces import and tiny runs work.

The suite itself measures; these tests only check that it can run (and
never assert a timing). The perf package lives at the repository root, next
to this folder, and is not installed with statechartx.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from perf import charts, dashboard, peers, regions_scale, report, scalability, stress, timeline, workloads  # noqa: E402
from perf.__main__ import PARTS, main  # noqa: E402
from perf.isolate import run_isolated  # noqa: E402
from perf.suite import RunContext  # noqa: E402
from statechartx import Interpreter, Machine  # noqa: E402


def test_parts_registered() -> None:
    assert list(PARTS) == ["benchmarks", "stress", "breaking", "scalability", "profiles", "timeline"]


@pytest.mark.timeout(30)
def test_charts_compile_and_run() -> None:
    assert Machine(charts.standard_chart()).size == charts.STANDARD_CHART_STATES
    interpreter = Interpreter(Machine(charts.complex_chart()))
    interpreter.start()
    errors = []
    interpreter.add_listener(
        lambda step: errors.append(step.event) if step.event and step.event.name.startswith("error") else None
    )
    for name in charts.COMPLEX_CYCLE:
        interpreter.send(name)
    assert errors == []
    # Every "job" runs exactly one counting action, guarded either way.
    assert interpreter.data["count"] == charts.COMPLEX_CYCLE.count("job")


@pytest.mark.timeout(30)
def test_deep_chart_crosses_chains() -> None:
    interpreter = Interpreter(Machine(charts.deep_chart(50)))
    interpreter.start()
    interpreter.send("cross")
    assert interpreter.is_in(charts.deep_leaf("b", 50))
    assert not interpreter.is_in("a1")


@pytest.mark.timeout(30)
def test_ping_pong_workload_loses_nothing() -> None:
    result = workloads.ping_pong_events(events=500)
    assert result["processed"] == 500
    assert result["lost"] == 0


@pytest.mark.timeout(60)
def test_isolated_run_returns_result() -> None:
    outcome = run_isolated("perf.workloads:broadcast", {"regions": 5}, timeout=50, memory_mb=1024)
    assert outcome.status == "ok", outcome.error
    assert outcome.result is not None
    assert outcome.result["size"] == 5


@pytest.mark.timeout(60)
def test_isolated_run_reports_exception() -> None:
    outcome = run_isolated("perf.charts:flat_chart", {"states": 1}, timeout=50, memory_mb=1024)
    assert outcome.status == "error"
    assert "ValueError" in (outcome.error or "")


def test_classify_slopes() -> None:
    assert scalability.classify(0.02) == "O(1)"
    assert scalability.classify(1.0) == "O(n)"
    assert scalability.classify(2.1) == "O(n^2.1)"
    assert scalability.fit_slope([10, 100, 1000], [1.0, 10.0, 100.0]) == pytest.approx(1.0)


@pytest.mark.timeout(120)
def test_suite_scalability_part_writes_report(tmp_path: Path) -> None:
    # The cheapest part, end to end through the command line: results.json,
    # report.md and the exit status.
    build = "nogil" if _running_without_gil() else "gil"
    status = main(["--build", build, "--quick", "--out", str(tmp_path), "--only", "scalability"])
    assert status == 0
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert results["parts"]["scalability"]["status"] == "ok"
    assert "event_count" in results["parts"]["scalability"]["data"]
    assert results["environment"]["cpu_count"] >= 1
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## Targets" in text
    assert "## Scalability" in text


def test_report_marks_missing_measures(tmp_path: Path) -> None:
    run = {"build": "gil", "parts": {}, "environment": {}}
    rows = report.evaluate_targets(run)
    assert [row["value"] for row in rows] == ["not run"] * len(report.TARGETS)


def test_context_picks_quick_value(tmp_path: Path) -> None:
    ctx = RunContext(build="gil", quick=True, out_dir=tmp_path)
    assert ctx.pick(1_000_000, 100_000) == 100_000


@pytest.mark.timeout(90)
def test_timeline_records_valid_trace(tmp_path: Path) -> None:
    pytest.importorskip("viztracer")
    trace = tmp_path / "timeline.json"
    outcome = run_isolated("perf.timeline:record", {"output": str(trace)}, timeout=80, memory_mb=2048)
    assert outcome.status == "ok", outcome.error
    result = outcome.result or {}
    assert result["check"]["problems"] == []
    assert result["check"]["ok"] is True
    assert set(timeline.EXPECTED_TRACKS) <= set(result["check"]["actor_tracks"])
    threads = {row["thread"] for row in result["summary"]}
    assert set(timeline.EXPECTED_TRACKS) <= threads
    assert trace.is_file()


def test_timeline_check_names_missing_tracks(tmp_path: Path) -> None:
    trace = tmp_path / "trace.json"
    trace.write_text(json.dumps({"traceEvents": [
        {"ph": "M", "pid": 1, "tid": 7, "name": "thread_name", "args": {"name": "runtime:a"}},
        {"ph": "M", "pid": 1, "tid": 8, "name": "thread_name", "args": {"name": "runtime:a"}},
        {"ph": "X", "pid": 1, "tid": 7, "name": "macrostep go", "cat": "statechartx", "ts": 0, "dur": 1},
        {"pid": 1, "tid": 7, "name": "no phase"},
    ]}), encoding="utf-8")
    result = timeline.check_trace(trace, ["runtime:a", "runtime:b"], ("wait:park",))
    assert result["ok"] is False
    assert "2 tracks named 'runtime:a'; expected one" in result["problems"]
    assert "no track named 'runtime:b'" in result["problems"]
    assert "no 'wait:park' span" in result["problems"]
    assert "1 event(s) without a phase 'ph'" in result["problems"]


def test_timeline_check_rejects_non_json(tmp_path: Path) -> None:
    trace = tmp_path / "trace.json"
    trace.write_text("{not json", encoding="utf-8")
    result = timeline.check_trace(trace)
    assert result["ok"] is False
    assert result["problems"][0].startswith("not readable as JSON")


@pytest.mark.timeout(60)
def test_stress_wrappers_feed_dashboard() -> None:
    events = stress.runtime_events_with_metrics(events=1_000)
    assert events["lost"] == 0
    assert events["metrics"]["statechartx_events_processed_total"] == 1_000
    machines = stress.machines_with_peak_threads(machines=20, events=5)
    assert machines["lost"] == 0
    # The main thread plus at least one pool worker.
    assert machines["peak_threads"] >= 2
    run = {"parts": {"stress": {"status": "ok", "data": {
        "million_events": {"status": "ok", "runtime": {"status": "ok", **events}},
        "machines_10000": {"status": "ok", **machines},
    }}}}
    figures = dashboard.headline_figures(run)
    assert figures["thread_count"][0] == machines["peak_threads"]
    assert "latency_p50_us" in figures
    assert "gc_pause_ms" in figures


@pytest.mark.timeout(60)
@pytest.mark.parametrize("library", peers.LIBRARIES, ids=lambda cls: cls.name)
@pytest.mark.parametrize("workload", list(peers.WORKLOADS))
def test_peer_workload_runs_and_verifies(library: type, workload: str) -> None:
    if peers._version(library.distribution) is None:
        pytest.skip(f"{library.distribution} is not installed")
    case = getattr(library(), workload)()
    result = peers.time_case(case, samples=2, sample_s=0.001)
    assert result["status"] == "ok"
    assert result["median"] > 0
    # time_case verified the configuration; an odd count must fail the check
    # of a toggling workload, which shows that verify can fail.
    if workload != "construction":
        with pytest.raises(AssertionError):
            case.verify(result["operations"] + 1)


def test_peers_report_shows_ratio_and_reasons() -> None:
    document = {
        "quick": True,
        "workloads": {"ping_pong": "two states"},
        "timing": {"samples": 5, "min_sample_s": 0.02},
        "environment": {"python_version": "3.13.0", "gil_enabled": True, "cpu_count": 2},
        "libraries": {
            "statechartx": {"version": "0.1.0", "workloads": {"ping_pong": {"status": "ok", "median": 1e-6}}},
            "sismic": {"version": "1.6", "workloads": {"ping_pong": {"status": "ok", "median": 5e-5, "ratio": 0.02}}},
            "other": {"version": None, "workloads": {"ping_pong": {"status": "not supported", "reason": "not installed"}}},
        },
    }
    text = peers.render(document)
    assert "| ping_pong | two states | 1.00 us | 50.00 us (0.02) | not supported: not installed |" in text


@pytest.mark.timeout(60)
def test_regions_scale_measures_small_chart() -> None:
    result = regions_scale.scale(regions=5, broadcasts=3)
    assert result["threads_added"] >= 5
    assert result["threads_left_after_stop"] == 0
    pooled = regions_scale.scale(regions=20, broadcasts=2, pool_workers=2)
    assert pooled["threads_added"] <= 3
    for keep in (True, False):
        cycles = regions_scale.keep_cycles(regions=5, cycles=2, keep=keep)
        assert cycles["keep"] is keep
    busy = regions_scale.busy(regions=2, work=100, events=2, concurrent=True)
    assert busy["pairs"] == 2


def _running_without_gil() -> bool:
    from perf import system

    return system.build_label() == "nogil"
