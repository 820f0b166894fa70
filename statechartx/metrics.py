"""Counters and latency histograms of runtimes, read as snapshots.

Every recorder here is written by exactly one thread, the runtime's actor
thread, so recording takes no lock. Other threads read snapshots: a reader
may see one counter updated and the next not yet, which is acceptable for
metrics. That holds on free-threaded CPython too, where reading a list item
or an int attribute that another thread replaces is safe and returns either
the old or the new object.

The one exception is ``GcMonitor``: the garbage collector runs its callbacks
on whichever thread triggered a collection, so its totals are guarded by a
lock, taken twice per collection, never per event.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from typing import Any

__all__ = ["LatencyHistogram", "RuntimeMetrics", "GcMonitor", "gc_monitor", "aggregate"]

# Four buckets per power of two: a reported percentile is within 19% of the
# true value (the bucket's midpoint is reported), which is plenty for
# latencies that vary over several orders of magnitude.
_SUB_BITS = 2
_SUB = 1 << _SUB_BITS
_BUCKETS = 64 * _SUB


def _bucket(ns: int) -> int:
    if ns < _SUB:
        return max(ns, 0)
    bits = ns.bit_length()
    return ((bits - _SUB_BITS) << _SUB_BITS) + ((ns >> (bits - _SUB_BITS - 1)) & (_SUB - 1))


def _bucket_mid(index: int) -> float:
    if index < _SUB:
        return float(index)
    bits = (index >> _SUB_BITS) + _SUB_BITS
    sub = index & (_SUB - 1)
    low = (1 << (bits - 1)) + (sub << (bits - _SUB_BITS - 1))
    width = 1 << (bits - _SUB_BITS - 1)
    return low + width / 2


class LatencyHistogram:
    """A log-linear histogram of durations in nanoseconds.

    ``record`` costs one ``int.bit_length`` and a list increment; memory is
    fixed (256 buckets) whatever the number of samples.
    """

    __slots__ = ("counts", "max_ns")

    def __init__(self) -> None:
        self.counts = [0] * _BUCKETS
        self.max_ns = 0

    @property
    def count(self) -> int:
        """Number of samples."""
        return sum(list(self.counts))

    @property
    def total_ns(self) -> float:
        """Approximate sum of the samples (bucket midpoints), in nanoseconds."""
        return sum(n * _bucket_mid(i) for i, n in enumerate(list(self.counts)) if n)

    def record(self, ns: int) -> None:
        """Add one duration in nanoseconds (owner thread only)."""
        # _bucket inlined: this runs once per event on the runtime's thread.
        bits = ns.bit_length()
        if bits > _SUB_BITS:
            index = ((bits - _SUB_BITS) << _SUB_BITS) + ((ns >> (bits - _SUB_BITS - 1)) & (_SUB - 1))
        else:
            index = ns if ns > 0 else 0
        self.counts[index] += 1
        if ns > self.max_ns:
            self.max_ns = ns

    def percentile(self, fraction: float) -> float:
        """Return the duration in seconds below which ``fraction`` of samples
        fall (bucket midpoint), or 0.0 with no samples."""
        counts = list(self.counts)
        total = sum(counts)
        if total == 0:
            return 0.0
        rank = fraction * total
        seen = 0
        for index, n in enumerate(counts):
            seen += n
            if seen >= rank and n:
                return min(_bucket_mid(index), float(self.max_ns)) / 1e9
        return self.max_ns / 1e9

    def merge(self, other: LatencyHistogram) -> None:
        """Add another histogram's samples into this one."""
        for index, n in enumerate(list(other.counts)):
            if n:
                self.counts[index] += n
        self.max_ns = max(self.max_ns, other.max_ns)

    def summary(self, prefix: str) -> dict[str, float]:
        """Return count, mean, p50, p95, p99 and max (seconds) under ``prefix``."""
        count = self.count
        return {
            f"{prefix}_count": count,
            f"{prefix}_seconds_mean": (self.total_ns / count / 1e9) if count else 0.0,
            f"{prefix}_seconds_p50": self.percentile(0.50),
            f"{prefix}_seconds_p95": self.percentile(0.95),
            f"{prefix}_seconds_p99": self.percentile(0.99),
            f"{prefix}_seconds_max": self.max_ns / 1e9,
        }


