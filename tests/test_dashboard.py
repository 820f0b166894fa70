"""The performance dashboard: the results.json adapter, the SVG plots, and
the page rendered in a headless Chromium."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

# perf/ is not an installed package: import it from the repository root.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from perf import dashboard  # noqa: E402
from perf.dashboard import FIGURES, build_dashboard, headline_figures, load_runs  # noqa: E402

CHROMIUM_TIMEOUT = 90


def results_document(
    build: str,
    stamp: str,
    *,
    transition_s: float | None = 4.5e-7,
    events_per_s: float = 250_000.0,
    latency_p99_s: float | None = 2e-4,
    quick: bool = True,
) -> dict[str, Any]:
    """A results.json in the suite's format (schema 1) with a Runtime.metrics snapshot."""
    benchmarks: dict[str, Any] = {
        "event_send": {"status": "ok", "unit": "s", "median": 1.8e-6},
        "lca": {"status": "ok", "unit": "s", "median": 4.0e-6},
        "machine_creation": {"status": "ok", "unit": "s", "median": 9.0e-5},
        "region_spawn": {"status": "ok", "unit": "s", "median": 3.5e-5},
    }
    if transition_s is not None:
        benchmarks["transition"] = {"status": "ok", "unit": "s", "median": transition_s}
    metrics: dict[str, Any] = {
        "statechartx_event_latency_seconds_p50": 5e-5,
        "statechartx_event_latency_seconds_p95": 1e-4,
        "statechartx_event_latency_seconds_max": 3e-3,
        "statechartx_gc_pause_seconds_total": 0.012,
    }
    if latency_p99_s is not None:
        metrics["statechartx_event_latency_seconds_p99"] = latency_p99_s
    stress = {
        "million_events": {
            "status": "ok",
            "size": 100_000,
            "interpreter": {"events_per_s": events_per_s * 1.5},
            "runtime": {"status": "ok", "events_per_s": events_per_s, "metrics": metrics},
        },
        "million_states": {"status": "ok", "states": 100_000, "build_s": 1.3, "peak_rss_mb": 117.0},
        "regions_1000": {"status": "ok", "start_s": 0.0025, "stop_s": 0.0004},
        "depth_1000": {"status": "ok", "cross_max_s": 0.0009},
        "machines_10000": {"status": "ok", "machines": 1000, "seconds": 0.9, "peak_threads": 4},
    }
    breaking = {
        name: {"status": "ok", "last_good": size, "broke": size < 100_000, "failure_mode": "time limit"}
        for name, size in (
            ("states", 160_000), ("event_rate", 640_000), ("regions", 16_000),
            ("depth", 256_000), ("offered_rate", 320_000),
        )
    }
    return {
        "schema": 1,
        "build": build,
        "quick": quick,
        "started_utc": stamp,
        "finished_utc": stamp,
        "environment": {"python_version": "3.13.0"},
        "parts": {
            "benchmarks": {"status": "ok", "data": benchmarks},
            "stress": {"status": "ok", "data": stress},
            "breaking": {"status": "ok", "data": breaking},
            "scalability": {"status": "failed", "error": "RuntimeError: boom"},
        },
    }


def write_run(root: Path, document: dict[str, Any], folder: str | None = None) -> Path:
    name = folder or f"{document['started_utc']}-{document['build']}"
    path = root / name / "results.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


class PlotParser(HTMLParser):
    """Collect each ``svg.plot``: its figure key, point markers and polylines."""

    def __init__(self) -> None:
        super().__init__()
        self.plots: dict[str, dict[str, Any]] = {}
        self.current: dict[str, Any] | None = None
        self.status: dict[str, str] = {}
        self.resource_urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        for name in ("src", "href"):
            if name in attributes:
                self.resource_urls.append(attributes[name])
        classes = attributes.get("class", "").split()
        if tag == "svg" and "plot" in classes:
            self.current = {"points": [], "lines": [], "texts": 0}
            self.plots[attributes["data-figure"]] = self.current
        elif self.current is not None and tag == "circle" and "point" in classes:
            self.current["points"].append(classes)
        elif self.current is not None and tag == "polyline":
            pairs = attributes["points"].split()
            self.current["lines"].append((classes, len(pairs)))
        if attributes.get("id") == "status":
            self.status = attributes

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.current = None


def parse(text: str) -> PlotParser:
    parser = PlotParser()
    parser.feed(text)
    parser.close()
    return parser


