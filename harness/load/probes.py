"""Chaos Toolkit probes over the load's own figures (its ``summary.json``, rewritten every few seconds).

Each probe reads the last started run (or ``run_dir``) and returns a value or a verdict. A probe that has
no data to judge — no run, no summary yet, a summary gone stale, too few turns — raises ``ActivityFailed``
saying so: "inconclusive" fails the hypothesis, it never passes silently.

``window`` is ``recent`` (the last ``window_s``, 60 s by default) or ``total`` (the whole run).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from harness.load.runner import latest_run_dir
from harness.load.summary import read_summary

__all__ = ["failure_ratio_below", "latency_below", "load_figures", "load_is_running", "turns_at_least"]

STALE_AFTER_S = 30.0
TIMINGS = ("first_event_ms", "first_response_ms", "first_token_ms", "turn_ms")


def load_figures(run_dir: str | None = None, configuration: Configuration = None,
                 secrets: Secrets = None) -> dict[str, Any]:
    """The load's summary: turns, failures by kind, timings (p50/p95/p99), SSE peak, ``recent`` window, ..."""
    path = Path(run_dir).resolve() if run_dir else latest_run_dir()
    if path is None:
        raise ActivityFailed("inconclusive: no load run found; start one with harness.load.actions.start_load")
    summary = read_summary(path / "summary.json")
    if summary is None:
        raise ActivityFailed(f"inconclusive: {path} has no summary.json yet; the load may still be starting "
                             f"(see {path}/master.log)")
    age = time.time() - float(summary.get("updated_at", 0))
    if not summary.get("final") and age > STALE_AFTER_S:
        raise ActivityFailed(f"inconclusive: the load's summary is {age:.0f}s old and not final; the load "
                             f"died or hangs (see {path}/master.log)")
    return summary


def _section(summary: dict[str, Any], window: str) -> dict[str, Any]:
    if window not in ("recent", "total"):
        raise ActivityFailed(f"window is {window!r}; use 'recent' or 'total'")
    return summary["recent"] if window == "recent" else summary


def latency_below(max_ms: float, metric: str = "first_response_ms", quantile: str = "p95", window: str = "recent",
                  min_turns: int = 5, run_dir: str | None = None, configuration: Configuration = None,
                  secrets: Secrets = None) -> bool:
    """True when the load's ``metric`` at ``quantile`` is at most ``max_ms`` over ``window``.

    ``metric``: first_event_ms, first_response_ms, first_token_ms or turn_ms; ``quantile``: p50, p95, p99.
    """
    if metric not in TIMINGS or quantile not in ("p50", "p95", "p99"):
        raise ActivityFailed(f"metric {metric!r}/quantile {quantile!r}: use one of {TIMINGS} and p50/p95/p99")
    figures = _section(load_figures(run_dir), window)[metric]
    if figures["count"] < min_turns or figures[quantile] is None:
        raise ActivityFailed(f"inconclusive: {figures['count']} turns measured {metric} in the {window} window, "
                             f"fewer than {min_turns}; run longer or with more users")
    return float(figures[quantile]) <= float(max_ms)


def failure_ratio_below(max_ratio: float, window: str = "recent", min_operations: int = 5,
                        run_dir: str | None = None, configuration: Configuration = None,
                        secrets: Secrets = None) -> bool:
    """True when failed turns and idle holds over all of them is at most ``max_ratio`` in ``window``."""
    section = _section(load_figures(run_dir), window)
    operations = section["turns"] + section["idle_holds"]
    if operations < min_operations:
        raise ActivityFailed(f"inconclusive: only {operations} turns/holds in the {window} window (need "
                             f"{min_operations}); is the load running against a live target?")
    return section["failures"] / operations <= float(max_ratio)


def turns_at_least(min_turns: int, run_dir: str | None = None, configuration: Configuration = None,
                   secrets: Secrets = None) -> bool:
    """True when the run has completed at least ``min_turns`` successful turns."""
    return load_figures(run_dir)["turns_ok"] >= int(min_turns)


def load_is_running(run_dir: str | None = None, configuration: Configuration = None,
                    secrets: Secrets = None) -> bool:
    """True while the load's summary is being rewritten (not final)."""
    return not load_figures(run_dir).get("final", False)
