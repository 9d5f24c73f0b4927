"""The run summary: the load's figures as one JSON document, rewritten while the load runs.

The Locust master (or the standalone process) writes it atomically every few seconds with ``"final": false``
and once more at the end with ``"final": true``; the runner, the CLI and the Chaos Toolkit probes read it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from harness.load.figures import Figures, ScenarioFigures, Window
from harness.load.turns import TIMINGS


def figures_summary(figures: ScenarioFigures) -> dict[str, Any]:
    """Turns, failures, timings (p50/p95/p99/mean/max/count), events and bytes of one set of figures."""
    failures = sum(figures.failures.values())
    operations = figures.turns + figures.holds
    out: dict[str, Any] = {
        "turns": figures.turns,
        "turns_ok": figures.turns - figures.turns_failed,
        "idle_holds": figures.holds,
        "failures": failures,
        "failure_ratio": round(failures / operations, 6) if operations else None,
        "failures_by_kind": {k: n for k, n in figures.failures.items() if n},
        "events": figures.events,
        "bytes": figures.bytes,
        "events_per_turn": round(figures.events / figures.turns, 2) if figures.turns else None,
        "bytes_per_turn": round(figures.bytes / figures.turns, 1) if figures.turns else None,
    }
    for name in TIMINGS:
        out[name] = figures.histograms[name].summary()
    return out


def build_summary(figures: Figures, window: Window, **extra: Any) -> dict[str, Any]:
    """The whole summary: combined figures at the top, ``scenarios``, the ``recent`` window, and ``extra``."""
    seconds, recent = window.recent(figures)
    summary = figures_summary(figures.combined())
    summary["scenarios"] = {name: figures_summary(f) for name, f in sorted(figures.scenarios.items())}
    summary["recent"] = {"window_s": round(seconds, 1), **figures_summary(recent)}
    summary.update(extra)
    summary["updated_at"] = time.time()
    return summary


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1, sort_keys=False))
    os.replace(temporary, path)


def read_summary(path: Path) -> dict[str, Any] | None:
    """The summary at ``path``, or None when it does not exist (yet)."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
