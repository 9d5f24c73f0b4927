"""Load shapes as Locust ``LoadTestShape`` classes, parameterised by the config (Locust process only).

``config.shape`` is ``{"name": N, ...parameters}``; users, spawn rate and run time default to the run's own
(``config.users``, ``config.spawn_rate``, ``config.run_time_s``). Every shape ends at the run time.

- ``constant``: ``users`` for the whole run.
- ``ramp``: from ``start_users`` (0) to ``users`` over ``ramp_s`` (half the run), then hold.
- ``step``: step-stress. Start at ``start_users``, add ``step_users`` every ``step_s``; after ``settle_s`` of
  each step measure first-response p95 and the failure ratio against the SLO (``slo_p95_ms``,
  ``slo_failure_ratio``, defaults from ``config.slo``). The first step that breaks it ends the run; the
  capacity found (the last step that held) goes into the summary as ``capacity``.
- ``spike``: ``base_users``, then ``users`` at ``spike_at_s`` for ``spike_s``, then back to base.
- ``soak``: ramp to ``users`` over ``ramp_s`` (60 s), hold for the rest of the (long) run.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from locust import LoadTestShape

from harness.load.config import LoadConfig
from harness.load.figures import ScenarioFigures
from harness.load.plugin import LoadHub
from harness.load.safety import MAX_USERS

log = logging.getLogger("harness.load")
Tick = tuple[int, float] | None


class HarnessShape(LoadTestShape):
    """Base: reads its parameters from ``config.shape`` with the run's users, rate and time as defaults."""

    abstract: ClassVar[bool] = True
    config: ClassVar[LoadConfig]
    hub: ClassVar[LoadHub]

    def param(self, name: str, default: Any) -> Any:
        return (self.config.shape or {}).get(name, default)

    @property
    def users(self) -> int:
        return min(MAX_USERS, int(self.param("users", self.config.users)))

    @property
    def rate(self) -> float:
        return float(self.param("spawn_rate", self.config.spawn_rate))

    @property
    def run_time(self) -> float:
        return float(self.param("run_time_s", self.config.run_time_s))

    def tick(self) -> Tick:
        now = self.get_run_time()
        if now >= self.run_time:
            return None
        return self.at(now)

    def at(self, now: float) -> Tick:
        raise NotImplementedError


class ConstantShape(HarnessShape):
    def at(self, now: float) -> Tick:
        return self.users, self.rate


class RampShape(HarnessShape):
    def at(self, now: float) -> Tick:
        start = int(self.param("start_users", 0))
        ramp_s = float(self.param("ramp_s", self.run_time / 2))
        fraction = min(1.0, now / ramp_s) if ramp_s > 0 else 1.0
        return max(1, round(start + (self.users - start) * fraction)), self.rate


class SpikeShape(HarnessShape):
    def at(self, now: float) -> Tick:
        base = int(self.param("base_users", max(1, self.users // 5)))
        spike_at = float(self.param("spike_at_s", self.run_time / 3))
        spike_s = float(self.param("spike_s", self.run_time / 6))
        in_spike = spike_at <= now < spike_at + spike_s
        return (self.users if in_spike else base), float(self.param("spike_rate", max(self.rate, self.users)))


class SoakShape(HarnessShape):
    def at(self, now: float) -> Tick:
        ramp_s = float(self.param("ramp_s", min(60.0, self.run_time / 10)))
        fraction = min(1.0, now / ramp_s) if ramp_s > 0 else 1.0
        return max(1, round(self.users * fraction)), self.rate


class StepShape(HarnessShape):
    """Raise users step by step until the SLO breaks; report the capacity found."""

    def __init__(self) -> None:
        super().__init__()
        self._step = -1
        self._baseline: ScenarioFigures | None = None
        self._passed: list[dict[str, Any]] = []
        self._done = False

    def users_at(self, step: int) -> int:
        step_users = int(self.param("step_users", max(1, self.users // 5)))
        start = int(self.param("start_users", step_users))
        return min(self.users, start + step * step_users)

    def tick(self) -> Tick:
        now = self.get_run_time()
        step_s = float(self.param("step_s", 30.0))
        settle_s = float(self.param("settle_s", step_s / 3))
        step = int(now // step_s)
        if self._done:
            return None
        if step != self._step:
            if self._step >= 0 and not self._judge(self._step):
                return None
            self._step, self._baseline = step, None
            if now >= self.run_time or (step > 0 and self.users_at(step - 1) >= self.users):
                self._finish(None, "the run ended before the SLO broke" if now >= self.run_time
                             else f"reached the configured ceiling of {self.users} users")
                return None
        if self._baseline is None and now - step * step_s >= settle_s:
            self._baseline = self.hub.figures.combined()
        return self.users_at(step), self.rate

    def _judge(self, step: int) -> bool:
        """Whether ``step`` met the SLO; records it, or finishes the search when it did not."""
        if self._baseline is None:
            return True
        current = self.hub.figures.combined()
        name = "first_response_ms"
        p95 = current.histograms[name].minus(self._baseline.histograms[name]).quantile(0.95)
        operations = (current.turns + current.holds) - (self._baseline.turns + self._baseline.holds)
        failures = sum(current.failures.values()) - sum(self._baseline.failures.values())
        ratio = failures / operations if operations else 0.0
        max_p95 = float(self.param("slo_p95_ms", self.config.slo.get("first_response_p95_ms", 2000.0)))
        max_ratio = float(self.param("slo_failure_ratio", self.config.slo.get("failure_ratio", 0.01)))
        record = {"users": self.users_at(step), "first_response_p95_ms": None if p95 is None else round(p95, 1),
                  "failure_ratio": round(ratio, 4), "turns": current.turns - self._baseline.turns}
        if operations == 0:
            self._finish(record, "no turn completed in the step (the target does not answer)")
            return False
        if (p95 is not None and p95 > max_p95) or ratio > max_ratio:
            self._finish(record, f"SLO broken at {record['users']} users: first-response p95 "
                                 f"{record['first_response_p95_ms']} ms (max {max_p95:g}), failure ratio "
                                 f"{ratio:.4f} (max {max_ratio:g})")
            return False
        self._passed.append(record)
        return True

    def _finish(self, broken: dict[str, Any] | None, reason: str) -> None:
        self._done = True
        last = self._passed[-1] if self._passed else None
        self.hub.capacity = {"users": last["users"] if last else 0, "broken_at": broken, "reason": reason,
                             "steps": self._passed[-50:]}
        log.info("step-stress: capacity %s users (%s)", self.hub.capacity["users"], reason)


SHAPES: dict[str, type[HarnessShape]] = {"constant": ConstantShape, "ramp": RampShape, "step": StepShape,
                                         "spike": SpikeShape, "soak": SoakShape}


def bind(config: LoadConfig, hub: LoadHub) -> type[HarnessShape] | None:
    """The configured shape as a concrete class for the locustfile, or None when the config has no shape."""
    if not config.shape:
        return None
    base = SHAPES[config.shape["name"]]
    return type(base.__name__, (base,), {"abstract": False, "config": config, "hub": hub,
                                         "__module__": base.__module__})
