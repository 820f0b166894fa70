"""Prometheus export of runtime metrics (the ``statechartx[prometheus]`` extra).

``RuntimeCollector`` turns the ``Runtime.metrics`` snapshot of every runtime
it watches into Prometheus metric families at scrape time. Nothing is
recorded twice, and no runtime pays for the export between scrapes.
``start_exporter`` serves a registry over HTTP on a loopback address.

Every sample carries the labels ``runtime`` (the runtime's name) and
``build`` ("gil", or "freethreaded" when the interpreter runs with the GIL
disabled). The garbage-collector figures are process-wide, so they are
exported once per scrape with the ``build`` label only; repeating them per
runtime would make ``sum()`` over runtimes count every collection several
times. docs/observability.md lists every name.

    from statechartx.prometheus import RuntimeCollector, start_exporter
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(RuntimeCollector(supervisor))
    port, stop = start_exporter(9464, registry=registry)
"""

from __future__ import annotations

import logging
import math
import socket
import sys
import threading
from collections.abc import Callable, Collection, Iterator
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

try:
    from prometheus_client import REGISTRY, make_wsgi_app
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import CollectorRegistry
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "statechartx.prometheus needs the prometheus_client package; install "
        "it with: pip install 'statechartx[prometheus]'"
    ) from error

from .actors import Supervisor

if TYPE_CHECKING:
    from .runtime import Runtime

__all__ = ["RuntimeCollector", "start_exporter", "build_label"]

logger = logging.getLogger("statechartx.prometheus")

PREFIX = "statechartx_"

# Latency histograms exported as summaries: the snapshot key prefix, the
# summary's name, and its help text.
_SUMMARIES = (
    (
        "statechartx_event_latency",
        "statechartx_event_latency_seconds",
        "Time from Runtime.send to the end of the event's macrostep, in seconds.",
    ),
    (
        "statechartx_macrostep",
        "statechartx_macrostep_seconds",
        "Duration of one macrostep in seconds, sampled on 1 event in 64.",
    ),
)
_QUANTILES = (("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99"))

# Process-wide figures: exported once, without the runtime label.
_PROCESS_KEYS = frozenset(
    {
        "statechartx_gc_collections_total",
        "statechartx_gc_pause_seconds_total",
        "statechartx_gc_pause_seconds_max",
        "statechartx_gc_pause_seconds_p99",
    }
)

_HELP = {
    "statechartx_events_sent_total": "Messages appended to the runtime's mailbox "
    "(events, and call/wait_idle/transition_to requests).",
    "statechartx_events_processed_total": "Events whose macrostep has run.",
    "statechartx_events_rejected_total": "Events rejected by a full mailbox (MailboxFull).",
    "statechartx_events_dropped_total": "Events dropped by the drop_oldest mailbox policy.",
    "statechartx_transitions_total": "Transitions taken by the interpreter.",
    "statechartx_errors_total": "error.execution events raised by guards and actions.",
    "statechartx_mailbox_depth": "Messages waiting in the mailbox now.",
    "statechartx_mailbox_depth_max": "Largest mailbox depth seen (sampled on 1 event in 64).",
    "statechartx_uptime_seconds": "Seconds since the runtime's metrics were created.",
    "statechartx_gc_collections_total": "Cyclic garbage collections in this process "
    "since the first runtime started.",
    "statechartx_gc_pause_seconds_total": "Time spent in cyclic garbage collections, in seconds.",
    "statechartx_gc_pause_seconds_max": "Longest garbage-collection pause, in seconds.",
    "statechartx_gc_pause_seconds_p99": "99th percentile of garbage-collection pauses, in seconds.",
}


def build_label() -> str:
    """Return "freethreaded" when this interpreter runs without the GIL, else "gil".

    A free-threaded build re-enables the GIL when it imports an extension
    module that does not declare free-threading support, so the label is
    read at every scrape rather than once.
    """
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    if is_gil_enabled is not None and not is_gil_enabled():
        return "freethreaded"
    return "gil"


