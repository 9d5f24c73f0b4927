"""Least-squares trend of a time series: slope and R², to tell growth from a plateau or a sawtooth."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Trend:
    """``slope`` in units per second; ``r2`` how much of the variance the line explains (0..1)."""

    slope: float
    intercept: float
    r2: float
    points: int


def fit(samples: list[tuple[float, float]]) -> Trend:
    """Ordinary least squares of value on time; needs at least two distinct times."""
    n = len(samples)
    if n < 2:
        raise ValueError("a trend needs at least two samples")
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    s_tt = sum((t - mean_t) ** 2 for t, _ in samples)
    if s_tt == 0:
        raise ValueError("a trend needs samples at different times")
    s_tv = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    slope = s_tv / s_tt
    intercept = mean_v - slope * mean_t
    s_vv = sum((v - mean_v) ** 2 for _, v in samples)
    residual = sum((v - (intercept + slope * t)) ** 2 for t, v in samples)
    r2 = 1.0 if s_vv == 0 else max(0.0, 1.0 - residual / s_vv)
    return Trend(slope, intercept, r2, n)
