"""The load's own figures in fixed-size structures: memory does not grow with run time or error variety.

- :class:`Histogram` has ~900 fixed log buckets (2 % wide, 0.1 ms to 1 h) whose edges include the Prometheus
  bucket bounds exactly, so quantiles are within ~1 % and the exported buckets are exact.
- :class:`Figures` holds, per scenario (a fixed set), one histogram per timing and counters for turns,
  failures by kind (a fixed set), events, bytes and idle holds. Workers send their delta to the master every
  report (:meth:`Figures.take_delta`, sparse), the master merges (:meth:`Figures.merge`).
- :class:`Window` keeps the last ``window_s`` of the combined figures as a ring of snapshots.
"""

from __future__ import annotations

import math
import time
from array import array
from bisect import bisect_left
from collections import deque
from typing import Any

from harness.load.config import SCENARIOS
from harness.load.turns import FAILURE_KINDS, TIMINGS, TurnResult, normalise_kind

PROMETHEUS_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0,
                        5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0)


def _edges() -> tuple[float, ...]:
    edges, value = set(), 0.1
    while value < 3_600_000.0:
        edges.add(round(value, 6))
        value *= 1.02
    edges.update(le * 1000.0 for le in PROMETHEUS_BUCKETS_S)
    return tuple(sorted(edges))


EDGES_MS = _edges()
BUCKETS = len(EDGES_MS) + 1  # the last bucket holds everything above the top edge
QUANTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


class Histogram:
    """Counts of millisecond values in fixed buckets, plus exact count, sum, min and max."""

    __slots__ = ("count", "counts", "max", "min", "sum")

    def __init__(self) -> None:
        self.counts = array("q", bytes(8 * BUCKETS))
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = 0.0

    def observe(self, ms: float) -> None:
        self.counts[bisect_left(EDGES_MS, ms)] += 1
        self.count += 1
        self.sum += ms
        self.min = min(self.min, ms)
        self.max = max(self.max, ms)

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile, interpolated within its bucket and kept inside [min, max]; None when empty."""
        if not self.count:
            return None
        rank, seen = q * self.count, 0
        for index, n in enumerate(self.counts):
            if n and seen + n >= rank:
                low = EDGES_MS[index - 1] if index else 0.0
                high = EDGES_MS[index] if index < len(EDGES_MS) else self.max
                value = low + (high - low) * max(0.0, rank - seen) / n
                return min(max(value, self.min), self.max)
            seen += n
        return self.max

    def summary(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {k: _round(self.quantile(q)) for k, q in QUANTILES.items()}
        out.update(count=self.count, mean=_round(self.sum / self.count) if self.count else None,
                   max=_round(self.max) if self.count else None)
        return out

    def add(self, other: Histogram) -> None:
        for index, n in enumerate(other.counts):
            if n:
                self.counts[index] += n
        self._add_totals(other.count, other.sum, other.min, other.max)

    def _add_totals(self, count: int, total: float, low: float, high: float) -> None:
        self.count += count
        self.sum += total
        self.min = min(self.min, low)
        self.max = max(self.max, high)

    def minus(self, earlier: Histogram) -> Histogram:
        """The observations made since ``earlier`` (a copy of this histogram taken before)."""
        out = Histogram()
        out.counts = array("q", (a - b for a, b in zip(self.counts, earlier.counts, strict=True)))
        out.count, out.sum = self.count - earlier.count, self.sum - earlier.sum
        out.min, out.max = self.min, self.max  # bounds of the whole run: a safe clamp for the window
        return out

    def copy(self) -> Histogram:
        out = Histogram()
        out.counts = array("q", self.counts)
        out._add_totals(self.count, self.sum, self.min, self.max)
        return out

    def to_wire(self) -> list[Any]:
        """Sparse form for a worker report: ``[count, sum, min, max, [[index, n], ...]]``."""
        pairs = [[i, n] for i, n in enumerate(self.counts) if n]
        return [self.count, self.sum, self.min if self.count else 0.0, self.max, pairs]

    def merge_wire(self, wire: list[Any]) -> None:
        count, total, low, high, pairs = wire
        if not count:
            return
        for index, n in pairs:
            if 0 <= index < BUCKETS:
                self.counts[index] += n
        self._add_totals(count, total, low, high)

    def prometheus(self) -> tuple[list[tuple[str, int]], float]:
        """Cumulative ``(le seconds, count)`` pairs for :data:`PROMETHEUS_BUCKETS_S` and ``+Inf``, and the sum in s."""
        out, cumulative, position = [], 0, 0
        for le in PROMETHEUS_BUCKETS_S:
            top = bisect_left(EDGES_MS, le * 1000.0)
            cumulative += sum(self.counts[position:top + 1])
            position = top + 1
            out.append((f"{le:g}", cumulative))
        out.append(("+Inf", self.count))
        return out, self.sum / 1000.0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class ScenarioFigures:
    """One scenario's histograms and counters."""

    __slots__ = ("bytes", "events", "failures", "histograms", "holds", "turns", "turns_failed")

    def __init__(self) -> None:
        self.histograms = {name: Histogram() for name in TIMINGS}
        self.turns = 0
        self.turns_failed = 0
        self.holds = 0
        self.events = 0
        self.bytes = 0
        self.failures = dict.fromkeys(FAILURE_KINDS, 0)

    COUNTERS = ("turns", "turns_failed", "holds", "events", "bytes")

    def to_wire(self) -> dict[str, Any]:
        return {"h": {k: h.to_wire() for k, h in self.histograms.items() if h.count},
                "c": [getattr(self, name) for name in self.COUNTERS],
                "f": {k: n for k, n in self.failures.items() if n}}

    def merge_wire(self, wire: dict[str, Any]) -> None:
        for name, hist in wire.get("h", {}).items():
            if name in self.histograms:
                self.histograms[name].merge_wire(hist)
        for name, value in zip(self.COUNTERS, wire.get("c", ()), strict=False):
            setattr(self, name, getattr(self, name) + int(value))
        for kind, n in wire.get("f", {}).items():
            kind = normalise_kind(kind)
            self.failures[kind] += int(n)

    def add(self, other: ScenarioFigures) -> None:
        self.merge_wire(other.to_wire())


