"""Command line of the performance suite.

    python -m perf --build gil|nogil [--quick] [--out DIR] [--only PART,...]
    python -m perf report [DIR ...]

The first form runs the parts of ``PARTS`` in order and writes
``perf/results/<UTC timestamp>-<build>/`` (or ``--out``) with
``results.json``, ``report.md``, PNG plots and ``raw/`` (pyperf JSON,
cProfile dumps), then points ``perf/results/LATEST-<build>`` at it. A part
that raises is recorded as failed and the others still run. The second form
rebuilds reports from existing results folders: one folder gives its own
report, several give a combined one (the GIL vs free-threaded comparison).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import benchmarks, breaking, profiles, report, scalability, stress, system, timeline
from .suite import RunContext

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# The parts in run order. Each is a function that takes the RunContext and
# returns a JSON-ready dict, which report.py then renders. The comparison
# with other statechart libraries is a command of its own (python -m
# perf.peers) because it needs those libraries installed.
PARTS: dict[str, Callable[[RunContext], dict[str, Any]]] = {
    "benchmarks": benchmarks.run,
    "stress": stress.run,
    "breaking": breaking.run,
    "scalability": scalability.run,
    "profiles": profiles.run,
    "timeline": timeline.run,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "report":
        return _report_command(argv[1:])
    return _run_command(argv)


def _run_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf", description="Run the statechartx performance suite.")
    parser.add_argument("--build", required=True, choices=["gil", "nogil"],
                        help="which CPython build this interpreter is; checked against the running interpreter")
    parser.add_argument("--quick", action="store_true",
                        help="run every part at reduced sizes (a few minutes in all)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results folder (default: perf/results/<UTC timestamp>-<build>)")
    parser.add_argument("--only", default="",
                        help=f"comma-separated parts to run, out of: {', '.join(PARTS)}")
    args = parser.parse_args(argv)

    selected = [name.strip() for name in args.only.split(",") if name.strip()] or list(PARTS)
    unknown = [name for name in selected if name not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    measured = system.build_label()
    if measured != args.build:
        parser.error(
            f"--build {args.build} but this interpreter runs as {measured!r} "
            f"(Py_GIL_DISABLED={system.describe()['py_gil_disabled']}, GIL enabled: "
            f"{system.gil_enabled()}); use the matching interpreter, and PYTHON_GIL=0 for nogil"
        )

    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out_dir = args.out or RESULTS_DIR / f"{stamp}-{args.build}"
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(build=args.build, quick=args.quick, out_dir=out_dir)
    results: dict[str, Any] = {
        "schema": 1,
        "build": args.build,
        "quick": args.quick,
        "started_utc": stamp,
        "command": " ".join(["python -m perf", *argv]),
        "environment": system.describe(),
        "parts": {},
    }
    ctx.part = "suite"
    ctx.progress(f"writing {out_dir}; parts: {', '.join(selected)}{' (quick)' if args.quick else ''}")
    for name in selected:
        ctx.part = name
        began = time.perf_counter()
        try:
            data = PARTS[name](ctx)
            entry: dict[str, Any] = {"status": "ok", "data": data}
        except Exception as exc:  # noqa: BLE001 - one failing part must not abort the others
            entry = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
            ctx.progress(f"FAILED: {entry['error']}")
        entry["elapsed_s"] = time.perf_counter() - began
        results["parts"][name] = entry
        ctx.progress(f"done in {entry['elapsed_s']:.1f} s")
        # Written after every part so that an interrupted run keeps what it measured.
        _write_json(out_dir / "results.json", results)

    results["targets"] = report.evaluate_targets(results)
    results["elapsed_s"] = time.perf_counter() - ctx.started
    results["finished_utc"] = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    _write_json(out_dir / "results.json", results)
    ctx.part = "report"
    report.write_report(out_dir, _latest_other(args.build, out_dir))
    if out_dir.parent == RESULTS_DIR:
        (RESULTS_DIR / f"LATEST-{args.build}").write_text(out_dir.name + "\n", encoding="utf-8")
    ctx.progress(f"report: {out_dir / 'report.md'} (total {results['elapsed_s']:.1f} s)")
    return 0 if all(p["status"] == "ok" for p in results["parts"].values()) else 1


def _latest_other(build: str, out_dir: Path) -> Path | None:
    """Return the latest results folder of the other build, for the side-by-side."""
    other = "nogil" if build == "gil" else "gil"
    pointer = RESULTS_DIR / f"LATEST-{other}"
    if not pointer.is_file():
        return None
    folder = RESULTS_DIR / pointer.read_text(encoding="utf-8").strip()
    return folder if (folder / "results.json").is_file() and folder != out_dir else None


def _report_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m perf report",
        description="Rebuild report.md and the plots from results folders. With no folder, "
                    "uses perf/results/LATEST-gil and LATEST-nogil.",
    )
    parser.add_argument("folders", nargs="*", type=Path, help="results folders holding results.json")
    parser.add_argument("--out", type=Path, default=None,
                        help="where a combined report of several folders goes "
                             "(default: perf/results/combined-<UTC timestamp>)")
    args = parser.parse_args(argv)
    folders = list(args.folders)
    if not folders:
        for build in ("gil", "nogil"):
            pointer = RESULTS_DIR / f"LATEST-{build}"
            if pointer.is_file():
                folders.append(RESULTS_DIR / pointer.read_text(encoding="utf-8").strip())
    missing = [str(folder) for folder in folders if not (folder / "results.json").is_file()]
    if not folders or missing:
        parser.error(f"no results.json in: {', '.join(missing) or 'perf/results (no LATEST-* pointer)'}")
    if len(folders) == 1:
        path = report.write_report(folders[0], None)
    else:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path = report.write_combined(folders, args.out or RESULTS_DIR / f"combined-{stamp}")
    print(path)
    return 0


def _write_json(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    temporary.replace(path)


if __name__ == "__main__":
    sys.exit(main())
