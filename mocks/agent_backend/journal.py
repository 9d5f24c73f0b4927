"""Recent runs kept for ``/metrics-debug``.

Healthy: a bounded ring of small summaries. The ``memory_leak`` defect keeps every run's full record —
its messages and every event sent — in a dict keyed by run id that nothing ever evicts: the "debug
cache" that quietly grows a few kilobytes per turn until the process is killed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

RECENT_RUNS = 50


@dataclass
class RunRecord:
    """One run as the journal sees it."""

    run_id: str
    thread_id: str
    transport: str
    started_at: float
    outcome: str = "running"
    duration_s: float | None = None
    event_count: int = 0
    events: list[str] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "thread_id": self.thread_id, "transport": self.transport,
                "outcome": self.outcome, "duration_s": self.duration_s, "events": self.event_count}


class RunJournal:
    """Keeps recent runs; with ``leak`` set, keeps every run in full, forever."""

    def __init__(self, *, leak: bool) -> None:
        self.leak = leak
        self._recent: deque[RunRecord] = deque(maxlen=RECENT_RUNS)
        self._retained: dict[str, RunRecord] = {}

    def start(self, record: RunRecord) -> RunRecord:
        self._recent.append(record)
        if self.leak:
            self._retained[record.run_id] = record
        return record

    def note_event(self, record: RunRecord, encoded: str) -> None:
        """Count an event sent by the run; only the leaking build keeps its text."""
        record.event_count += 1
        if self.leak:
            record.events.append(encoded)

    def retained_runs(self) -> int:
        return len(self._retained)

    def recent(self) -> list[dict[str, Any]]:
        return [record.summary() for record in self._recent]
