"""Timing actions for experiments: hold a phase for a while, and give the steady soak what is left."""

from __future__ import annotations

import time
from typing import Any

from chaoslib.exceptions import ActivityFailed

from harness.values import number

__all__ = ["hold", "hold_steady_soak"]


def hold(seconds: float, phase: str = "", configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Let ``seconds`` pass (a fault window, the warm-up, the recovery period); a signal interrupts it."""
    duration = number("seconds", seconds)
    if duration < 0:
        raise ActivityFailed(f"hold: seconds must not be negative (got {seconds!r})")
    time.sleep(duration)
    return {"phase": phase, "held_s": duration}


def hold_steady_soak(soak_seconds: float, warmup_s: float, recovery_s: float, fault_windows_s: list[float],
                     configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Hold the steady part of the soak: what ``soak_seconds`` leaves after the warm-up, the fault windows and
    the recovery period. A schedule that does not fit in ``soak_seconds`` is an error saying by how much."""
    scheduled = (number("warmup_s", warmup_s) + sum(number("fault window", w) for w in fault_windows_s)
                 + number("recovery_s", recovery_s))
    steady = number("soak_seconds", soak_seconds) - scheduled
    if steady < 0:
        raise ActivityFailed(f"soak_seconds={soak_seconds} is shorter than the warm-up, fault windows and "
                             f"recovery ({scheduled:g}s); raise soak_seconds by at least {-steady:g}")
    return hold(steady, "steady soak")
