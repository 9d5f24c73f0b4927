"""Provider-like rate limiting for the ``rate_limit`` fault: random 429s and rpm/tpm token buckets.

Headers follow OpenAI's: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``, ``Retry-After``
in whole seconds and ``retry-after-ms`` (which the official client prefers).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mocks.openai.faults import RateLimit


def format_reset(seconds: float) -> str:
    """OpenAI's reset duration format: ``20ms``, ``1s``, ``6m0s``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s" if minutes else f"{rest:.3g}s"


@dataclass
class TokenBucket:
    """A bucket holding up to ``capacity`` that refills fully in one minute."""

    capacity: float
    level: float
    updated: float

    def refill(self, now: float) -> None:
        """Add what a minute's rate has refilled since the last call."""
        self.level = min(self.capacity, self.level + (now - self.updated) * self.capacity / 60.0)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` is available (0 when it is now)."""
        missing = min(amount, self.capacity) - self.level
        return 0.0 if missing <= 0 else missing * 60.0 / self.capacity

    def reset_s(self) -> float:
        """Seconds until the bucket is full again."""
        return (self.capacity - self.level) * 60.0 / self.capacity


@dataclass
class Decision:
    """The outcome of a rate-limit check: allowed, or a 429 with its wait and headers."""

    allowed: bool
    retry_after_s: float = 0.0
    limit_kind: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FaultBuckets:
    """The request and token buckets of one ``rate_limit`` fault."""

    requests: TokenBucket | None
    tokens: TokenBucket | None


class RateLimiter:
    """Token buckets per active ``rate_limit`` fault, created on first use."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None) -> None:
        self._clock = clock
        self._rng = rng or random.Random()
        self._buckets: dict[str, FaultBuckets] = {}

    def forget_except(self, live_fault_ids: set[str]) -> None:
        """Drop the buckets of faults that are no longer active."""
        for fault_id in set(self._buckets) - live_fault_ids:
            del self._buckets[fault_id]

    def check(self, fault_id: str, limits: RateLimit, cost_tokens: int) -> Decision:
        """Take one request and ``cost_tokens`` tokens, or explain why not."""
        now = self._clock()
        buckets = self._buckets.setdefault(fault_id, FaultBuckets(
            requests=TokenBucket(limits.rpm, limits.rpm, now) if limits.rpm else None,
            tokens=TokenBucket(limits.tpm, limits.tpm, now) if limits.tpm else None))
        for bucket in (buckets.requests, buckets.tokens):
            if bucket is not None:
                bucket.refill(now)
        wait_requests = buckets.requests.wait_for(1) if buckets.requests else 0.0
        wait_tokens = buckets.tokens.wait_for(cost_tokens) if buckets.tokens else 0.0
        if wait_requests or wait_tokens:
            kind = "requests" if wait_requests >= wait_tokens else "tokens"
            decision = Decision(False, max(wait_requests, wait_tokens), kind)
        elif self._rng.random() < limits.effective_rate:
            decision = Decision(False, limits.retry_after_s, "requests")
        else:
            if buckets.requests:
                buckets.requests.level -= 1
            if buckets.tokens:
                buckets.tokens.level -= min(cost_tokens, buckets.tokens.capacity)
            decision = Decision(True)
        decision.headers = self._headers(buckets, decision)
        return decision

    @staticmethod
    def _headers(buckets: FaultBuckets, decision: Decision) -> dict[str, str]:
        headers: dict[str, str] = {}
        for kind, bucket in (("requests", buckets.requests), ("tokens", buckets.tokens)):
            if bucket is not None:
                headers[f"x-ratelimit-limit-{kind}"] = str(int(bucket.capacity))
                headers[f"x-ratelimit-remaining-{kind}"] = str(max(0, math.floor(bucket.level)))
                headers[f"x-ratelimit-reset-{kind}"] = format_reset(bucket.reset_s())
        if not decision.allowed:
            headers["retry-after"] = str(max(1, math.ceil(decision.retry_after_s)))
            headers["retry-after-ms"] = str(round(decision.retry_after_s * 1000))
        return headers
