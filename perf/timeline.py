"""Part "timeline": a viztracer timeline of a concurrent scenario.

A child process runs ``statechartx.scenarios.mixed_scenario`` under
``statechartx.tracing.Tracing``: one runtime whose parallel state runs 4
regions on region actors, while a feeder thread drives four more runtimes
on their own threads. The trace is written as ``timeline.json`` in the
results folder (trace-event JSON: it opens in Perfetto, ui.perfetto.dev, or
with ``vizviewer``). The part records the per-thread busy and wait times
(``statechartx.tracing.summarize``) and a structural check of the file:

- it is a trace-event document (a ``traceEvents`` list of events with a
  phase ``ph``);
- every actor thread of the scenario has exactly one named track, and that
  track has spans;
- wait spans are present (``wait:park`` of idle actors, ``wait:barrier`` of
  the runtime waiting for its regions).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from .suite import RunContext, runtime_available

__all__ = ["run", "record", "check_trace", "EXPECTED_TRACKS", "EXPECTED_WAITS"]

TRACE_NAME = "timeline.json"

# The actor threads of mixed_scenario, as statechartx names their tracks:
# regions_scenario's runtime "regions" with regions r0..r3 of busy_regions_machine,
# and runtimes_scenario's runtimes worker0..worker3.
EXPECTED_TRACKS = (
    ["runtime:regions"]
    + [f"region:regions/r{i}" for i in range(4)]
    + [f"runtime:worker{i}" for i in range(4)]
)
EXPECTED_WAITS = ("wait:park", "wait:barrier")


def run(ctx: RunContext) -> dict[str, Any]:
    available, reason = runtime_available()
    if not available:
        ctx.progress(f"timeline: {reason}")
        return {"status": "skipped", "reason": reason}
    path = ctx.out_dir / TRACE_NAME
    outcome = ctx.isolated(
        "timeline of scenario mixed", "perf.timeline:record",
        {"output": str(path)}, timeout=ctx.pick(120, 60), memory_mb=2048,
    )
    if not outcome.ok:
        return {"status": "failed", "error": outcome.error, "outcome": outcome.to_json()}
    result = outcome.result or {}
    result["file"] = TRACE_NAME
    result["bytes"] = path.stat().st_size if path.is_file() else 0
    return result


def record(output: str, scenario: str = "mixed") -> dict[str, Any]:
    """Trace ``scenario`` into ``output``; return the summary and the check
    (runs in the isolated child)."""
    import time  # noqa: PLC0415

    from statechartx.scenarios import SCENARIOS  # noqa: PLC0415
    from statechartx.tracing import Tracing, summarize  # noqa: PLC0415

    started = time.perf_counter()
    with Tracing(output):
        SCENARIOS[scenario]()
    traced_s = time.perf_counter() - started
    return {
        "status": "ok",
        "scenario": scenario,
        "traced_s": traced_s,
        "summary": summarize(output),
        "check": check_trace(output),
    }


def check_trace(
    path: str | Path,
    expected_tracks: list[str] | tuple[str, ...] = tuple(EXPECTED_TRACKS),
    expected_waits: tuple[str, ...] = EXPECTED_WAITS,
) -> dict[str, Any]:
    """Check the structure of a trace written by ``Tracing``.

    Returns ``{"ok": bool, "problems": [...], ...counts}``; ``problems``
    names each fault (an invalid document, a missing or duplicated track, a
    track with no span, a missing kind of wait span).
    """
    problems: list[str] = []
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"ok": False, "problems": [f"not readable as JSON: {type(exc).__name__}: {exc}"]}
    events = document.get("traceEvents") if isinstance(document, dict) else document
    if not isinstance(events, list) or not events:
        return {"ok": False, "problems": ["no traceEvents list, or an empty one"]}
    malformed = sum(1 for event in events if not isinstance(event, dict) or "ph" not in event)
    if malformed:
        problems.append(f"{malformed} event(s) without a phase 'ph'")

    tids_by_name: dict[str, list[Any]] = {}
    for event in events:
        if isinstance(event, dict) and event.get("ph") == "M" and event.get("name") == "thread_name":
            tids_by_name.setdefault(event.get("args", {}).get("name", ""), []).append(event.get("tid"))
    spans_per_tid = Counter(
        event.get("tid") for event in events
        if isinstance(event, dict) and event.get("ph") == "X" and event.get("cat") == "statechartx"
    )
    for name in expected_tracks:
        tids = tids_by_name.get(name, [])
        if not tids:
            problems.append(f"no track named {name!r}")
        elif len(set(tids)) > 1:
            problems.append(f"{len(set(tids))} tracks named {name!r}; expected one")
        elif spans_per_tid[tids[0]] == 0:
            problems.append(f"track {name!r} has no statechartx span")

    span_names = Counter(
        event["name"] for event in events
        if isinstance(event, dict) and event.get("ph") == "X" and event.get("cat") == "statechartx"
    )
    waits = {name: count for name, count in span_names.items() if name.startswith("wait:")}
    for kind in expected_waits:
        if not waits.get(kind):
            problems.append(f"no {kind!r} span")
    actor_tracks = sorted(
        name for name in tids_by_name if name.startswith(("runtime:", "region:", "pool-"))
    )
    return {
        "ok": not problems,
        "problems": problems,
        "events": len(events),
        "actor_tracks": actor_tracks,
        "macrosteps": sum(count for name, count in span_names.items() if name.startswith("macrostep")),
        "wait_spans": waits,
    }
