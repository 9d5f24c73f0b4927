"""The Chaos Toolkit control: `chaos run` brings the embedded stack up and down, or leaves an existing one be."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chaoslib.exceptions import InterruptExecution

from harness.controls.stack import uses_existing_deployment
from harness.stack.ports import StackPorts
from tests.stack.support import free_stack_ports, listening
from tests.support import Service

CHAOS = str(Path(sys.executable).with_name("chaos"))


def _experiment(state_dir: Path, ports: StackPorts, configuration: dict[str, Any], url: str) -> dict[str, Any]:
    return {
        "title": "the stack control around an experiment",
        "description": "the hypothesis can only hold when the backend the configuration names answers",
        "configuration": configuration,
        "controls": [{"name": "stack", "provider": {"type": "python", "module": "harness.controls.stack",
                                                    "arguments": {"state_dir": str(state_dir),
                                                                  "ports": ports.as_dict()}}}],
        "steady-state-hypothesis": {"title": "the target answers", "probes": [
            {"type": "probe", "name": "target-ready", "tolerance": 200,
             "provider": {"type": "http", "url": url, "timeout": 5}}]},
        "method": [{"type": "probe", "name": "list-proxies-or-health", "tolerance": 200,
                    "provider": {"type": "http", "url": "${toxiproxy_url}/proxies" if "toxiproxy_url" not in
                                 configuration else "${toxiproxy_url}", "timeout": 5}}],
    }


def _chaos_run(tmp_path: Path, experiment: dict[str, Any]) -> dict[str, Any]:
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment))
    journal = tmp_path / "journal.json"
    result = subprocess.run([CHAOS, "--no-version-check", "--log-file", str(tmp_path / "chaos.log"), "run",
                             "--journal-path", str(journal), str(path)], capture_output=True, text=True,
                            timeout=180, check=False, cwd=tmp_path)
    assert journal.exists(), result.stdout + result.stderr
    return json.loads(journal.read_text())


def test_chaos_run_brings_the_embedded_stack_up_and_down(tmp_path: Path) -> None:
    state_dir, ports = tmp_path / "stack", free_stack_ports()
    journal = _chaos_run(tmp_path, _experiment(state_dir, ports, {}, "${backend_url}/readyz"))
    assert journal["status"] == "completed", json.dumps(journal)[:3000]
    assert journal["deviated"] is False
    probe = journal["steady_states"]["before"]["probes"][0]
    assert probe["output"]["status"] == 200
    assert probe["output"]["body"] == {"status": "ready"}, "the backend's /readyz answered through ${backend_url}"
    proxies = journal["run"][0]["output"]["body"]
    assert set(proxies) == {"openai", "a2a", "mcp", "weather", "postgres"}
    assert not (state_dir / "state.json").exists()
    assert [name for name, port in ports.as_dict().items() if listening(port)] == []


def test_an_existing_deployment_is_left_alone(tmp_path: Path, launch: Callable[..., Service]) -> None:
    target = launch("mock", "weather")
    state_dir, ports = tmp_path / "stack", free_stack_ports()
    configuration = {"backend_url": target.url, "toxiproxy_url": f"{target.url}/healthz",
                     "prometheus_url": target.url}
    journal = _chaos_run(tmp_path, _experiment(state_dir, ports, configuration, "${backend_url}/healthz"))
    assert journal["status"] == "completed"
    assert journal["steady_states"]["before"]["probes"][0]["output"]["status"] == 200
    assert not state_dir.exists()
    assert not listening(ports.backend)


@pytest.mark.parametrize(("configuration", "existing"), [
    ({}, False),
    (None, False),
    ({"backend_url": ""}, False),
    ({"backend_url": "http://10.0.0.5:8080"}, True),
    ({"prometheus_url": "http://prom:9090"}, True),
    ({"stack": "existing"}, True),
    ({"stack": "embedded", "backend_url": "http://x"}, False),
])
def test_which_configuration_means_an_existing_deployment(configuration: dict[str, Any] | None,
                                                          existing: bool) -> None:
    assert uses_existing_deployment(configuration) is existing


def test_an_unknown_stack_mode_interrupts() -> None:
    with pytest.raises(InterruptExecution, match="'embedded' or 'existing'"):
        uses_existing_deployment({"stack": "kubernetes"})
