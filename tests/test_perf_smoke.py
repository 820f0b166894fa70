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

from perf import charts, report, scalability, workloads  # noqa: E402
from perf.__main__ import PARTS, main  # noqa: E402
from perf.isolate import run_isolated  # noqa: E402
from perf.suite import RunContext  # noqa: E402
from statechartx import Interpreter, Machine  # noqa: E402


def test_parts_registered() -> None:
    assert list(PARTS) == ["benchmarks", "stress", "breaking", "scalability", "profiles"]


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


def _running_without_gil() -> bool:
    from perf import system

    return system.build_label() == "nogil"
