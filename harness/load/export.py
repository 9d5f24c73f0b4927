"""Client-side load metrics for Prometheus, served by the Locust master (or the standalone process).

Cardinality is bounded by construction: ``scenario`` is one of six names, ``kind`` one of the fixed failure
kinds, ``outcome`` ``ok``/``failed``; nothing per user, thread or error message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from harness.load.figures import Figures

PREFIX = "harness_load"
HISTOGRAMS = {
    "first_event_ms": ("first_event_seconds", "Time from sending a user message to the run's first AG-UI event."),
    "first_response_ms": ("first_response_seconds",
                          "Time to the first response event (TEXT_MESSAGE_* or TOOL_CALL_START by default)."),
    "first_token_ms": ("first_token_seconds", "Time to the first answer token (TEXT_MESSAGE_CONTENT)."),
    "turn_ms": ("turn_seconds", "Time from sending a user message to RUN_FINISHED (successful turns)."),
}


@dataclass
class Gauges:
    """Point-in-time values the master knows: open SSE connections (all workers), users, workers."""

    sse_connections: int = 0
    users: int = 0
    workers: int = 0


class LoadCollector(Collector):
    """Turns the master's :class:`Figures` into metric families at scrape time."""

    def __init__(self, figures: Callable[[], Figures], gauges: Callable[[], Gauges]) -> None:
        self._figures = figures
        self._gauges = gauges

    def collect(self) -> Iterator[object]:
        figures = self._figures()
        for key, (name, help_text) in HISTOGRAMS.items():
            family = HistogramMetricFamily(f"{PREFIX}_{name}", help_text, labels=["scenario"])
            for scenario, fig in figures.scenarios.items():
                buckets, total = fig.histograms[key].prometheus()
                family.add_metric([scenario], buckets, total)
            yield family
        turns = CounterMetricFamily(f"{PREFIX}_turns", "Turns by outcome.", labels=["scenario", "outcome"])
        failures = CounterMetricFamily(f"{PREFIX}_failures", "Failures by kind (turns, idle holds, stream opens).",
                                       labels=["scenario", "kind"])
        events = CounterMetricFamily(f"{PREFIX}_events", "AG-UI events received in turns.", labels=["scenario"])
        received = CounterMetricFamily(f"{PREFIX}_received_bytes", "SSE bytes received.", labels=["scenario"])
        holds = CounterMetricFamily(f"{PREFIX}_idle_holds", "Idle SSE holds completed or broken.",
                                    labels=["scenario"])
        for scenario, fig in figures.scenarios.items():
            turns.add_metric([scenario, "ok"], fig.turns - fig.turns_failed)
            turns.add_metric([scenario, "failed"], fig.turns_failed)
            for kind, n in fig.failures.items():
                if n:
                    failures.add_metric([scenario, kind], n)
            events.add_metric([scenario], fig.events)
            received.add_metric([scenario], fig.bytes)
            holds.add_metric([scenario], fig.holds)
        yield from (turns, failures, events, received, holds)
        gauges = self._gauges()
        yield GaugeMetricFamily(f"{PREFIX}_sse_connections", "Open SSE connections held by the load.",
                                value=gauges.sse_connections)
        yield GaugeMetricFamily(f"{PREFIX}_users", "Running Locust users.", value=gauges.users)
        yield GaugeMetricFamily(f"{PREFIX}_workers", "Connected Locust workers (0 when standalone).",
                                value=gauges.workers)


def registry_for(collector: LoadCollector, *, process_metrics: bool = True) -> CollectorRegistry:
    """A registry with the load collector (and this process's CPU/RSS, for the master's own footprint)."""
    from prometheus_client import ProcessCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    if process_metrics:
        ProcessCollector(registry=registry)
    return registry
