"""Runtime workloads that run inside an isolated child (see ``perf.isolate``).

They need ``statechartx.runtime`` and ``statechartx.actors``; the parts
that call them check first and record a skip when those are missing.
Every wait is bounded, and every runtime started here is stopped.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from statechartx import Machine

from . import charts
from .isolate import peak_rss_mb

__all__ = ["runtime_events", "concurrent_machines", "offered_rate"]

WAIT_SECONDS = 120.0


def _processed(runtime: Any) -> int:
    return int(runtime.metrics.get("statechartx_events_processed_total", -1))


def runtime_events(events: int) -> dict[str, Any]:
    """Send ``events`` events from one producer thread to one Runtime.

    None may be lost (processed counter == sent); the rate is sent / wall time.
    """
    from statechartx.runtime import Runtime  # noqa: PLC0415

    runtime = Runtime(Machine(charts.ping_pong()), name="stress-events")
    runtime.start()
    try:
        send = runtime.send
        started = time.perf_counter()
        for _ in range(events):
            send("ping")
        idle = runtime.wait_idle(timeout=WAIT_SECONDS)
        elapsed = time.perf_counter() - started
        processed = _processed(runtime)
    finally:
        runtime.stop(timeout=WAIT_SECONDS)
    return {
        "size": events,
        "events": events,
        "processed": processed,
        "lost": events - processed,
        "idle": idle,
        "seconds": elapsed,
        "events_per_s": events / elapsed if elapsed > 0 else None,
        "peak_rss_mb": peak_rss_mb(),
    }


def concurrent_machines(machines: int, events: int, workers: int = 0) -> dict[str, Any]:
    """``machines`` runtimes on a PoolDispatcher, ``events`` events each.

    ``workers`` defaults to the CPU count. The producer sends round-robin
    so that every mailbox is busy at once.
    """
    import os  # noqa: PLC0415

    from statechartx.actors import PoolDispatcher, Supervisor  # noqa: PLC0415
    from statechartx.runtime import Runtime  # noqa: PLC0415

    workers = workers or os.cpu_count() or 2
    machine = Machine(charts.ping_pong())
    dispatcher = PoolDispatcher(workers=workers)
    supervisor = Supervisor()
    runtimes: list[Any] = []
    started = time.perf_counter()
    try:
        for i in range(machines):
            runtime = Runtime(machine, name=f"m{i}", dispatcher=dispatcher, supervisor=supervisor)
            runtime.start()
            runtimes.append(runtime)
        spawned = time.perf_counter()
        for _ in range(events):
            for runtime in runtimes:
                runtime.send("ping")
        sent = time.perf_counter()
        stuck = sum(1 for runtime in runtimes if not runtime.wait_idle(timeout=WAIT_SECONDS))
        finished = time.perf_counter()
        processed = sum(_processed(runtime) for runtime in runtimes)
    finally:
        for runtime in reversed(runtimes):
            runtime.stop(timeout=WAIT_SECONDS)
        supervisor.stop(timeout=WAIT_SECONDS)
        dispatcher.shutdown(timeout=WAIT_SECONDS)
    total = machines * events
    return {
        "machines": machines,
        "events_per_machine": events,
        "workers": workers,
        "spawn_s": spawned - started,
        "send_s": sent - spawned,
        "seconds": finished - started,
        "processed": processed,
        "lost": total - processed,
        "stuck_runtimes": stuck,
        "events_per_s": total / (finished - spawned) if finished > spawned else None,
        "peak_rss_mb": peak_rss_mb(),
    }


def offered_rate(rate: float, duration: float = 1.0) -> dict[str, Any]:
    """Offer ``rate`` events/s for ``duration`` seconds to one Runtime and
    report what it processed; saturated when it falls behind by over 10%."""
    from statechartx.runtime import Runtime  # noqa: PLC0415

    runtime = Runtime(Machine(charts.ping_pong()), name="breaking-rate")
    runtime.start()
    try:
        total = int(rate * duration)
        interval = 1.0 / rate
        send = runtime.send
        started = time.perf_counter()
        # Sends in small bursts paced against the clock: sleeping per event
        # cannot reach high rates, so the producer catches up in bursts.
        sent = 0
        while sent < total:
            due = int((time.perf_counter() - started) / interval) + 1
            for _ in range(min(due, total) - sent):
                send("ping")
            sent = max(sent, min(due, total))
            if sent < total:
                threading.Event().wait(0.0005)
        offered_s = time.perf_counter() - started
        idle = runtime.wait_idle(timeout=max(duration, 1.0))
        drained_s = time.perf_counter() - started
        processed = _processed(runtime)
    finally:
        runtime.stop(timeout=WAIT_SECONDS, drain=False)
    achieved = processed / drained_s if drained_s > 0 else 0.0
    return {
        "size": rate,
        "offered_per_s": total / offered_s if offered_s > 0 else None,
        "processed": processed,
        "achieved_per_s": achieved,
        "drained_within_duration": idle,
        "saturated": (not idle) or achieved < 0.9 * rate,
        "seconds": drained_s,
        "peak_rss_mb": peak_rss_mb(),
    }
