"""Distributed mode: a master and two local workers; the master's figures are the merge of both workers'."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable

from tests.load.conftest import LoadResult


def locust_counts(result: LoadResult, request_type: str) -> dict[str, int]:
    with (result.run_dir / "locust_stats.csv").open() as handle:
        return {row["Name"]: int(row["Request Count"]) for row in csv.DictReader(handle) if row["Type"] == request_type}


def test_master_and_two_workers_run_and_merge(run_load: Callable[..., LoadResult]) -> None:
    result = run_load("--scenario", "simple:1,tools:1", "--users", "6", "--spawn-rate", "20", "--run-time", "6s",
                      "--workers", "2")
    assert result.returncode == 0, result.stderr
    summary = result.summary
    assert summary["role"] == "master"
    assert summary["final"] is True
    assert summary["failures"] == 0, summary["errors_sample"]
    processes = json.loads((result.run_dir / "run.json").read_text())["processes"]
    assert sorted(processes) == ["master", "worker-1", "worker-2"]
    assert "2 workers connected" in (result.run_dir / "master.log").read_text()
    # Every turn each worker measured reached the master: our merged figures equal Locust's own merged stats.
    counts = locust_counts(result, "turn")
    assert {name: summary["scenarios"][name]["turns"] for name in counts} == counts
    assert sum(counts.values()) == summary["turns"] > 10
    assert summary["users_peak"] == 6
    assert summary["sse_connections_peak"] >= 2