class Figures:
    """Figures of every scenario in one process (a worker's delta, or the master's whole run)."""

    def __init__(self) -> None:
        self.scenarios: dict[str, ScenarioFigures] = {}

    def of(self, scenario: str) -> ScenarioFigures:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}")
        figures = self.scenarios.get(scenario)
        if figures is None:
            figures = self.scenarios[scenario] = ScenarioFigures()
        return figures

    def record_turn(self, result: TurnResult) -> None:
        figures = self.of(result.scenario)
        figures.turns += 1
        figures.events += result.events
        figures.bytes += result.bytes
        for name, value in result.timings().items():
            if value is not None and (result.ok or name != "turn_ms"):
                figures.histograms[name].observe(value)
        if not result.ok:
            figures.turns_failed += 1
            figures.failures[normalise_kind(result.failure or "other")] += 1

    def record_hold(self, scenario: str, failure: str | None, nbytes: int = 0) -> None:
        """An idle hold ended (``failure`` None when the stream stayed up for the whole hold)."""
        figures = self.of(scenario)
        figures.holds += 1
        figures.bytes += nbytes
        if failure is not None:
            figures.failures[normalise_kind(failure)] += 1

    def record_failure(self, scenario: str, failure: str) -> None:
        """A failure outside a turn or hold (e.g. the session stream would not open)."""
        self.of(scenario).failures[normalise_kind(failure)] += 1

    def to_wire(self) -> dict[str, Any]:
        return {name: figures.to_wire() for name, figures in self.scenarios.items()}

    def merge(self, wire: dict[str, Any]) -> None:
        for name, figures in wire.items():
            if name in SCENARIOS:
                self.of(name).merge_wire(figures)

    def combined(self) -> ScenarioFigures:
        total = ScenarioFigures()
        for figures in self.scenarios.values():
            total.add(figures)
        return total


class Window:
    """The combined figures of the last ``window_s`` seconds, from a ring of snapshots taken every ``slot_s``."""

    def __init__(self, window_s: float = 60.0, slot_s: float = 5.0) -> None:
        self.window_s = window_s
        self.slot_s = slot_s
        self._ring: deque[tuple[float, ScenarioFigures]] = deque(maxlen=max(2, math.ceil(window_s / slot_s) + 1))

    def tick(self, figures: Figures, now: float | None = None) -> None:
        """Take a snapshot if the last one is at least ``slot_s`` old."""
        now = time.monotonic() if now is None else now
        if not self._ring or now - self._ring[-1][0] >= self.slot_s:
            self._ring.append((now, figures.combined()))

    def recent(self, figures: Figures, now: float | None = None) -> tuple[float, ScenarioFigures]:
        """``(seconds covered, figures since the oldest snapshot within the window)``."""
        now = time.monotonic() if now is None else now
        current = figures.combined()
        base = next(((t, snap) for t, snap in self._ring if now - t <= self.window_s + self.slot_s), None)
        if base is None:
            return 0.0, current
        t0, snap = base
        delta = ScenarioFigures()
        for name, hist in current.histograms.items():
            delta.histograms[name] = hist.minus(snap.histograms[name])
        for name in ScenarioFigures.COUNTERS:
            setattr(delta, name, getattr(current, name) - getattr(snap, name))
        delta.failures = {k: current.failures[k] - snap.failures[k] for k in current.failures}
        return now - t0, delta
