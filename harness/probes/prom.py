"""PromQL through ``prometheus-api-client``, with every failure turned into an *inconclusive* verdict."""

from __future__ import annotations

import math
import os
import time
from datetime import UTC, datetime
from typing import Any

from chaoslib.exceptions import ActivityFailed
from prometheus_api_client import PrometheusConnect

from harness.targets import target_url
from harness.values import number

RUN_STARTED_ENV = "HARNESS_RUN_STARTED"


class Inconclusive(ActivityFailed):
    """The probe could not get the data it needs; the hypothesis fails rather than passing silently."""


def verdict(passed: bool, value: float, threshold: float, unit: str, detail: str,
            **figures: Any) -> dict[str, Any]:
    """The result every probe returns: ``verdict`` is ``pass`` or ``fail``."""
    return {"verdict": "pass" if passed else "fail", "value": round(value, 6), "threshold": threshold, "unit": unit,
            "detail": detail, **figures}


def in_warmup(configuration: dict[str, Any] | None, warmup_s: float) -> bool:
    """True during the first ``warmup_s`` seconds of the run, when steady-state is not judged.

    Prometheus must answer even then, so a wrong address fails the first check, not the first judged one.
    """
    started = run_started(configuration)
    if started is None or now() >= started + number("warmup_s", warmup_s):
        return False
    scalar(configuration, "vector(1)")
    return True


def not_judged(reason: str) -> dict[str, Any]:
    """A pass that says it judged nothing, and why (warm-up, no fault yet, ...)."""
    return {"verdict": "pass", "judged": False, "detail": reason}


def client(configuration: dict[str, Any] | None) -> PrometheusConnect:
    return PrometheusConnect(url=target_url(configuration, "prometheus"), disable_ssl=True)


def scalar(configuration: dict[str, Any] | None, promql: str) -> float:
    """One number from an instant query; Inconclusive when there is none (no data, NaN, error)."""
    url = target_url(configuration, "prometheus")
    try:
        result = client(configuration).custom_query(promql)
    except Exception as error:  # connection refused, HTTP errors, bad PromQL
        raise Inconclusive(f"inconclusive: Prometheus at {url} did not answer `{promql}`: {error}") from error
    values = [float(item["value"][1]) for item in result]
    values = [value for value in values if not math.isnan(value)]
    if not values:
        raise Inconclusive(f"inconclusive: no data for `{promql}` at {url} (is the target scraped and loaded?)")
    return sum(values)


def series(configuration: dict[str, Any] | None, promql: str, start: float, end: float,
           step_s: float) -> list[tuple[float, float]]:
    """``(epoch, value)`` samples of a range query summed over series; Inconclusive on error."""
    url = target_url(configuration, "prometheus")
    try:
        result = client(configuration).custom_query_range(
            promql, start_time=datetime.fromtimestamp(start, UTC), end_time=datetime.fromtimestamp(end, UTC),
            step=f"{max(1, round(step_s))}s")
    except Exception as error:
        raise Inconclusive(f"inconclusive: Prometheus at {url} did not answer `{promql}`: {error}") from error
    summed: dict[float, float] = {}
    for item in result:
        for stamp, value in item["values"]:
            if not math.isnan(float(value)):
                summed[float(stamp)] = summed.get(float(stamp), 0.0) + float(value)
    return sorted(summed.items())


def run_started(configuration: dict[str, Any] | None) -> float | None:
    """When the experiment started (epoch), if known."""
    value = (configuration or {}).get("run_started") or os.environ.get(RUN_STARTED_ENV)
    return float(value) if value else None


def now() -> float:
    return time.time()
