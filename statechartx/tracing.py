"""viztracer integration: macrostep spans, wait spans and named thread tracks.

``Tracing`` starts a viztracer ``VizTracer`` (or adopts one already running)
and makes statechartx report into it:

- a span per macrostep on the runtime's thread (``macrostep <event>``), and
  a counter track of each runtime's mailbox depth;
- wait spans on the waiting thread: ``wait:park`` (an idle actor or pool
  worker), ``wait:mailbox_full`` (a producer blocked by a full mailbox),
  ``wait:stop`` (a caller waiting for an actor to end) and ``wait:barrier``
  (a runtime waiting for its region actors to finish a microstep phase);
- thread names: the saved trace names each track after its Python thread
  (``runtime:<name>``, ``region:<runtime>/<state>``, ``pool-<i>``), because
  viztracer may only know a thread as ``Dummy-N`` when tracing starts after
  the thread did.

The file opens in Perfetto (ui.perfetto.dev) or with ``vizviewer``.

Cost without tracing: runtimes choose their receive function when they
start, so an untraced runtime runs no tracing check per event. The actor
kernel checks its wait hook (one global load) per park, blocked put and stop.
Runtimes started before ``Tracing`` began are not traced.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from .actors import hooks

__all__ = ["Tracing", "active_tracer", "format_summary", "span", "summarize"]

# The tracer statechartx reports into, or None. Read by runtimes when they
# start and by the wait listener; replaced by one reference assignment.
_tracer: Any = None
# Native thread id -> thread name, filled by every thread that reports.
_thread_names: dict[int, str] = {}


def active_tracer() -> Any:
    """Return the viztracer tracer statechartx reports into, or None."""
    return _tracer


def _remember_thread() -> None:
    ident = threading.get_native_id()
    if ident not in _thread_names:
        _thread_names[ident] = threading.current_thread().name


def span(tracer: Any, name: str, start: float, args: dict[str, Any] | None = None) -> None:
    """Record a complete span from ``start`` (tracer time) to now on this thread."""
    _remember_thread()
    event: dict[str, Any] = {
        "ph": "X",
        "name": name,
        "ts": start,
        "dur": tracer.getts() - start,
        "cat": "statechartx",
    }
    if args:
        event["args"] = args
    tracer.add_raw(event)


class _WaitSpans:
    """The actor kernel's wait listener: each wait becomes a span."""

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer

    def wait_started(self, kind: str, name: str) -> object:
        return (kind, name, self.tracer.getts())

    def wait_ended(self, token: object) -> None:
        kind, name, start = token  # type: ignore[misc]
        span(self.tracer, f"wait:{kind}", start, {"actor": name})


class Tracing:
    """Trace statechartx into a viztracer timeline while the block runs.

    ``output`` is the trace file (JSON, trace-event format). Pass ``tracer``
    to report into a viztracer tracer you started yourself; then saving is
    yours too. ``max_stack_depth`` limits viztracer's own function tracing
    (0 records statechartx's spans only, which keeps traces of millions of
    events small).

    Raises ``RuntimeError`` when viztracer is not installed
    (``pip install viztracer``) or another ``Tracing`` is active.
    """

    def __init__(
        self,
        output: str = "trace.json",
        *,
        tracer: Any = None,
        max_stack_depth: int = 0,
    ) -> None:
        self.output = output
        self._own = tracer is None
        self._tracer = tracer
        self._max_stack_depth = max_stack_depth
        self._previous_listener: Any = None

    def __enter__(self) -> Tracing:
        global _tracer
        if _tracer is not None:
            raise RuntimeError(
                "statechartx tracing is already active; nest no Tracing blocks"
            )
        if self._tracer is None:
            try:
                from viztracer import VizTracer
            except ImportError as exc:
                raise RuntimeError(
                    "tracing needs viztracer: pip install viztracer "
                    "(or pip install statechartx[perf])"
                ) from exc
            self._tracer = VizTracer(
                output_file=self.output,
                verbose=0,
                max_stack_depth=self._max_stack_depth,
                tracer_entries=2_000_000,
            )
            self._tracer.start()
        _thread_names.clear()
        _tracer = self._tracer
        self._previous_listener = hooks.set_wait_listener(_WaitSpans(self._tracer))
        return self

    def __exit__(self, *exc_info: object) -> None:
        global _tracer
        hooks.set_wait_listener(self._previous_listener)
        _tracer = None
        if self._own:
            self._tracer.stop()
            self._tracer.save(self.output)
            name_threads(self.output)


def name_threads(path: str) -> None:
    """Rewrite the thread-name metadata of a saved trace with the names of
    the threads that reported spans."""
    with open(path, encoding="utf-8") as handle:
        trace = json.load(handle)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    named: set[int] = set()
    for event in events:
        if event.get("ph") == "M" and event.get("name") == "thread_name":
            tid = event.get("tid")
            if tid in _thread_names:
                event["args"] = {"name": _thread_names[tid]}
                named.add(tid)
    pid = next((e.get("pid") for e in events if "pid" in e), 0)
    for tid, name in _thread_names.items():
        if tid not in named:
            events.append(
                {"ph": "M", "pid": pid, "tid": tid, "name": "thread_name", "args": {"name": name}}
            )
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(trace, handle)


def summarize(path: str, top: int = 3) -> list[dict[str, Any]]:
    """Return, per thread of a trace, busy time, wait time and longest waits.

    Busy time is the total of macrostep and region task spans less the
    barrier waits inside them, wait time the total of ``wait:*`` spans, both
    in milliseconds. Threads are sorted by name.
    """
    with open(path, encoding="utf-8") as handle:
        trace = json.load(handle)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    names = {
        e["tid"]: e["args"]["name"]
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name"
    }
    per_thread: dict[Any, dict[str, Any]] = {}
    for event in events:
        if event.get("ph") != "X" or event.get("cat") != "statechartx":
            continue
        tid = event.get("tid")
        row = per_thread.setdefault(
            tid,
            {"thread": names.get(tid, str(tid)), "busy_ms": 0.0, "wait_ms": 0.0, "waits": []},
        )
        duration_ms = event.get("dur", 0.0) / 1000.0
        if event["name"].startswith("wait:"):
            row["wait_ms"] += duration_ms
            row["waits"].append((duration_ms, event["name"]))
            if event["name"] == "wait:barrier":
                # Barrier waits happen inside a macrostep span, which
                # counted them as busy.
                row["busy_ms"] -= duration_ms
        else:
            row["busy_ms"] += duration_ms
    rows = []
    for row in per_thread.values():
        row["waits"].sort(reverse=True)
        row["longest_waits"] = [
            {"name": name, "ms": round(ms, 3)} for ms, name in row["waits"][:top]
        ]
        del row["waits"]
        row["busy_ms"] = round(row["busy_ms"], 3)
        row["wait_ms"] = round(row["wait_ms"], 3)
        rows.append(row)
    rows.sort(key=lambda r: r["thread"])
    return rows


def format_summary(rows: list[dict[str, Any]]) -> str:
    """Return the rows of ``summarize`` as an aligned text table."""
    lines = [f"{'thread':40} {'busy ms':>10} {'wait ms':>10}  longest waits"]
    for row in rows:
        waits = ", ".join(f"{w['name']} {w['ms']} ms" for w in row["longest_waits"])
        lines.append(f"{row['thread']:40} {row['busy_ms']:>10} {row['wait_ms']:>10}  {waits}")
    return "\n".join(lines)
