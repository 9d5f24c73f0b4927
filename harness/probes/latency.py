"""Latency probes: a quantile of a Prometheus histogram over a window, against a threshold."""

from __future__ import annotations

from typing import Any

from chaoslib.exceptions import ActivityFailed

from harness.probes.prom import in_warmup, not_judged, scalar, verdict
from harness.values import number

__all__ = ["first_event_latency", "latency_quantile", "turn_latency"]

SERVER_FIRST_EVENT = "agent_time_to_first_event_seconds_bucket"
SERVER_RUN = "agent_run_duration_seconds_bucket"


def latency_quantile(histogram: str, quantile: float, max_ms: float, window_s: int = 60, selector: str = "",
                     warmup_s: float = 0, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """``histogram_quantile`` of any ``*_bucket`` histogram over the last ``window_s`` s must stay ≤ ``max_ms``.

    Not judged during the run's first ``warmup_s`` seconds."""
    quantile, max_ms = number("quantile", quantile), number("max_ms", max_ms)
    if not 0 < quantile < 1:
        raise ActivityFailed(f"quantile must be between 0 and 1 (got {quantile})")
    if in_warmup(configuration, warmup_s):
        return not_judged(f"warm-up ({warmup_s}s): latency not judged yet")
    promql = (f"histogram_quantile({quantile}, sum by (le) (rate({histogram}{{{selector}}}[{int(window_s)}s])))")
    value_ms = scalar(configuration, promql) * 1000
    return verdict(value_ms <= max_ms, value_ms, max_ms, "ms",
                   f"p{round(quantile * 100)} of {histogram} over {window_s}s is {value_ms:.1f} ms "
                   f"(limit {max_ms:g} ms)", query=promql)


def first_event_latency(max_ms: float, quantile: float = 0.95, window_s: int = 60, histogram: str = SERVER_FIRST_EVENT,
                        warmup_s: float = 0, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Time to the first AG-UI event (server side by default; pass the load's histogram for the client side)."""
    return latency_quantile(histogram, quantile, max_ms, window_s, warmup_s=warmup_s, configuration=configuration)


def turn_latency(max_ms: float, quantile: float = 0.95, window_s: int = 60, histogram: str = SERVER_RUN,
                 warmup_s: float = 0, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Time of a whole turn, to RUN_FINISHED/RUN_ERROR (server side by default)."""
    return latency_quantile(histogram, quantile, max_ms, window_s, warmup_s=warmup_s, configuration=configuration)
