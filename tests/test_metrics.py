"""Metrics: histogram arithmetic, runtime counters, JSON export and aggregation."""

from __future__ import annotations

import json
import random
import threading
from typing import Any

import pytest

from statechartx import Machine, State, Transition
from statechartx.metrics import LatencyHistogram, RuntimeMetrics, aggregate, to_json
from statechartx.runtime import Runtime

WAIT = 10.0


def counting_machine() -> Machine:
    return Machine(
        State(
            "top",
            initial="a",
            children=[
                State("a", transitions=[Transition("e", action=lambda ctx: ctx.data["log"].append(1))]),
            ],
        )
    )


# ----------------------------------------------------------------------
# LatencyHistogram


def test_histogram_empty_is_zero() -> None:
    histogram = LatencyHistogram()
    assert histogram.count == 0
    assert histogram.percentile(0.5) == 0.0
    summary = histogram.summary("x")
    assert summary["x_count"] == 0
    assert summary["x_seconds_mean"] == 0.0
    assert summary["x_seconds_max"] == 0.0


@pytest.mark.parametrize("seed", range(20))
def test_histogram_percentiles_are_monotone_and_close(seed: int) -> None:
    rng = random.Random(seed)
    samples = [int(rng.lognormvariate(10, 2)) for _ in range(rng.randint(1, 5000))]
    histogram = LatencyHistogram()
    for ns in samples:
        histogram.record(ns)
    assert histogram.count == len(samples)
    assert histogram.max_ns == max(samples)
    p50, p95, p99 = (histogram.percentile(f) for f in (0.50, 0.95, 0.99))
    maximum = histogram.max_ns / 1e9
    assert 0.0 <= p50 <= p95 <= p99 <= maximum
    # A bucket is a quarter of a power of two wide and reports its midpoint,
    # so a percentile is within 1/8 of the true sample at that rank (plus a
    # nanosecond for the smallest buckets).
    ordered = sorted(samples)
    for fraction, value in ((0.50, p50), (0.95, p95), (0.99, p99)):
        rank = max(int(fraction * len(ordered) + 0.999999) - 1, 0)
        true = ordered[rank]
        assert abs(value * 1e9 - true) <= true / 8 + 1, (fraction, value * 1e9, true)


def test_histogram_small_values_have_exact_buckets() -> None:
    histogram = LatencyHistogram()
    for ns in (0, 1, 2, 3):
        histogram.record(ns)
    assert histogram.count == 4
    assert histogram.percentile(0.25) * 1e9 == pytest.approx(0.0)
    assert histogram.percentile(1.0) * 1e9 == pytest.approx(3.0)


def test_histogram_merge_adds_counts() -> None:
    first, second = LatencyHistogram(), LatencyHistogram()
    for ns in range(1, 1001):
        first.record(ns * 1000)
    for ns in range(1, 501):
        second.record(ns * 7919)
    before = first.percentile(0.99)
    first.merge(second)
    assert first.count == 1500
    assert first.max_ns == max(1000 * 1000, 500 * 7919)
    assert first.percentile(0.99) >= before


def test_runtime_metrics_dict_has_prometheus_names() -> None:
    metrics = RuntimeMetrics()
    metrics.processed = 7
    for ns in (1000, 2000, 4000):
        metrics.latency.record(ns)
    snapshot = metrics.as_dict()
    assert snapshot["statechartx_events_processed_total"] == 7
    assert snapshot["statechartx_event_latency_count"] == 3
    assert snapshot["statechartx_event_latency_seconds_max"] == pytest.approx(4e-6)
    assert all(key.startswith("statechartx_") for key in snapshot)


# ----------------------------------------------------------------------
# Runtime metrics


