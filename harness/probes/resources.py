"""Resource probes: memory growth (a leak verdict), open SSE connections, DB pool waiting."""

from __future__ import annotations

from typing import Any

from harness.probes.prom import Inconclusive, not_judged, now, run_started, scalar, series, verdict
from harness.probes.trend import fit
from harness.values import number

__all__ = ["db_pool_waiting", "memory_growth", "sse_connections"]

MIN_POINTS = 10


def memory_growth(max_mb_per_hour: float, window_s: int = 300, warmup_s: int = 60, job: str = "backend",
                  min_r2: float = 0.6, step_s: float = 2.0,
                  configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Resident memory of ``job`` must not grow faster than ``max_mb_per_hour``.

    The slope is a least-squares fit of ``process_resident_memory_bytes`` over the last ``window_s`` seconds,
    leaving out the first ``warmup_s`` seconds of the run. Growth fails the probe only when the fit also
    explains the data (R² ≥ ``min_r2``): a cache that plateaus has a flat slope, and a GC sawtooth a low R².
    """
    max_mb_per_hour, min_r2 = number("max_mb_per_hour", max_mb_per_hour), number("min_r2", min_r2)
    window_s, warmup_s, step_s = number("window_s", window_s), number("warmup_s", warmup_s), number("step_s", step_s)
    end = now()
    start = end - window_s
    started = run_started(configuration)
    if started is not None:
        start = max(start, started + warmup_s)
        if end < start + MIN_POINTS * step_s:
            return not_judged(f"warm-up ({warmup_s}s) and {MIN_POINTS} samples: memory not judged yet")
    promql = f'process_resident_memory_bytes{{job="{job}"}}'
    samples = series(configuration, promql, start, end, step_s) if end > start else []
    if len(samples) < MIN_POINTS:
        raise Inconclusive(f"inconclusive: only {len(samples)} RSS samples of job {job!r} after the warm-up "
                           f"(need {MIN_POINTS}); lengthen the window or shorten warmup_s")
    trend = fit(samples)
    mb_per_hour = trend.slope * 3600 / 1_000_000
    growing = mb_per_hour > max_mb_per_hour and trend.r2 >= min_r2
    shape = "steady growth" if growing else ("within the limit" if mb_per_hour <= max_mb_per_hour else
                                             "noisy (sawtooth), not a trend")
    return verdict(not growing, mb_per_hour, max_mb_per_hour, "MB/h",
                   f"RSS of {job}: {mb_per_hour:+.1f} MB/h, R² {trend.r2:.2f} over {len(samples)} samples "
                   f"({shape}); limit {max_mb_per_hour:g} MB/h", r2=round(trend.r2, 4), points=len(samples),
                   rss_mb_last=round(samples[-1][1] / 1_000_000, 2))


def sse_connections(max_open: float, min_open: float = 0, configuration: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    """Open SSE streams on the backend must stay within ``[min_open, max_open]``."""
    value = scalar(configuration, "sum(agent_sse_connections)")
    return verdict(min_open <= value <= max_open, value, max_open, "streams",
                   f"{value:.0f} SSE streams open (allowed {min_open:g}..{max_open:g})")


def db_pool_waiting(max_waiting: float = 0, window_s: int = 30, configuration: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    """Tasks waiting for a DB connection (max over ``window_s``) must stay ≤ ``max_waiting``."""
    value = scalar(configuration, f"max_over_time(agent_db_pool_waiting[{int(window_s)}s])")
    return verdict(value <= max_waiting, value, max_waiting, "tasks",
                   f"up to {value:.0f} tasks waited for a DB connection in {window_s}s (limit {max_waiting:g})")
