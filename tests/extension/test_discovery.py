"""``chaos discover harness`` lists the extension's activities with their arguments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_chaos_discover_lists_faults_load_and_probes(tmp_path: Path) -> None:
    out = tmp_path / "discovery.json"
    subprocess.run([str(Path(sys.executable).parent / "chaos"), "discover", "--no-install", "--discovery-path",
                    str(out), "harness"], cwd=tmp_path, check=True, capture_output=True, timeout=120)
    activities = {a["name"]: a for a in json.loads(out.read_text())["activities"]}
    expected = {"slow_first_token", "llm_rate_limit", "add_latency", "proxy_down", "terminate_backend_connections",
                "start_load", "stop_load", "memory_growth", "error_rate", "recovery_time", "client_latency", "hold"}
    assert expected <= set(activities)
    assert activities["add_latency"]["type"] == "action"
    assert activities["memory_growth"]["type"] == "probe"
    assert {arg["name"] for arg in activities["memory_growth"]["arguments"]} >= {"max_mb_per_hour", "warmup_s"}
