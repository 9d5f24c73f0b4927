"""The controls under a real ``chaos run``: deviations fail the run; signals stop faults and play rollbacks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import Service

ROOT = Path(__file__).resolve().parents[2]
CHAOS = str(Path(sys.executable).parent / "chaos")
ACTIVITIES = "tests.extension.activities"
CONTROLS = ("experiment",)


def activity(kind: str, name: str, func: str, module: str = ACTIVITIES, **arguments: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "provider": {"type": "python", "module": module, "func": func,
                                                     "arguments": arguments}}


def experiment(tmp: Path, method: list[dict[str, Any]], controls: tuple[str, ...] = CONTROLS,
               configuration: dict[str, Any] | None = None) -> Path:
    """An experiment whose hypothesis is 'the flag file is absent', with a rollback that leaves a marker."""
    probe = {**activity("probe", "flag-absent", "flag_absent", path=str(tmp / "flag")), "tolerance": True}
    body = {"version": "1.0.0", "title": "control test", "description": "controls under a real chaos run",
            "configuration": {"stack": "existing", **(configuration or {})},
            "controls": [{"name": name, "provider": {"type": "python", "module": f"harness.controls.{name}"}}
                         for name in controls],
            "steady-state-hypothesis": {"title": "flag absent", "probes": [probe]},
            "method": method,
            "rollbacks": [activity("action", "leave rollback marker", "write_marker", path=str(tmp / "rolled-back"))]}
    path = tmp / "experiment.json"
    path.write_text(json.dumps(body))
    return path


def chaos(tmp: Path, path: Path, *extra: str) -> subprocess.Popen[bytes]:
    settings = tmp / "settings.yaml"
    settings.write_text("{}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("HARNESS_RUN_DIR", None)
    return subprocess.Popen([CHAOS, "--settings", str(settings), "run", "--journal-path", str(tmp / "journal.json"),
                             *extra, str(path)], cwd=tmp, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def deviating_method(tmp: Path) -> list[dict[str, Any]]:
    return [activity("action", "raise flag", "write_marker", path=str(tmp / "flag")),
            activity("action", "soak", "sleep_for", seconds=2.5),
            activity("action", "lower flag", "remove_marker", path=str(tmp / "flag"))]


@pytest.mark.parametrize("with_verdict", [True, False])
def test_deviation_during_the_method_fails_the_run(tmp_path: Path, with_verdict: bool) -> None:
    controls = CONTROLS if with_verdict else ("rundir", "safety")
    run = chaos(tmp_path, experiment(tmp_path, deviating_method(tmp_path), controls),
                "--hypothesis-strategy", "continuously", "--hypothesis-frequency", "1")
    output = run.communicate(timeout=120)[0].decode()
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert any(not s["steady_state_met"] for s in journal["steady_states"]["during"]), output
    if not with_verdict:
        assert run.returncode == 0  # Chaos Toolkit alone lets the deviation pass: what the control fixes
        return
    assert run.returncode == 1, output
    verdict = journal["harness_verdict"]
    assert verdict["verdict"] == "fail"
    assert {(c["phase"], c["probe"]) for c in verdict["failed_checks"]} == {("during", "flag-absent")}
    run_dirs = list((tmp_path / "runs").iterdir())
    assert len(run_dirs) == 1
    assert json.loads((run_dirs[0] / "journal.json").read_text())["harness_verdict"]["verdict"] == "fail"
    assert (run_dirs[0] / "chaostoolkit.log").stat().st_size > 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_removes_faults_and_plays_rollbacks(tmp_path: Path, launch: Callable[..., Service],
                                                   sig: signal.Signals) -> None:
    stub = launch("mock", "openai")
    method = [activity("action", "slow first token", "slow_first_token", module="harness.faults.llm",
                       ttft_ms=500, ttl_s=120),
              activity("action", "soak", "sleep_for", seconds=60)]
    run = chaos(tmp_path, experiment(tmp_path, method, configuration={"openai_url": stub.url}))
    deadline = time.monotonic() + 30
    while not httpx.get(f"{stub.url}/_control/faults").json()["faults"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert httpx.get(f"{stub.url}/_control/faults").json()["faults"], "the fault was never injected"
    signalled = time.monotonic()
    run.send_signal(sig)
    output = run.communicate(timeout=30)[0].decode()
    assert time.monotonic() - signalled < 10, output
    assert run.returncode != 0
    assert httpx.get(f"{stub.url}/_control/faults").json()["faults"] == []
    assert (tmp_path / "rolled-back").exists(), output
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["status"] == "interrupted"
    assert [r["activity"]["name"] for r in journal["rollbacks"]] == ["leave rollback marker"]
    stub.stop()
