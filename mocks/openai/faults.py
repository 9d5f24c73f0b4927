"""Fault types the OpenAI stub understands, in the shared fault model."""

from __future__ import annotations

from pydantic import Field, model_validator

from mocks.common.faults import ErrorAttributes, FaultCatalog, FaultType, NoAttributes, StrictAttributes


class FirstTokenLatency(StrictAttributes):
    """Delay before the first chunk (or the whole body when not streaming)."""

    ttft_ms: float = Field(ge=0, le=600_000)
    jitter_ms: float = Field(default=0, ge=0, le=600_000)


class SlowStream(StrictAttributes):
    """Pace between chunks: ``inter_token_ms`` or ``tokens_per_s`` (exactly one)."""

    inter_token_ms: float | None = Field(default=None, ge=0, le=60_000)
    tokens_per_s: float | None = Field(default=None, gt=0, le=1_000_000)

    @model_validator(mode="after")
    def _exactly_one(self) -> SlowStream:
        if (self.inter_token_ms is None) == (self.tokens_per_s is None):
            raise ValueError("give exactly one of inter_token_ms or tokens_per_s")
        return self

    @property
    def delay_s(self) -> float:
        """Seconds between two chunks."""
        if self.tokens_per_s is not None:
            return 1.0 / self.tokens_per_s
        return (self.inter_token_ms or 0.0) / 1000.0


class RateLimit(StrictAttributes):
    """429s: a fraction ``rate`` of requests, and/or a provider-like token bucket (``rpm``, ``tpm``)."""

    rate: float | None = Field(default=None, ge=0, le=1)
    retry_after_s: float = Field(default=1.0, ge=0, le=3600)
    rpm: int | None = Field(default=None, gt=0, le=10_000_000)
    tpm: int | None = Field(default=None, gt=0, le=1_000_000_000)

    @property
    def effective_rate(self) -> float:
        """Probability of a random 429: ``rate``, or 1 when neither rate nor a bucket is given."""
        if self.rate is not None:
            return self.rate
        return 0.0 if (self.rpm or self.tpm) else 1.0


class AfterChunks(StrictAttributes):
    """Where in the stream a fault strikes: after this many chunks."""

    after_chunks: int = Field(default=3, ge=0, le=1_000_000)


class TruncateToolCall(StrictAttributes):
    """Cut tool-call arguments mid-JSON, keeping this fraction of their characters."""

    keep_fraction: float = Field(default=0.5, ge=0, lt=1)


class ServerError(ErrorAttributes):
    """An HTTP 5xx (500, 502 or 503 typically) for a fraction ``rate`` of requests."""


OPENAI_FAULTS = FaultCatalog(
    [
        FaultType("latency", FirstTokenLatency, "time to first chunk: ttft_ms ± jitter_ms"),
        FaultType("slow_stream", SlowStream, "pace of the stream: inter_token_ms or tokens_per_s"),
        FaultType("error", ServerError, "HTTP error `status` for a fraction `rate` of requests"),
        FaultType("rate_limit", RateLimit,
                  "429 with Retry-After and x-ratelimit-* headers: random `rate` and/or rpm/tpm token buckets"),
        FaultType("disconnect", AfterChunks, "the connection is cut after `after_chunks` chunks"),
        FaultType("stall", AfterChunks, "the stream goes silent after `after_chunks` chunks until the fault ends"),
        FaultType("truncate_tool_call", TruncateToolCall, "tool-call arguments cut mid-JSON"),
        FaultType("omit_done", NoAttributes, "the stream ends without `data: [DONE]`"),
    ],
    scope_keys=("model", "test_id"),
)
