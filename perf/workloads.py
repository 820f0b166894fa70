"""Engine workloads that run inside an isolated child (see ``perf.isolate``).

Each function takes sizes as keyword arguments and returns a JSON-ready
dict of measurements. Timings use ``time.perf_counter``. A cost per
operation is the median over ``repeats`` timed batches, so one scheduling
hiccup does not move it.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from statechartx import Interpreter, Machine, State, Transition

from . import charts
from .isolate import peak_rss_mb, rss_mb

__all__ = [
    "build_flat",
    "flat_event_cost",
    "ping_pong_events",
    "broadcast",
    "deep_transitions",
    "event_burst",
]


def _median_batch(operation: Callable[[], Any], batch: int, repeats: int) -> float:
    """Median seconds per call of ``operation`` over ``repeats`` batches."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(batch):
            operation()
        samples.append((time.perf_counter() - started) / batch)
    return statistics.median(samples)


def build_flat(states: int, trace_memory: bool = False, events: int = 1000) -> dict[str, Any]:
    """Build, compile and start a flat chart of ``states`` states, then send
    ``events`` events through it.

    With ``trace_memory`` tracemalloc records the peak of Python allocations
    (slower, so timings of that run are not comparable).
    """
    baseline_rss = rss_mb()
    if trace_memory:
        tracemalloc.start()
    started = time.perf_counter()
    chart = charts.flat_chart(states)
    built = time.perf_counter()
    machine = Machine(chart)
    compiled = time.perf_counter()
    interpreter = Interpreter(machine)
    interpreter.start()
    ready = time.perf_counter()
    for _ in range(events):
        interpreter.send("next")
    finished = time.perf_counter()
    expected = f"s{events % states}"
    if not interpreter.is_in(expected):
        raise AssertionError(f"after {events} events expected {expected!r}, got {sorted(interpreter.configuration)}")
    result: dict[str, Any] = {
        "states": states,
        "chart_s": built - started,
        "compile_s": compiled - built,
        "build_s": compiled - started,
        "start_s": ready - compiled,
        "event_us": (finished - ready) / max(events, 1) * 1e6,
        "rss_mb": rss_mb(),
        "rss_growth_mb": rss_mb() - baseline_rss,
        "peak_rss_mb": peak_rss_mb(),
    }
    if trace_memory:
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result["traced_peak_mb"] = peak / 2**20
        result["traced_current_mb"] = current / 2**20
    return result


def flat_event_cost(states: int, batch: int = 2000, repeats: int = 5) -> dict[str, Any]:
    """Cost of one ``next`` event on a flat chart of ``states`` states.

    The interpreter fills per-transition caches on a transition's first use,
    so each repeat first walks ``batch`` states of the ring untimed, jumps
    back with ``transition_to`` and then times the same walk warm. The first
    walk's cost is reported as ``cold_seconds``.
    """
    interpreter = Interpreter(Machine(charts.flat_chart(states)))
    interpreter.start()
    send = interpreter.send
    warm: list[float] = []
    cold: list[float] = []
    for repeat in range(repeats):
        origin = f"s{(repeat * batch) % states}"
        for samples in (cold, warm):
            interpreter.transition_to(origin)
            started = time.perf_counter()
            for _ in range(batch):
                send("next")
            samples.append((time.perf_counter() - started) / batch)
    return {"size": states, "seconds": statistics.median(warm), "cold_seconds": statistics.median(cold)}


def _counting_ping_pong() -> State:
    def count(ctx: Any) -> None:
        ctx.data["n"] += 1

    return State(
        "pingpong",
        initial="ping",
        children=[
            State("ping", transitions=[Transition("ping", target="pong", action=count)]),
            State("pong", transitions=[Transition("ping", target="ping", action=count)]),
        ],
    )


