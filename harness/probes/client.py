"""Client-side probes: the load's own measurements (time to the first response event, failed turns)."""

from __future__ import annotations

from typing import Any

from chaoslib.exceptions import ActivityFailed

from harness.probes.prom import in_warmup, not_judged, verdict
from harness.values import number

__all__ = ["client_failure_ratio", "client_latency"]

QUANTILES = ("p50", "p95", "p99")


def _recent(configuration: dict[str, Any] | None) -> dict[str, Any]:
    from harness.load.probes import load_figures

    return load_figures(configuration=configuration)["recent"]


def client_latency(max_ms: float, metric: str = "first_response_ms", quantile: str = "p95", min_turns: int = 5,
                   warmup_s: float = 0, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """The load's ``metric`` (``first_response_ms``, ``turn_ms``, ...) at ``quantile`` over its recent window
    must stay ≤ ``max_ms``; measured by the clients as events arrive. Not judged during the warm-up."""
    if quantile not in QUANTILES:
        raise ActivityFailed(f"quantile {quantile!r}: use one of {', '.join(QUANTILES)}")
    limit = number("max_ms", max_ms)
    if in_warmup(configuration, warmup_s):
        return not_judged(f"warm-up ({warmup_s}s): client latency not judged yet")
    figures = _recent(configuration).get(metric)
    if figures is None:
        raise ActivityFailed(f"the load does not measure {metric!r}")
    if figures["count"] < min_turns or figures[quantile] is None:
        raise ActivityFailed(f"inconclusive: only {figures['count']} turns measured {metric} recently "
                             f"(need {min_turns}); is the load reaching the backend?")
    value = float(figures[quantile])
    return verdict(value <= limit, value, limit, "ms",
                   f"clients' {quantile} {metric} is {value:.0f} ms over the recent window (limit {limit:g} ms)",
                   turns=figures["count"])


def client_failure_ratio(max_ratio: float, min_operations: int = 5, warmup_s: float = 0,
                         configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Failed turns and broken streams over all the clients' operations in the recent window ≤ ``max_ratio``."""
    limit = number("max_ratio", max_ratio)
    if in_warmup(configuration, warmup_s):
        return not_judged(f"warm-up ({warmup_s}s): client failures not judged yet")
    recent = _recent(configuration)
    operations = recent["turns"] + recent["idle_holds"]
    if operations < min_operations:
        raise ActivityFailed(f"inconclusive: only {operations} client operations recently (need {min_operations})")
    ratio = recent["failures"] / operations
    return verdict(ratio <= limit, ratio, limit, "ratio",
                   f"{ratio:.2%} of the clients' recent operations failed (limit {limit:.2%})",
                   failures_by_kind=recent.get("failures_by_kind"))
