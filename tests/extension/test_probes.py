"""Probes against a real Prometheus: the leak verdict tells growth from a plateau and a GC sawtooth."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from chaoslib.exceptions import ActivityFailed

from harness.probes import errors, latency, resources
from harness.probes.prom import Inconclusive
from harness.probes.trend import fit
from tests.extension.conftest import SeriesPrometheus
from tests.support import free_port


def test_fit_of_a_line_a_plateau_and_noise() -> None:
    line = fit([(t, 3.0 * t + 1) for t in range(20)])
    assert line.slope == pytest.approx(3.0)
    assert line.r2 == pytest.approx(1.0)
    flat = fit([(t, 5.0) for t in range(20)])
    assert flat.slope == 0
    saw = fit([(t, float(t % 4)) for t in range(40)])
    assert saw.r2 < 0.1
    with pytest.raises(ValueError, match="two samples"):
        fit([(1.0, 1.0)])


@pytest.fixture(scope="module")
def filled(series_prometheus: SeriesPrometheus) -> dict:
    """Wait until 20 s of series are stored, then return the probes' configuration."""
    time.sleep(max(0.0, series_prometheus.started + 21 - time.time()))
    return {"prometheus_url": series_prometheus.url, "run_started": series_prometheus.started}


@pytest.mark.parametrize(("job", "verdict"), [("leak", "fail"), ("plateau", "pass"), ("sawtooth", "pass")])
def test_memory_growth_verdict(filled: dict, job: str, verdict: str) -> None:
    result = resources.memory_growth(100, window_s=60, warmup_s=6, job=job, step_s=1, configuration=filled)
    assert result["verdict"] == verdict, result
    assert result["points"] >= 10
    if job == "leak":
        assert result["value"] == pytest.approx(7200, rel=0.1)
        assert result["r2"] > 0.99


def test_memory_growth_without_enough_data_is_inconclusive(filled: dict) -> None:
    with pytest.raises(Inconclusive, match="only 0 RSS samples"):
        resources.memory_growth(100, window_s=60, warmup_s=6, job="no-such-job", step_s=1, configuration=filled)


def test_missing_series_and_unreachable_prometheus_are_inconclusive(filled: dict) -> None:
    with pytest.raises(Inconclusive, match="no data"):
        latency.first_event_latency(500, configuration=filled)
    with pytest.raises(Inconclusive, match=r"inconclusive: no data for `sum\(rate\(agent_runs_total"):
        errors.error_rate(0.01, configuration=filled)
    with pytest.raises(ActivityFailed, match="did not answer"):
        resources.sse_connections(10, configuration={"prometheus_url": f"http://127.0.0.1:{free_port()}"})


def test_recovery_before_any_fault_and_during_warmup_is_not_judged(filled: dict, tmp_path: Path) -> None:
    result = errors.recovery_time(30, "openai:", configuration={**filled, "run_dir": str(tmp_path)})
    assert result["verdict"] == "pass"
    assert result["judged"] is False
    assert "no openai: fault yet" in result["detail"]
    warming = {**filled, "run_started": time.time()}
    assert latency.first_event_latency(1, warmup_s=30, configuration=warming)["judged"] is False
    assert errors.error_rate(0.0, warmup_s=30, configuration=warming)["judged"] is False
    assert resources.memory_growth(1, warmup_s=30, configuration=warming)["judged"] is False
