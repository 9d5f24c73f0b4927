"""Prometheus metrics of the A2A mock (all on the mock's own registry, prefix ``mock_a2a_``)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

TASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


@dataclass(frozen=True)
class A2AMetrics:
    """The mock's own metrics; process and fault metrics come from ``mocks.common.metrics``."""

    requests: Counter
    faults_applied: Counter
    tasks: Counter
    task_duration: Histogram
    active_tasks: Gauge
    active_streams: Gauge
    stored_tasks: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry) -> A2AMetrics:
        """Create every metric on ``registry``."""
        return cls(
            requests=Counter("mock_a2a_requests",
                             "JSON-RPC requests by method (unknown, invalid or too_large when unusable) and "
                             "outcome (ok, rpc_error, injected_error)", ["method", "outcome"], registry=registry),
            faults_applied=Counter("mock_a2a_faults_applied", "Faults that acted on a request or task, by type",
                                   ["type"], registry=registry),
            tasks=Counter("mock_a2a_tasks", "Tasks finished, by final A2A state", ["state"], registry=registry),
            task_duration=Histogram("mock_a2a_task_duration_seconds",
                                    "Time from a task starting to its final state", ["state"],
                                    buckets=TASK_BUCKETS, registry=registry),
            active_tasks=Gauge("mock_a2a_active_tasks", "Tasks being processed now", registry=registry),
            active_streams=Gauge("mock_a2a_active_streams", "Open SSE streams (message/stream and friends)",
                                 registry=registry),
            stored_tasks=Gauge("mock_a2a_stored_tasks", "Tasks held in the in-memory task store",
                               registry=registry),
        )
