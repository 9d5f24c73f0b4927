"""Each scenario against the reference backend over real sockets: turns and events counted by kind."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.load.conftest import LoadResult


@pytest.mark.parametrize(("scenario", "min_events_per_turn", "extra"), [
    ("simple", 5, []),
    ("tools", 8, ["--tool", "calculator"]),
    ("chain", 20, []),
    ("a2a", 8, []),
    ("conversation", 5, []),
])
def test_scenario_runs_and_counts_events(run_load: Callable[..., LoadResult], scenario: str,
                                         min_events_per_turn: int, extra: list[str]) -> None:
    result = run_load("--scenario", scenario, "--users", "3", "--spawn-rate", "10", "--run-time", "5s",
                      *extra)
    assert result.returncode == 0, result.stderr
    summary = result.summary
    assert summary is not None
    assert summary["final"] is True
    assert summary["turns"] >= 3, summary
    assert summary["failures"] == 0, summary["errors_sample"]
    assert summary["events_per_turn"] >= min_events_per_turn
    figures = summary["scenarios"][scenario]
    assert figures["turns"] == summary["turns"]
    for name in ("first_event_ms", "first_response_ms", "first_token_ms", "turn_ms"):
        assert figures[name]["count"] > 0
        assert 0 < figures[name]["p50"] <= figures[name]["p99"]
    assert summary["first_event_ms"]["p50"] <= summary["first_response_ms"]["p50"] <= summary["turn_ms"]["p50"]
    assert summary["sse_connections_peak"] >= 1


def test_standard_transport_runs_and_counts_events(run_load: Callable[..., LoadResult]) -> None:
    result = run_load("--scenario", "tools", "--tool", "weather", "--transport", "run", "--users", "2",
                      "--spawn-rate", "10", "--run-time", "4s")
    assert result.returncode == 0, result.stderr
    summary = result.summary
    assert summary["transport"] == "run"
    assert summary["turns"] >= 2
    assert summary["failures"] == 0, summary["errors_sample"]
    assert summary["events_per_turn"] >= 8
    assert summary["first_response_ms"]["count"] == summary["turns"]


def test_idle_holds_streams_for_their_duration(tmp_path: Path, run_load: Callable[..., LoadResult]) -> None:
    config = tmp_path / "idle.json"
    config.write_text(json.dumps({"idle": {"short_s": 1.5, "medium_s": 2.5, "long_s": 3.5,
                                           "mix": {"short": 1, "medium": 1, "long": 0}}}))
    result = run_load("--scenario", "idle", "--users", "6", "--spawn-rate", "50", "--run-time", "6s",
                      "--config", str(config))
    assert result.returncode == 0, result.stderr
    summary = result.summary
    assert summary["turns"] == 0
    assert summary["idle_holds"] >= 6
    assert summary["failures"] == 0, summary["errors_sample"]
    assert summary["sse_connections_peak"] == 6
    assert summary["bytes"] > 0  # ": connected" and heartbeats arrived
