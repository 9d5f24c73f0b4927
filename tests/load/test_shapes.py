"""Load shapes run as Locust LoadTestShapes: step-stress finds and reports a capacity; spike and ramp move users."""

from __future__ import annotations

from collections.abc import Callable

from tests.load.conftest import LoadResult


def test_step_stress_reports_the_capacity_at_the_ceiling(run_load: Callable[..., LoadResult]) -> None:
    result = run_load("--scenario", "simple", "--users", "3", "--run-time", "30s", "--shape", "step",
                      "--shape-param", "step_s=2", "--shape-param", "step_users=1",
                      "--shape-param", "slo_p95_ms=5000")
    assert result.returncode == 0, result.stderr
    capacity = result.summary["capacity"]
    assert capacity["users"] == 3
    assert capacity["broken_at"] is None
    assert [step["users"] for step in capacity["steps"]] == [1, 2, 3]
    assert all(step["turns"] > 0 for step in capacity["steps"])
    assert result.summary["elapsed_s"] < 15  # the search ended the run, not the run time
    assert "capacity: 3 users" in result.stdout


def test_step_stress_stops_at_the_first_broken_step(run_load: Callable[..., LoadResult]) -> None:
    result = run_load("--scenario", "simple", "--users", "5", "--run-time", "30s", "--shape", "step",
                      "--shape-param", "step_s=2", "--shape-param", "step_users=1", "--shape-param", "slo_p95_ms=1")
    capacity = result.summary["capacity"]
    assert capacity["users"] == 0
    assert capacity["broken_at"]["users"] == 1
    assert "SLO broken at 1 users" in capacity["reason"]
    assert capacity["broken_at"]["first_response_p95_ms"] > 1


def test_spike_goes_up_and_back(run_load: Callable[..., LoadResult]) -> None:
    result = run_load("--scenario", "simple", "--users", "6", "--spawn-rate", "50", "--run-time", "6s",
                      "--shape", "spike", "--shape-param", "base_users=1", "--shape-param", "spike_at_s=2",
                      "--shape-param", "spike_s=3")
    assert result.returncode == 0, result.stderr
    assert result.summary["users_peak"] == 6
    assert result.summary["shape"] == "spike"
    assert result.summary["failures"] == 0