@pytest.mark.timeout(30)
def test_runtime_counters_match_own_counts() -> None:
    data: dict[str, Any] = {"log": []}
    sent = 10_000
    with Runtime(counting_machine(), name="metrics-counts", data=data) as rt:
        for _ in range(sent):
            rt.send("e")
        # Unhandled events are processed too, so they count.
        for _ in range(100):
            rt.send("nothing-handles-this")
        assert rt.wait_idle(WAIT)
        metrics = rt.metrics
    assert len(data["log"]) == sent
    assert metrics["statechartx_events_processed_total"] == sent + 100
    assert metrics["statechartx_event_latency_count"] == sent + 100
    assert metrics["statechartx_events_rejected_total"] == 0
    assert metrics["statechartx_events_dropped_total"] == 0
    assert metrics["statechartx_mailbox_depth"] == 0
    # Mailbox depth is sampled once every 64 events, so it cannot exceed
    # what was sent.
    assert 0 <= metrics["statechartx_mailbox_depth_max"] <= sent + 100
    # The macrostep histogram samples one event in 64.
    assert metrics["statechartx_macrostep_count"] == (sent + 100) // 64


@pytest.mark.timeout(30)
def test_runtime_latency_percentiles_are_monotone() -> None:
    with Runtime(counting_machine(), name="metrics-monotone", data={"log": []}) as rt:
        for _ in range(5000):
            rt.send("e")
        rt.call("e", timeout=WAIT)
        assert rt.wait_idle(WAIT)
        metrics = rt.metrics
    for prefix in ("statechartx_event_latency", "statechartx_macrostep"):
        p50 = metrics[f"{prefix}_seconds_p50"]
        p95 = metrics[f"{prefix}_seconds_p95"]
        p99 = metrics[f"{prefix}_seconds_p99"]
        maximum = metrics[f"{prefix}_seconds_max"]
        assert 0.0 < p50 <= p95 <= p99 <= maximum, prefix
    assert metrics["statechartx_event_latency_count"] == 5001


@pytest.mark.timeout(30)
def test_sent_total_counts_only_events() -> None:
    with Runtime(counting_machine(), name="metrics-sent", data={"log": []}) as rt:
        for _ in range(10):
            rt.send("e")
        rt.call("e", timeout=WAIT)
        assert rt.wait_idle(WAIT)
        metrics = rt.metrics
    assert metrics["statechartx_events_processed_total"] == 11
    assert metrics["statechartx_events_sent_total"] == 11
    # wait_idle's request went through the mailbox (a call counts as an event).
    assert metrics["statechartx_requests_total"] >= 1
    assert metrics["statechartx_events_sent_total"] == (
        metrics["statechartx_events_processed_total"]
        + metrics["statechartx_events_rejected_total"]
        + metrics["statechartx_events_dropped_total"]
        + metrics["statechartx_mailbox_depth"]
    )


@pytest.mark.timeout(30)
def test_transitions_and_errors_are_counted() -> None:
    def broken(ctx: Any) -> None:
        raise ValueError("broken action")

    machine = Machine(
        State(
            "top",
            initial="a",
            children=[
                State("a", transitions=[Transition("go", target="b"), Transition("fail", action=broken)]),
                State("b", transitions=[Transition("go", target="a")]),
            ],
        )
    )
    with Runtime(machine, name="metrics-transitions") as rt:
        for _ in range(10):
            rt.send("go")
        rt.send("fail")
        assert rt.wait_idle(WAIT)
        metrics = rt.metrics
    # Counted per microstep: the initial entry, ten "go" and one "fail".
    assert metrics["statechartx_transitions_total"] == 1 + 10 + 1
    assert metrics["statechartx_errors_total"] == 1


@pytest.mark.timeout(30)
def test_metrics_read_while_events_flow() -> None:
    stop = threading.Event()
    problems: list[str] = []
    snapshots = [0]

    def reader(rt: Runtime) -> None:
        last = 0
        while not stop.is_set():
            metrics = rt.metrics
            processed = metrics["statechartx_events_processed_total"]
            if processed < last:
                problems.append(f"processed went back from {last} to {processed}")
            last = processed
            p = [metrics[f"statechartx_event_latency_seconds_{q}"] for q in ("p50", "p95", "p99", "max")]
            if not p[0] <= p[1] <= p[2]:
                problems.append(f"percentiles not monotone: {p}")
            snapshots[0] += 1

    with Runtime(counting_machine(), name="metrics-live", data={"log": []}) as rt:
        thread = threading.Thread(target=reader, args=(rt,))
        thread.start()
        try:
            for _ in range(50_000):
                rt.send("e")
            assert rt.wait_idle(WAIT * 3)
        finally:
            stop.set()
            thread.join(WAIT)
    assert not thread.is_alive()
    assert problems == []
    assert snapshots[0] > 0


