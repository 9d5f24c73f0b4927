"""Small parts of the stack on their own: ports, URLs, process identity, the state file, doctor."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.stack.config import StackConfig, redact_url, with_host_port
from harness.stack.errors import StackError
from harness.stack.ports import StackPorts, parse_port_options, ports_from
from harness.stack.processes import ProcessRef, is_running, spawn, stop
from harness.stack.state import ComponentState, StackState, locked
from harness.stack.wiring import proxy_definitions
from tests.stack.support import harness


def test_default_ports_are_a_distinct_block_clear_of_common_services() -> None:
    ports = StackPorts().as_dict()
    assert len(set(ports.values())) == len(ports)
    assert all(17000 <= port < 18000 for port in ports.values())


def test_ports_come_from_defaults_env_then_options() -> None:
    env = {"HARNESS_STACK_PORTS": "backend=1234,openai=18081"}
    ports = ports_from(["backend=18080", "a2a=18082,tools=18083"], env=env)
    assert (ports.backend, ports.openai, ports.a2a, ports.tools, ports.weather) == (18080, 18081, 18082, 18083, 17084)
    assert parse_port_options([" proxy-a2a = 19000 "]) == {"proxy-a2a": "19000"}
    assert StackPorts().with_overrides({"proxy-a2a": "19000"}).proxy_a2a == 19000


def test_a_taken_port_is_reported_with_its_component() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        problems = StackPorts().with_overrides({"prometheus": port}).taken(["prometheus", "backend"])
    assert problems[0].startswith(f"prometheus: port {port} on 127.0.0.1 is already in use")
    assert len(problems) == 1 or "backend" in problems[1]


def test_external_database_is_reached_through_the_postgres_proxy() -> None:
    config = StackConfig(state_dir=Path("/tmp/x"), database_url="postgresql://app:pw@db.internal:6543/app?sslmode=require")
    assert config.database_upstream() == "db.internal:6543"
    assert config.proxied_database_url() == f"postgresql://app:pw@127.0.0.1:{config.ports.proxy_postgres}/app?sslmode=require"
    postgres = next(p for p in proxy_definitions(config) if p["name"] == "postgres")
    assert postgres["upstream"] == "db.internal:6543"
    assert "pw" not in json.dumps(config.settings())


def test_url_helpers() -> None:
    assert redact_url("postgresql://u:secret@h:1/d") == "postgresql://u:***@h:1/d"
    assert redact_url("postgresql://u@h/d") == "postgresql://u@h/d"
    assert with_host_port("postgresql://h/d", "127.0.0.1", 5) == "postgresql://127.0.0.1:5/d"


def test_process_identity_survives_pid_reuse(tmp_path: Path) -> None:
    ref = spawn([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "sleep.log")
    try:
        assert is_running(ref)
        assert not is_running(ProcessRef(ref.pid, ref.start_ticks + 1)), "another start time is another process"
    finally:
        stop([(ref, signal.SIGTERM)], grace_s=5)
    assert not is_running(ref)


def test_stop_kills_what_ignores_its_signal(tmp_path: Path) -> None:
    code = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
            "time.sleep(60)")
    log = tmp_path / "stubborn.log"
    ref = spawn([sys.executable, "-c", code], log)
    deadline = time.monotonic() + 10
    while "ready" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    stop([(ref, signal.SIGTERM)], grace_s=0.5)
    assert not is_running(ref)
    assert time.monotonic() - started < 5


def test_state_file_round_trip_and_lock(tmp_path: Path) -> None:
    state = StackState(state_dir=str(tmp_path), settings={"defects": []}, ports={"backend": 1})
    state.add(ComponentState("backend", "http://127.0.0.1:1", "http://127.0.0.1:1/readyz", 42, 7, 15, "b.log"))
    loaded = StackState.load(tmp_path)
    assert loaded is not None
    assert loaded.components["backend"].process == ProcessRef(42, 7)
    assert (tmp_path / "state.json").stat().st_mode & 0o777 == 0o600
    with locked(tmp_path), pytest.raises(StackError, match="another `harness stack` command"), locked(tmp_path):
        pass


def test_a_corrupt_state_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(StackError, match="cannot read the stack's state file"):
        StackState.load(tmp_path)


def test_doctor_passes_here_and_names_a_taken_port(tmp_path: Path) -> None:
    result = harness("doctor", "--json", "--state-dir", str(tmp_path / "state"))
    checks = {check["name"]: check for check in json.loads(result.stdout)}
    assert result.returncode == 0, result.stdout
    assert {"python3.12", "Prometheus server", "postgres_exporter", "ports", "disk"} <= set(checks)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        taken = harness("doctor", "--state-dir", str(tmp_path / "state"), "--port", f"backend={port}")
    assert taken.returncode == 1
    assert f"backend: port {port} on 127.0.0.1 is already in use" in taken.stdout
    assert "fix:" in taken.stdout


def test_doctor_says_how_to_install_a_missing_prometheus(tmp_path: Path) -> None:
    result = harness("doctor", "--state-dir", str(tmp_path), env={"HARNESS_PROMETHEUS_BIN": "/nope/prometheus"})
    assert result.returncode == 1
    assert "FAIL  Prometheus server: not found" in result.stdout
    assert "apt-get install prometheus" in result.stdout


def test_install_script_is_idempotent_when_everything_is_there() -> None:
    script = Path(__file__).resolve().parents[2] / "scripts/install-system-packages.sh"
    if subprocess.run(["bash", "-c", "command -v prometheus && command -v prometheus-postgres-exporter && "
                       "command -v docker-compose"], capture_output=True, check=False).returncode != 0:
        pytest.skip("the system packages are not installed here")
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0
    assert "are installed" in result.stdout