@pytest.fixture
def four_runs(tmp_path: Path) -> Path:
    """Two runs per build; the second GIL run lacks the transition and p99 figures."""
    root = tmp_path / "results"
    write_run(root, results_document("gil", "20261201T100000Z", transition_s=4.6e-7))
    write_run(root, results_document("nogil", "20261201T103000Z", transition_s=1.1e-6,
                                     events_per_s=100_000.0))
    write_run(root, results_document("gil", "20261202T100000Z", transition_s=None,
                                     latency_p99_s=None, quick=False))
    write_run(root, results_document("nogil", "20261202T103000Z", transition_s=1.0e-6,
                                     events_per_s=110_000.0))
    write_run(root, results_document("gil", "20261203T100000Z", transition_s=4.4e-7))
    return root


# ---------------------------------------------------------------------------
# The adapter


def test_adapter_reads_headline_figures() -> None:
    figures = headline_figures(results_document("gil", "20261201T100000Z"))
    assert figures["transition_ns"][0] == pytest.approx(450.0)
    assert figures["send_ns"][0] == pytest.approx(1800.0)
    assert figures["lca_ns"][0] == pytest.approx(4000.0)
    assert figures["machine_creation_us"][0] == pytest.approx(90.0)
    assert figures["runtime_events_per_s"][0] == pytest.approx(250_000.0)
    assert figures["interpreter_events_per_s"][0] == pytest.approx(375_000.0)
    assert figures["latency_p50_us"][0] == pytest.approx(50.0)
    assert figures["latency_p99_us"][0] == pytest.approx(200.0)
    assert figures["latency_max_us"][0] == pytest.approx(3000.0)
    assert figures["gc_pause_ms"][0] == pytest.approx(12.0)
    assert figures["peak_memory_mib"][0] == pytest.approx(117.0)
    assert figures["thread_count"][0] == 4
    assert figures["regions_start_ms"][0] == pytest.approx(2.5)
    assert figures["break_regions"][0] == 16_000
    assert "did not break" in figures["break_depth"][1]


def test_adapter_every_figure_has_a_reader() -> None:
    figures = headline_figures(results_document("gil", "20261201T100000Z"))
    assert {figure.key for figure in FIGURES} == set(figures)


def test_adapter_leaves_out_missing_and_failed() -> None:
    document = results_document("gil", "20261201T100000Z", transition_s=None)
    document["parts"]["breaking"] = {"status": "failed", "error": "boom"}
    document["parts"]["benchmarks"]["data"]["lca"] = {"status": "failed", "error": "x"}
    document["parts"]["benchmarks"]["data"]["event_send"]["median"] = "fast"
    figures = headline_figures(document)
    for key in ("transition_ns", "lca_ns", "send_ns", "break_states", "break_depth"):
        assert key not in figures


def test_adapter_survives_wrong_types() -> None:
    document = results_document("gil", "20261201T100000Z")
    document["parts"]["stress"]["data"] = ["not", "a", "dict"]
    document["parts"]["benchmarks"] = "broken"
    figures = headline_figures(document)
    assert "transition_ns" not in figures
    assert "runtime_events_per_s" not in figures
    assert "break_states" in figures


# ---------------------------------------------------------------------------
# Loading and rendering


def test_runs_ordered_by_start_time(tmp_path: Path) -> None:
    root = tmp_path / "results"
    write_run(root, results_document("gil", "20261203T000000Z"), folder="a-gil")
    write_run(root, results_document("nogil", "20261201T000000Z"), folder="b-nogil")
    write_run(root, results_document("gil", "20261202T000000Z"), folder="c-gil")
    runs, warnings = load_runs(root)
    assert warnings == []
    assert [run.path.parent.name for run in runs] == ["b-nogil", "c-gil", "a-gil"]


def test_malformed_results_skipped_with_warning(tmp_path: Path, four_runs: Path) -> None:
    broken = four_runs / "20261204T000000Z-gil" / "results.json"
    broken.parent.mkdir()
    broken.write_text('{"build": "gil", "parts": {', encoding="utf-8")
    listed = four_runs / "20261205T000000Z-gil" / "results.json"
    listed.parent.mkdir()
    listed.write_text("[1, 2]", encoding="utf-8")
    no_build = write_run(four_runs, {"build": "pypy", "parts": {}}, folder="misc")
    no_parts = write_run(four_runs, {"build": "gil", "started_utc": "20261206T000000Z"})

    warned: list[str] = []
    out = build_dashboard(four_runs, tmp_path / "out" / "dash.html", warn=warned.append)

    assert len(warned) == 4
    for path in (broken, listed, no_build, no_parts):
        assert any(str(path) in text for text in warned), path
    page = out.read_text(encoding="utf-8")
    assert "Skipped files" in page
    assert str(broken) in page
    runs, _ = load_runs(four_runs)
    assert len(runs) == 5