RuntimeSource = Any  # a Runtime, a Supervisor, or a collection of them


class RuntimeCollector:
    """A prometheus_client collector over runtimes.

    ``runtimes_or_supervisor`` is a ``Runtime``, a ``Supervisor`` (every
    runtime it or its child supervisors host, found again at each scrape,
    so runtimes started later are included and stopped ones drop out), or a
    collection of either. A collection such as a list is read again at each
    scrape, so runtimes the application appends later are exported too. A
    one-shot iterator is copied once.

    Counters (names ending ``_total``) are exported as counters, latency
    histograms as summaries with ``quantile`` labels 0.5, 0.95 and 0.99
    (plus ``_count`` and ``_sum``) and a ``_max`` gauge, and every other
    figure as a gauge.

    Limitations: runtime names must be unique among the watched runtimes.
    A second runtime with a name already exported in the same scrape is
    left out, with one warning per name. Quantiles come from a log-linear
    histogram, within 19% of the true value.
    """

    def __init__(self, runtimes_or_supervisor: RuntimeSource) -> None:
        source = runtimes_or_supervisor
        if isinstance(source, Iterator):
            source = tuple(source)
        self._source = source
        self._warned_duplicates: set[str] = set()
        # Fail now on an unsupported source rather than at the first scrape.
        list(self._runtimes())

    def describe(self) -> list[Metric]:
        """Return no families, so that registering does not scrape every runtime.

        prometheus_client calls ``collect`` at registration when a collector
        has no ``describe``, to check for duplicate names. With many runtimes
        that is a full scrape, and the families depend on the snapshot keys
        anyway.
        """
        return []

    def collect(self) -> Iterator[Metric]:
        """Yield one metric family per figure, with a sample per runtime."""
        build = build_label()
        families: dict[str, Metric] = {}
        process_snapshot: dict[str, Any] | None = None
        seen: set[str] = set()

        for runtime in self._runtimes():
            name = runtime.name
            if name in seen:
                if name not in self._warned_duplicates:
                    self._warned_duplicates.add(name)
                    logger.warning(
                        "two watched runtimes are named %r; the second is not "
                        "exported. Give runtimes unique names",
                        name,
                    )
                continue
            seen.add(name)
            snapshot = runtime.metrics
            if process_snapshot is None:
                process_snapshot = snapshot
            labels = {"runtime": name, "build": build}
            self._add_runtime_samples(families, snapshot, labels)

        if process_snapshot is not None:
            labels = {"build": build}
            for key in sorted(_PROCESS_KEYS & process_snapshot.keys()):
                _add_sample(families, key, labels, process_snapshot[key])
        yield from families.values()

    def _runtimes(self) -> Iterator[Runtime]:
        yield from _walk(self._source, set())

    @staticmethod
    def _add_runtime_samples(
        families: dict[str, Metric], snapshot: dict[str, Any], labels: dict[str, str]
    ) -> None:
        handled: set[str] = set()
        for key_prefix, name, help_text in _SUMMARIES:
            count = snapshot.get(f"{key_prefix}_count")
            if count is None:
                continue
            family = families.get(name)
            if family is None:
                family = families[name] = Metric(name, help_text, "summary")
            for quantile, suffix in _QUANTILES:
                key = f"{key_prefix}_seconds_{suffix}"
                handled.add(key)
                if key in snapshot:
                    family.add_sample(
                        name, {**labels, "quantile": quantile}, float(snapshot[key])
                    )
            mean = snapshot.get(f"{key_prefix}_seconds_mean", 0.0)
            family.add_sample(f"{name}_count", labels, float(count))
            family.add_sample(f"{name}_sum", labels, float(mean) * float(count))
            handled.update({f"{key_prefix}_count", f"{key_prefix}_seconds_mean"})

        for key, value in snapshot.items():
            if key in handled or key in _PROCESS_KEYS:
                continue
            _add_sample(families, key, labels, value)


