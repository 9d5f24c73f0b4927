"""Prometheus metrics of the reference backend, on a registry of its own."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
SLOW = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30, 60, 120)


@dataclass
class BackendMetrics:
    """Every metric the backend serves on ``/metrics`` (process CPU and RSS included)."""

    registry: CollectorRegistry
    http_seconds: Histogram
    sse_connections: Gauge
    sse_queue_depth: Gauge
    sse_slow_consumers_dropped: Counter
    runs: Counter
    runs_active: Gauge
    time_to_first_event: Histogram
    time_to_first_token: Histogram
    run_seconds: Histogram
    llm_seconds: Histogram
    llm_errors: Counter
    llm_rate_limited: Counter
    llm_retries: Counter
    tool_seconds: Histogram
    a2a_seconds: Histogram
    db_pool_in_use: Gauge
    db_pool_waiting: Gauge
    db_query_seconds: Histogram
    db_errors: Counter
    audit_write_seconds: Histogram

    @classmethod
    def create(cls) -> BackendMetrics:
        """A fresh registry with process, platform and GC collectors and the backend's metrics."""
        r = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        return cls(
            registry=r,
            http_seconds=Histogram("agent_http_request_duration_seconds", "HTTP request latency (to headers for "
                                   "streams)", ["route", "method", "status"], buckets=SLOW, registry=r),
            sse_connections=Gauge("agent_sse_connections", "Open SSE streams", ["transport"], registry=r),
            sse_queue_depth=Gauge("agent_sse_queue_depth", "Events waiting in SSE connection queues", registry=r),
            sse_slow_consumers_dropped=Counter("agent_sse_slow_consumers_dropped_total",
                                               "Session streams closed because their queue was full", registry=r),
            runs=Counter("agent_runs_total", "Runs by transport and outcome", ["transport", "outcome"], registry=r),
            runs_active=Gauge("agent_runs_active", "Runs in progress", registry=r),
            time_to_first_event=Histogram("agent_time_to_first_event_seconds",
                                          "Turn received to first AG-UI event sent", buckets=SLOW, registry=r),
            time_to_first_token=Histogram("agent_time_to_first_token_seconds",
                                          "Turn received to first answer token sent", buckets=SLOW, registry=r),
            run_seconds=Histogram("agent_run_duration_seconds", "Turn received to RUN_FINISHED/RUN_ERROR",
                                  buckets=SLOW, registry=r),
            llm_seconds=Histogram("agent_llm_request_duration_seconds", "One LLM call, request to end of stream",
                                  buckets=SLOW, registry=r),
            llm_errors=Counter("agent_llm_errors_total", "Failed LLM attempts by kind", ["kind"], registry=r),
            llm_rate_limited=Counter("agent_llm_rate_limited_total", "LLM answers with HTTP 429", registry=r),
            llm_retries=Counter("agent_llm_retries_total", "LLM attempts after the first", registry=r),
            tool_seconds=Histogram("agent_tool_call_duration_seconds", "MCP tool call latency", ["tool", "outcome"],
                                   buckets=SLOW, registry=r),
            a2a_seconds=Histogram("agent_a2a_call_duration_seconds", "A2A delegation latency", ["agent", "outcome"],
                                  buckets=SLOW, registry=r),
            db_pool_in_use=Gauge("agent_db_pool_in_use", "Database connections handed out", registry=r),
            db_pool_waiting=Gauge("agent_db_pool_waiting", "Tasks waiting for a database connection", registry=r),
            db_query_seconds=Histogram("agent_db_query_duration_seconds", "Database statement latency",
                                       ["operation"], buckets=FAST, registry=r),
            db_errors=Counter("agent_db_errors_total", "Failed database operations", ["operation"], registry=r),
            audit_write_seconds=Histogram("agent_audit_write_duration_seconds", "Audit log write latency",
                                          buckets=FAST, registry=r),
        )