@pytest.mark.timeout(30)
def test_metrics_json_parses() -> None:
    with Runtime(counting_machine(), name="metrics-json", data={"log": []}) as rt:
        for _ in range(100):
            rt.send("e")
        assert rt.wait_idle(WAIT)
        text = rt.metrics_json()
        metrics = rt.metrics
    parsed = json.loads(text)
    assert parsed["statechartx_events_processed_total"] == 100
    assert set(parsed) == set(metrics)
    assert list(parsed) == sorted(parsed)
    assert json.loads(to_json({"b": 1, "a": 2.5})) == {"a": 2.5, "b": 1}


# ----------------------------------------------------------------------
# aggregate


def test_aggregate_sums_counters_and_takes_maxima() -> None:
    snapshots = [
        {
            "statechartx_events_processed_total": 10,
            "statechartx_events_sent_total": 12,
            "statechartx_mailbox_depth": 2,
            "statechartx_mailbox_depth_max": 5,
            "statechartx_event_latency_seconds_max": 0.5,
            "statechartx_event_latency_seconds_p99": 0.4,
            "name": "first",
        },
        {
            "statechartx_events_processed_total": 3,
            "statechartx_events_sent_total": 3,
            "statechartx_mailbox_depth": 0,
            "statechartx_mailbox_depth_max": 9,
            "statechartx_event_latency_seconds_max": 0.25,
            "statechartx_event_latency_seconds_p99": 0.2,
            "name": "second",
        },
    ]
    result = aggregate(snapshots)
    assert result["statechartx_runtimes"] == 2
    assert result["statechartx_events_processed_total"] == 13
    assert result["statechartx_events_sent_total"] == 15
    assert result["statechartx_mailbox_depth"] == 2
    assert result["statechartx_mailbox_depth_max"] == 9
    assert result["statechartx_event_latency_seconds_max"] == 0.5
    # Percentiles cannot be summed; they are left out.
    assert "statechartx_event_latency_seconds_p99" not in result
    assert "name" not in result


def test_aggregate_of_nothing() -> None:
    assert aggregate([]) == {"statechartx_runtimes": 0}


@pytest.mark.timeout(60)
def test_aggregate_of_runtimes_sums_their_counts() -> None:
    runtimes = [
        Runtime(counting_machine(), name=f"metrics-agg-{i}", data={"log": []}).start()
        for i in range(4)
    ]
    try:
        for i, rt in enumerate(runtimes):
            for _ in range(100 * (i + 1)):
                rt.send("e")
        for rt in runtimes:
            assert rt.wait_idle(WAIT)
        total = aggregate([rt.metrics for rt in runtimes])
    finally:
        for rt in runtimes:
            rt.stop()
    assert total["statechartx_runtimes"] == 4
    assert total["statechartx_events_processed_total"] == 100 + 200 + 300 + 400


@pytest.mark.timeout(60)
def test_aggregate_does_not_multiply_process_wide_gc_totals() -> None:
    import gc

    runtimes = [
        Runtime(counting_machine(), name=f"metrics-gc-{i}", data={"log": []}).start()
        for i in range(3)
    ]
    try:
        gc.collect()
        snapshots = [rt.metrics for rt in runtimes]
    finally:
        for rt in runtimes:
            rt.stop()
    collections = snapshots[0]["statechartx_gc_collections_total"]
    assert collections > 0
    assert aggregate(snapshots)["statechartx_gc_collections_total"] == collections