def _add_sample(
    families: dict[str, Metric], key: str, labels: dict[str, str], value: Any
) -> None:
    """Add one snapshot figure as a counter or gauge sample; skip non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if not key.startswith(PREFIX) or (isinstance(value, float) and math.isnan(value)):
        return
    if key.endswith("_total"):
        # prometheus_client names a counter family without the suffix and
        # writes the sample as <family>_total.
        family_name = key[: -len("_total")]
        family = families.get(family_name)
        if family is None:
            family = families[family_name] = Metric(
                family_name, _HELP.get(key, key), "counter"
            )
        family.add_sample(key, labels, float(value))
        return
    family = families.get(key)
    if family is None:
        family = families[key] = Metric(key, _HELP.get(key, key), "gauge")
    family.add_sample(key, labels, float(value))


def _walk(source: Any, visited: set[int]) -> Iterator[Runtime]:
    """Yield the runtimes in ``source``: a Runtime, a Supervisor or a collection."""
    from .runtime import Runtime  # noqa: PLC0415 - runtime imports the actor kernel

    if isinstance(source, Runtime):
        yield source
    elif isinstance(source, Supervisor):
        if id(source) in visited:
            return
        visited.add(id(source))
        for child in source.children:
            if isinstance(child, Supervisor):
                yield from _walk(child, visited)
            else:
                # A runtime's actor points back at its runtime; other actors
                # (region actors, user actors) have no metrics of their own.
                runtime = getattr(child, "runtime", None)
                if isinstance(runtime, Runtime):
                    yield runtime
    elif isinstance(source, Collection) and not isinstance(source, (str, bytes)):
        for item in source:
            yield from _walk(item, visited)
    else:
        raise TypeError(
            f"RuntimeCollector watches a Runtime, a Supervisor or a collection "
            f"of them, got {source!r}"
        )


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """A WSGI server that serves each scrape on its own thread."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """Log requests at DEBUG instead of writing each one to stderr."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("exporter: " + format, *args)


def start_exporter(
    port: int = 0,
    addr: str = "127.0.0.1",
    registry: CollectorRegistry | None = None,
) -> tuple[int, Callable[[], None]]:
    """Serve ``registry`` in the Prometheus text format over HTTP.

    ``port=0`` binds a free port. Returns ``(port, stop)``: the bound port
    and a function that shuts the server down, closes its socket and joins
    its thread (within 5 s). ``registry`` defaults to prometheus_client's
    global ``REGISTRY``. The address defaults to loopback; bind another one
    only on a network you trust, since the endpoint has no authentication.

    The server thread is a daemon, as in prometheus_client's own
    ``start_http_server``, so a forgotten exporter does not keep the
    process alive at exit. Call ``stop`` to release the port earlier.
    """
    app = make_wsgi_app(REGISTRY if registry is None else registry)
    server_class: type[_ThreadingWSGIServer] = _ThreadingWSGIServer
    if ":" in addr:
        server_class = type(
            "_ThreadingWSGIServerV6",
            (_ThreadingWSGIServer,),
            {"address_family": socket.AF_INET6},
        )
    try:
        server = make_server(
            addr, port, app, server_class=server_class, handler_class=_QuietHandler
        )
    except OSError as error:
        raise OSError(
            error.errno,
            f"cannot start the Prometheus exporter on {addr}:{port}: "
            f"{error.strerror}; choose another port or port=0 for a free one",
        ) from error
    bound_port = int(server.server_address[1])
    thread = threading.Thread(
        target=server.serve_forever,
        name=f"statechartx-prometheus:{bound_port}",
        daemon=True,
    )
    thread.start()
    logger.info("Prometheus exporter listening on %s:%d", addr, bound_port)
    stopped = threading.Lock()

    def stop() -> None:
        # A second call finds the lock taken and returns at once.
        if not stopped.acquire(blocking=False):
            return
        server.shutdown()
        server.server_close()
        thread.join(5.0)
        if thread.is_alive():
            logger.warning(
                "Prometheus exporter thread on port %d did not end within 5 s",
                bound_port,
            )
        else:
            logger.info("Prometheus exporter on port %d stopped", bound_port)

    return bound_port, stop
