"""The Prometheus collector and exporter, scraped over loopback HTTP."""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip(
    "prometheus_client", reason="prometheus_client not installed (statechartx[prometheus])"
)

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from statechartx import Machine, State, Transition  # noqa: E402
from statechartx.actors import Supervisor  # noqa: E402
from statechartx.prometheus import (  # noqa: E402
    RuntimeCollector,
    build_label,
    start_exporter,
)
from statechartx.runtime import Runtime  # noqa: E402


SCRAPE_TIMEOUT = 10.0


def ping_pong() -> Machine:
    return Machine(
        State(
            "root",
            initial="ping",
            children=[
                State("ping", transitions=[Transition(event="go", target="pong")]),
                State("pong", transitions=[Transition(event="go", target="ping")]),
            ],
        )
    )


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    with Supervisor("prometheus-test") as sup:
        yield sup


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics from the loopback exporter and index samples by name and labels."""
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT) as response:
        assert response.status == 200
        text = response.read().decode("utf-8")
    return index_samples(text)


def index_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in samples, f"duplicate sample {key}"
            samples[key] = sample.value
    return samples


def labels(runtime: str | None = None, **extra: str) -> tuple[tuple[str, str], ...]:
    values = {"build": build_label(), **extra}
    if runtime is not None:
        values["runtime"] = runtime
    return tuple(sorted(values.items()))


def family_types(text: str) -> dict[str, str]:
    return {family.name: family.type for family in text_string_to_metric_families(text)}


@pytest.mark.timeout(60)
def test_exporter_matches_runtime_counters(supervisor: Supervisor) -> None:
    machine = ping_pong()
    sent = {"alpha": 120, "beta": 45}
    runtimes = {
        name: Runtime(machine, name=name, supervisor=supervisor).start() for name in sent
    }
    for name, count in sent.items():
        for _ in range(count):
            runtimes[name].send("go")
    for runtime in runtimes.values():
        assert runtime.wait_idle(timeout=20.0)

    registry = CollectorRegistry()
    registry.register(RuntimeCollector(supervisor))
    port, stop = start_exporter(port=0, addr="127.0.0.1", registry=registry)
    try:
        assert port > 0
        samples = scrape(port)
    finally:
        stop()

    for name, count in sent.items():
        own = runtimes[name].metrics
        assert own["statechartx_events_processed_total"] == count
        for key in (
            "statechartx_events_sent_total",
            "statechartx_events_processed_total",
            "statechartx_events_rejected_total",
            "statechartx_events_dropped_total",
            "statechartx_transitions_total",
            "statechartx_errors_total",
            "statechartx_mailbox_depth",
            "statechartx_mailbox_depth_max",
        ):
            assert samples[(key, labels(name))] == own[key], (name, key)
        latency = "statechartx_event_latency_seconds"
        assert samples[(f"{latency}_count", labels(name))] == count
        for quantile, suffix in (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99")):
            value = samples[(latency, labels(name, quantile=quantile))]
            assert value == pytest.approx(own[f"{latency}_{suffix}"]), (name, quantile)
        assert samples[(f"{latency}_max", labels(name))] == own[f"{latency}_max"]

    # Process-wide figures are exported once, without a runtime label.
    assert ("statechartx_gc_collections_total", labels()) in samples
    for name in sent:
        assert ("statechartx_gc_collections_total", labels(name)) not in samples


@pytest.mark.timeout(60)
def test_exporter_stop_releases_port() -> None:
    registry = CollectorRegistry()
    port, stop = start_exporter(port=0, registry=registry)
    stop()
    stop()  # a second stop does nothing
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2.0)


@pytest.mark.timeout(60)
def test_collector_metric_types(supervisor: Supervisor) -> None:
    runtime = Runtime(ping_pong(), name="typed", supervisor=supervisor).start()
    runtime.send("go")
    assert runtime.wait_idle(timeout=20.0)
    registry = CollectorRegistry()
    registry.register(RuntimeCollector(runtime))
    text = generate_latest(registry).decode("utf-8")
    types = family_types(text)

    assert types["statechartx_events_processed"] == "counter"
    assert types["statechartx_events_sent"] == "counter"
    assert types["statechartx_mailbox_depth"] == "gauge"
    assert types["statechartx_mailbox_depth_max"] == "gauge"
    assert types["statechartx_event_latency_seconds"] == "summary"
    assert types["statechartx_macrostep_seconds"] == "summary"
    assert types["statechartx_event_latency_seconds_max"] == "gauge"
    assert "statechartx_events_processed_total{" in text


@pytest.mark.timeout(60)
def test_collector_follows_list_and_skips_duplicates(supervisor: Supervisor) -> None:
    machine = ping_pong()
    watched: list[Any] = [Runtime(machine, name="one", supervisor=supervisor).start()]
    registry = CollectorRegistry()
    registry.register(RuntimeCollector(watched))
    first = index_samples(generate_latest(registry).decode("utf-8"))
    assert ("statechartx_events_processed_total", labels("one")) in first
    assert ("statechartx_events_processed_total", labels("two")) not in first

    watched.append(Runtime(machine, name="two", supervisor=supervisor).start())
    watched.append(Runtime(machine, name="two", supervisor=supervisor).start())
    second = index_samples(generate_latest(registry).decode("utf-8"))
    assert ("statechartx_events_processed_total", labels("two")) in second


def test_collector_rejects_unknown_source() -> None:
    with pytest.raises(TypeError, match="Runtime, a Supervisor"):
        RuntimeCollector(42)


def test_build_label_matches_gil_state() -> None:
    gil_enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    assert build_label() == ("gil" if gil_enabled else "freethreaded")
