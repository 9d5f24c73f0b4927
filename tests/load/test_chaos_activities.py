"""The Chaos Toolkit activities: load started in the background, probed live (also through Prometheus), stopped."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from chaoslib.exceptions import ActivityFailed
from prometheus_client.parser import text_string_to_metric_families

from harness.load import actions, probes
from harness.stack.processes import ProcessRef, is_running
from tests.support import Service, free_port


def scrape(url: str) -> dict[str, list]:
    families = text_string_to_metric_families(httpx.get(url, timeout=5).text)
    return {family.name: family.samples for family in families}


def test_start_probe_and_stop_load(backend: Service, tmp_path: Path) -> None:
    port = free_port()
    started = actions.start_load(scenario="simple:2,idle:1", users=6, spawn_rate=50, duration_s=60,
                                 metrics_port=port, run_dir=str(tmp_path / "run"),
                                 load_config={"idle": {"short_s": 2, "medium_s": 2, "long_s": 2}},
                                 configuration={"backend_url": backend.url})
    refs = [ProcessRef(**ref) for ref in json.loads((tmp_path / "run" / "run.json").read_text())["processes"].values()]
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if probes.turns_at_least(10):
                    break
            except ActivityFailed:
                pass
            assert time.monotonic() < deadline, "the load did not complete 10 turns in 30 s"
            time.sleep(0.5)
        assert probes.load_is_running()
        assert probes.latency_below(5000, metric="first_response_ms", quantile="p95", min_turns=5)
        assert not probes.latency_below(0.01, metric="turn_ms", quantile="p50", min_turns=5)
        assert probes.failure_ratio_below(0.0, window="total")
        with pytest.raises(ActivityFailed, match="inconclusive"):
            probes.latency_below(1000, min_turns=1_000_000)
        metrics = scrape(started["metrics_url"])
        turns = sum(s.value for s in metrics["harness_load_turns"] if s.name == "harness_load_turns_total")
        assert turns >= 10
        assert any(s.labels.get("scenario") == "simple" for s in metrics["harness_load_turn_seconds"])
        assert metrics["harness_load_users"][0].value == 6
        assert metrics["harness_load_sse_connections"][0].value >= 2
        stop_started = time.monotonic()
        stopped = actions.stop_load()
        assert time.monotonic() - stop_started < 10
        assert not any(is_running(ref) for ref in refs)
        assert stopped["summary"]["final"] is True
        assert stopped["summary"]["turns"] >= 10
        assert not probes.load_is_running()
    finally:
        actions.stop_load(run_dir=started["run_dir"])


def test_activities_fail_with_actionable_messages(tmp_path: Path) -> None:
    with pytest.raises(ActivityFailed, match="--allow-host"):
        actions.start_load(target="http://192.0.2.1:80", duration_s=5)
    with pytest.raises(ActivityFailed, match=r"no summary\.json yet"):
        probes.load_figures(run_dir=str(tmp_path))
    assert set(actions.__all__) == {"start_load", "stop_load", "wait_for_load"}
    for module in (actions, probes):
        for name in module.__all__:
            assert getattr(module, name).__doc__
