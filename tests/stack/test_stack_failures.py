"""Bad inputs and killed commands: clear errors, and nothing of the stack left running."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.stack.ports import StackPorts
from tests.stack.support import Recorded, assert_all_gone, free_stack_ports, harness, port_args, status
from tests.support import HARNESS


@pytest.fixture
def ports() -> StackPorts:
    return free_stack_ports()


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "state"
    yield directory
    harness("stack", "down", "--state-dir", str(directory))


def _up(state_dir: Path, ports: StackPorts, *extra: str, env: dict[str, str] | None = None):
    return harness("stack", "up", "--state-dir", str(state_dir), *port_args(ports), *extra, env=env)


def _nothing_left(state_dir: Path, ports: StackPorts, taken: int | None = None) -> None:
    assert not (state_dir / "state.json").exists()
    for name, port in ports.as_dict().items():
        if port != taken:
            with socket.socket() as probe:
                assert probe.connect_ex(("127.0.0.1", port)) != 0, f"{name} port {port} still bound"


def test_a_taken_port_names_the_port_and_the_component(state_dir: Path, ports: StackPorts) -> None:
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", ports.proxy_a2a))
        holder.listen()
        started = time.monotonic()
        result = _up(state_dir, ports)
        assert time.monotonic() - started < 15
    assert result.returncode == 1
    assert f"proxy_a2a: port {ports.proxy_a2a} on 127.0.0.1 is already in use" in result.stderr
    assert "--port proxy_a2a=N" in result.stderr
    _nothing_left(state_dir, ports)
    assert not state_dir.exists()


def test_a_missing_prometheus_binary_says_how_to_install_it(state_dir: Path, ports: StackPorts) -> None:
    result = _up(state_dir, ports, env={"HARNESS_PROMETHEUS_BIN": "/nonexistent/prometheus"})
    assert result.returncode == 1
    assert "Prometheus server binary not found" in result.stderr
    assert "apt-get install prometheus" in result.stderr
    assert "install-system-packages.sh" in result.stderr
    _nothing_left(state_dir, ports)


def test_an_unreachable_external_database_is_a_clear_error(state_dir: Path, ports: StackPorts) -> None:
    dead = ports.postgres  # nothing listens there: the stack is not up
    result = _up(state_dir, ports, "--database-url", f"postgresql://app:s3cret@127.0.0.1:{dead}/app")
    assert result.returncode == 1
    assert f"cannot reach PostgreSQL at 127.0.0.1:{dead}/app" in result.stderr
    assert "s3cret" not in result.stderr
    _nothing_left(state_dir, ports)


@pytest.mark.parametrize(("option", "message"), [
    (["--port", "backend=0"], "outside 1..65535"),
    (["--port", "nonsense=18000"], "unknown port name 'nonsense'"),
    (["--port", "backend"], "write NAME=PORT"),
    (["--scrape-interval", "10"], "outside 1..5s"),
    (["--database-url", "mysql://x@127.0.0.1/db"], "is not a postgresql://"),
])
def test_bad_options_are_refused_before_anything_starts(state_dir: Path, option: list[str], message: str) -> None:
    result = harness("stack", "up", "--state-dir", str(state_dir), *option)
    assert result.returncode == 1
    assert message in result.stderr
    assert not (state_dir / "state.json").exists()


def test_two_components_on_one_port_is_refused(state_dir: Path, ports: StackPorts) -> None:
    result = harness("stack", "up", "--state-dir", str(state_dir), "--port", f"openai={ports.a2a},a2a={ports.a2a}")
    assert result.returncode == 1
    assert f"port {ports.a2a} is given to both" in result.stderr


def test_a_component_failing_mid_start_stops_the_others(state_dir: Path, ports: StackPorts) -> None:
    """The backend refuses an unknown defect after everything else started: all of it is stopped again."""
    result = _up(state_dir, ports, "--defects", "no_such_defect", "--timeout", "40")
    assert result.returncode == 1
    assert "backend exited during start-up" in result.stderr
    assert "no_such_defect" in result.stderr
    _nothing_left(state_dir, ports)
    assert (state_dir / "logs" / "backend.log").exists(), "logs are kept after a failed start"


def test_down_after_up_was_killed_with_sigkill(state_dir: Path, ports: StackPorts) -> None:
    up = subprocess.Popen([*HARNESS, "stack", "up", "--state-dir", str(state_dir), *port_args(ports)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it once the backend, the last component, has been started
        report = status(state_dir) if (state_dir / "state.json").exists() else {"components": {}}
        if "backend" in report["components"]:
            break
        time.sleep(0.05)
    up.send_signal(signal.SIGKILL)
    up.wait()
    recorded = Recorded.of(report)
    assert len(recorded.pids) == 9
    assert sorted(recorded.running()) == sorted(recorded.pids), "the stack outlives the killed `up`"
    result = harness("stack", "down", "--state-dir", str(state_dir))
    assert result.returncode == 0, result.stderr
    assert_all_gone(recorded, ports, state_dir)


def test_down_stops_an_up_still_at_work(state_dir: Path, ports: StackPorts) -> None:
    up = subprocess.Popen([*HARNESS, "stack", "up", "--state-dir", str(state_dir), *port_args(ports)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (state_dir / "state.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    report = status(state_dir)
    result = harness("stack", "down", "--state-dir", str(state_dir))
    assert result.returncode == 0, result.stderr
    assert up.wait(30) == 130
    assert "interrupted" in up.stderr.read()
    assert_all_gone(Recorded.of(report), ports, state_dir)
