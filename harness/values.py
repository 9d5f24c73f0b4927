"""Settings as they arrive from an experiment (JSON, ``--var``, environment): checked with clear errors."""

from __future__ import annotations

from typing import Any

from chaoslib.exceptions import ActivityFailed

__all__ = ["number", "positive_seconds"]


def number(name: str, value: Any) -> float:
    """``value`` as a float, or ActivityFailed naming the setting (thresholds often come from ``--var``)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ActivityFailed(f"{name} must be a number (got {value!r}); fix the configuration or --var") from None


def positive_seconds(name: str, value: Any) -> float:
    """A duration that must be more than zero seconds."""
    seconds = number(name, value)
    if seconds <= 0:
        raise ActivityFailed(f"{name} must be a positive number of seconds (got {value!r})")
    return seconds