def ping_pong_events(events: int) -> dict[str, Any]:
    """Send ``events`` events through a ping-pong interpreter and count the
    transitions taken, so that a lost event shows as a missing count."""
    interpreter = Interpreter(Machine(_counting_ping_pong()), data={"n": 0})
    interpreter.start()
    send = interpreter.send
    started = time.perf_counter()
    for _ in range(events):
        send("ping")
    elapsed = time.perf_counter() - started
    processed = interpreter.data["n"]
    return {
        "size": events,
        "events": events,
        "processed": processed,
        "lost": events - processed,
        "seconds": elapsed,
        "events_per_s": events / elapsed if elapsed > 0 else None,
        "peak_rss_mb": peak_rss_mb(),
    }


def broadcast(regions: int, events: int = 10, repeats: int = 3) -> dict[str, Any]:
    """Start, broadcast to, and stop a parallel state of ``regions`` regions."""
    started = time.perf_counter()
    machine = Machine(charts.broadcast_chart(regions))
    compiled = time.perf_counter()
    interpreter = Interpreter(machine)
    interpreter.start()
    running = time.perf_counter()
    expected = 2 * regions + 1
    if len(interpreter.configuration) != expected:
        raise AssertionError(f"{len(interpreter.configuration)} active states, expected {expected}")
    send = interpreter.send
    cost = _median_batch(lambda: send("tick"), events, repeats)
    if not interpreter.is_in(f"r{regions - 1}.{'on' if events * repeats % 2 else 'off'}"):
        raise AssertionError(f"the last region missed a broadcast: {sorted(interpreter.configuration)[:5]} ...")
    stopping = time.perf_counter()
    interpreter.stop()
    stopped = time.perf_counter()
    return {
        "size": regions,
        "compile_s": compiled - started,
        "start_s": running - compiled,
        "stop_s": stopped - stopping,
        "seconds": cost,
        "peak_rss_mb": peak_rss_mb(),
    }


def deep_transitions(depth: int, repeats: int = 5) -> dict[str, Any]:
    """Transitions in ``deep_chart(depth)``: ``cross`` exits and enters
    ``depth`` states, ``swap`` stays at the bottom of one chain."""
    started = time.perf_counter()
    machine = Machine(charts.deep_chart(depth))
    compiled = time.perf_counter()
    interpreter = Interpreter(machine)
    interpreter.start()
    running = time.perf_counter()
    send = interpreter.send
    cross = []
    for _ in range(repeats):
        before = time.perf_counter()
        send("cross")
        cross.append(time.perf_counter() - before)
    swap = _median_batch(lambda: send("swap"), 100, repeats)
    leaf = charts.deep_leaf("b" if repeats % 2 else "a", depth)
    if not (interpreter.is_in(leaf) or interpreter.is_in(f"{leaf}.alt")):
        raise AssertionError(f"after {repeats} cross events the leaf {leaf!r} is not active")
    return {
        "size": depth,
        "compile_s": compiled - started,
        "start_s": running - compiled,
        "cross_s": statistics.median(cross),
        "cross_max_s": max(cross),
        "swap_s": swap,
        "seconds": statistics.median(cross),
        "peak_rss_mb": peak_rss_mb(),
    }


def event_burst(events: int) -> dict[str, Any]:
    """Queue ``events`` external events from one action, then drain them.

    The external queue keeps every pending Event object alive at once.
    """

    def flood(ctx: Any) -> None:
        send = ctx.send
        for _ in range(events):
            send("ping")

    chart = State(
        "burst",
        initial="ping",
        transitions=[Transition("flood", action=flood)],
        children=[
            State("ping", transitions=[Transition("ping", target="pong")]),
            State("pong", transitions=[Transition("ping", target="ping")]),
        ],
    )
    interpreter = Interpreter(Machine(chart))
    interpreter.start()
    gc.collect()
    started = time.perf_counter()
    interpreter.send("flood")
    elapsed = time.perf_counter() - started
    expected = "ping" if events % 2 == 0 else "pong"
    if not interpreter.is_in(expected):
        raise AssertionError(f"after {events} queued events expected {expected!r}")
    return {
        "size": events,
        "seconds": elapsed,
        "events_per_s": events / elapsed if elapsed > 0 else None,
        "peak_rss_mb": peak_rss_mb(),
    }