class RuntimeMetrics:
    """The metrics of one runtime, written by its actor thread only.

    Mailbox figures (sent, rejected, dropped, depth) come from the mailbox's
    own accounting and are merged in by ``Runtime.metrics``.
    """

    __slots__ = (
        "processed",
        "transitions",
        "errors",
        "latency",
        "macrostep",
        "max_depth",
        "requests",
        "started_at",
    )

    def __init__(self) -> None:
        self.processed = 0
        self.transitions = 0
        self.errors = 0
        self.latency = LatencyHistogram()
        self.macrostep = LatencyHistogram()
        self.max_depth = 0
        self.requests = 0
        self.started_at = time.monotonic()

    def as_dict(self) -> dict[str, Any]:
        """Return the metrics with Prometheus-style names."""
        result: dict[str, Any] = {
            "statechartx_events_processed_total": self.processed,
            "statechartx_transitions_total": self.transitions,
            "statechartx_errors_total": self.errors,
            "statechartx_uptime_seconds": time.monotonic() - self.started_at,
        }
        result.update(self.latency.summary("statechartx_event_latency"))
        result.update(self.macrostep.summary("statechartx_macrostep"))
        return result


class GcMonitor:
    """Process-wide garbage-collector pause totals, from ``gc.callbacks``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._starts: dict[int, int] = {}
        self._installed = False
        self.collections = 0
        self.pause = LatencyHistogram()

    def install(self) -> None:
        """Register the callback once; later calls do nothing."""
        with self._lock:
            if not self._installed:
                gc.callbacks.append(self._callback)
                self._installed = True

    def uninstall(self) -> None:
        """Remove the callback (tests use this to leave gc as they found it)."""
        with self._lock:
            if self._installed:
                gc.callbacks.remove(self._callback)
                self._installed = False

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter_ns()
        thread = threading.get_ident()
        with self._lock:
            if phase == "start":
                self._starts[thread] = now
            else:
                started = self._starts.pop(thread, None)
                if started is not None:
                    self.collections += 1
                    self.pause.record(now - started)

    def as_dict(self) -> dict[str, Any]:
        """Return collection count and pause percentiles."""
        with self._lock:
            result: dict[str, Any] = {
                "statechartx_gc_collections_total": self.collections,
                "statechartx_gc_pause_seconds_total": self.pause.total_ns / 1e9,
                "statechartx_gc_pause_seconds_max": self.pause.max_ns / 1e9,
                "statechartx_gc_pause_seconds_p99": self.pause.percentile(0.99),
            }
        return result


#: The process-wide monitor; runtimes install it when they start.
gc_monitor = GcMonitor()


def aggregate(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum the counters of several runtime snapshots (a supervisor's view).

    Totals and depths are summed, maxima take the maximum; percentiles are
    not summable and are left out (read them per runtime).
    """
    result: dict[str, Any] = {"statechartx_runtimes": len(snapshots)}
    for snap in snapshots:
        for key, value in snap.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            if key.startswith("statechartx_gc_"):
                # Process-wide figures, the same in every snapshot.
                result[key] = max(result.get(key, 0), value)
            elif key.endswith("_total") or key == "statechartx_mailbox_depth":
                result[key] = result.get(key, 0) + value
            elif key.endswith("_max"):
                result[key] = max(result.get(key, 0), value)
    return result


def to_json(snapshot: dict[str, Any]) -> str:
    """Return a snapshot as JSON text with sorted keys."""
    return json.dumps(snapshot, sort_keys=True)
