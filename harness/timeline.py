"""Timing actions for experiments: hold the steady soak for whatever the schedule leaves to it."""

from __future__ import annotations

import time
from typing import Any

from chaoslib.exceptions import ActivityFailed

__all__ = ["hold_steady_soak"]


def hold_steady_soak(soak_seconds: float, warmup_s: float, fault_windows_s: float, recovery_s: float,
                     configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sleep through the steady part of the soak: what ``soak_seconds`` leaves after the warm-up, the fault
    windows and the recovery period. A schedule that does not fit in ``soak_seconds`` is an error."""
    steady = float(soak_seconds) - float(warmup_s) - float(fault_windows_s) - float(recovery_s)
    if steady < 0:
        raise ActivityFailed(f"soak_seconds={soak_seconds:g} is shorter than warm-up ({warmup_s:g}s) + fault "
                             f"windows ({fault_windows_s:g}s) + recovery ({recovery_s:g}s); raise soak_seconds")
    time.sleep(steady)
    return {"steady_s": steady}