def test_missing_figure_breaks_the_line(four_runs: Path, tmp_path: Path) -> None:
    out = build_dashboard(four_runs, tmp_path / "dash.html", warn=lambda text: None)
    plots = parse(out.read_text(encoding="utf-8")).plots

    # GIL runs 1 and 3 have the transition figure, run 2 does not: two
    # separate points and no line across the gap.
    transition = plots["transition_ns"]
    gil_points = [p for p in transition["points"] if "build-gil" in p]
    gil_lines = [line for line in transition["lines"] if "build-gil" in line[0]]
    assert len(gil_points) == 2
    assert gil_lines == []
    nogil_lines = [line for line in transition["lines"] if "build-nogil" in line[0]]
    assert nogil_lines == [(["build-nogil"], 2)]

    # A figure that every run has: one unbroken line per build.
    send = plots["send_ns"]
    assert sorted(send["lines"]) == [(["build-gil"], 3), (["build-nogil"], 2)]
    assert len(send["points"]) == 5


def test_quick_runs_drawn_hollow(four_runs: Path, tmp_path: Path) -> None:
    out = build_dashboard(four_runs, tmp_path / "dash.html", warn=lambda text: None)
    points = parse(out.read_text(encoding="utf-8")).plots["send_ns"]["points"]
    assert sum("quick" in classes for classes in points) == 4


def test_unmeasured_figure_has_no_points(tmp_path: Path) -> None:
    root = tmp_path / "results"
    for stamp, build in (("20261201T000000Z", "gil"), ("20261201T010000Z", "nogil")):
        document = results_document(build, stamp)
        del document["parts"]["stress"]["data"]["machines_10000"]["peak_threads"]
        write_run(root, document)
    out = build_dashboard(root, tmp_path / "dash.html")
    page = out.read_text(encoding="utf-8")
    threads = parse(page).plots["thread_count"]
    assert threads["points"] == []
    assert threads["lines"] == []
    assert re.search(r'data-figure="thread_count"[^>]*>.*?not measured in any run', page)


def test_target_lines_drawn(four_runs: Path, tmp_path: Path) -> None:
    page = build_dashboard(four_runs, tmp_path / "dash.html", warn=lambda t: None).read_text(
        encoding="utf-8")
    with_target = [figure for figure in FIGURES if figure.target is not None]
    for figure in with_target:
        plot = re.search(rf'<svg class="plot" data-figure="{figure.key}".*?</svg>', page)
        assert plot is not None, figure.key
        assert f'data-target="{figure.target:g}"' in plot.group(0), figure.key
        assert html.escape(figure.target_label) in plot.group(0), figure.key


def test_page_loads_nothing_external(four_runs: Path, tmp_path: Path) -> None:
    page = build_dashboard(four_runs, tmp_path / "dash.html", warn=lambda t: None).read_text(
        encoding="utf-8")
    parser = parse(page)
    for url in parser.resource_urls:
        assert not re.match(r"^(https?:)?//", url), url
    assert "http://" not in page
    assert "https://" not in page
    assert "@import" not in page


def test_cli_prints_output_path(four_runs: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli" / "dashboard.html"
    assert dashboard.main(["--results", str(four_runs), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert out.is_file()


def test_cli_rejects_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        dashboard.main(["--results", str(tmp_path / "absent")])


# ---------------------------------------------------------------------------
# A real browser


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(binary: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True,
                          timeout=CHROMIUM_TIMEOUT, check=False)


@pytest.mark.timeout(3 * CHROMIUM_TIMEOUT)
def test_dashboard_renders_in_chromium(four_runs: Path, tmp_path: Path) -> None:
    binary = chromium_binary()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    out = build_dashboard(four_runs, tmp_path / "dash.html", warn=lambda t: None)
    expected = parse(out.read_text(encoding="utf-8"))

    completed = run_chromium(binary, tmp_path / "profile", "--dump-dom", out.as_uri())
    assert completed.returncode == 0, completed.stderr[-2000:]
    console = [line for line in completed.stderr.splitlines() if "CONSOLE" in line]
    assert console == []
    dom = parse(completed.stdout)

    assert dom.status.get("data-state") == "ok", dom.status
    assert dom.status["data-plots"] == str(len(FIGURES))
    points = sum(len(plot["points"]) for plot in expected.plots.values())
    lines = sum(len(plot["lines"]) for plot in expected.plots.values())
    assert int(dom.status["data-points"]) == points
    assert int(dom.status["data-lines"]) == lines
    assert set(dom.plots) == {figure.key for figure in FIGURES}
    assert dom.plots["send_ns"]["lines"] == expected.plots["send_ns"]["lines"]

    screenshot = tmp_path / "dash.png"
    completed = run_chromium(binary, tmp_path / "profile", "--hide-scrollbars",
                             "--window-size=1500,1200", f"--screenshot={screenshot}",
                             out.as_uri())
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
