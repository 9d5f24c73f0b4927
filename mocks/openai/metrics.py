"""Prometheus metrics of the OpenAI stub, as served (not as any client sees them)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60)


@dataclass
class OpenAIMetrics:
    """Requests by status, time to first chunk, stream duration, tokens, active streams, 429s."""

    requests: Counter
    time_to_first_chunk: Histogram
    stream_duration: Histogram
    tokens_streamed: Counter
    active_streams: Gauge
    faults_applied: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> OpenAIMetrics:
        """Register the stub's metrics on ``registry``."""
        return cls(
            requests=Counter("mock_openai_requests_total", "Chat/model requests by route and status",
                             ["route", "status"], registry=registry),
            time_to_first_chunk=Histogram("mock_openai_time_to_first_chunk_seconds",
                                          "Time from request to the first streamed chunk",
                                          buckets=LATENCY_BUCKETS, registry=registry),
            stream_duration=Histogram("mock_openai_stream_duration_seconds",
                                      "Time from request to the end of a stream",
                                      buckets=LATENCY_BUCKETS, registry=registry),
            tokens_streamed=Counter("mock_openai_tokens_streamed_total",
                                    "Completion tokens sent (streamed or not)", registry=registry),
            active_streams=Gauge("mock_openai_active_streams", "Streams open right now", registry=registry),
            faults_applied=Counter("mock_openai_faults_applied_total", "Requests a fault acted on, by type",
                                   ["type"], registry=registry),
        )
