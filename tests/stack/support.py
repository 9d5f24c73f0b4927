"""Helpers for the stack tests: free ports for every component, the CLI as a subprocess, liveness checks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.stack.ports import StackPorts
from harness.stack.processes import ProcessRef, is_running, start_ticks
from tests.backend.agui import SessionStream
from tests.support import HARNESS, free_port


def free_stack_ports() -> StackPorts:
    """A port for every component, all free right now and all different."""
    ports: set[int] = set()
    while len(ports) < len(StackPorts.names()):
        ports.add(free_port())
    return StackPorts().with_overrides(dict(zip(StackPorts.names(), sorted(ports), strict=True)))


def port_args(ports: StackPorts) -> list[str]:
    return ["--port", ",".join(f"{name}={port}" for name, port in ports.as_dict().items())]


def harness(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``harness ARGS`` to completion; output captured as text."""
    return subprocess.run([*HARNESS, *args], capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, **(env or {})})


def status(state_dir: Path) -> dict[str, Any]:
    result = harness("stack", "status", "--json", "--state-dir", str(state_dir))
    return json.loads(result.stdout)


def listening(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int, ticks: int | None) -> bool:
    return is_running(ProcessRef(pid, ticks or 0))


@dataclass
class Recorded:
    """PIDs (with start times) recorded for a stack, to check later that they all ended."""

    pids: dict[str, tuple[int, int | None]]

    @classmethod
    def of(cls, report: dict[str, Any]) -> Recorded:
        return cls({name: (c["pid"], start_ticks(c["pid"])) for name, c in report["components"].items() if c["pid"]})

    def running(self) -> list[str]:
        return [name for name, (pid, ticks) in self.pids.items() if ticks is not None and alive(pid, ticks)]


def assert_all_gone(recorded: Recorded, ports: StackPorts, state_dir: Path, timeout: float = 10.0) -> None:
    """No recorded process alive, no stack port still accepting connections, no state file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (recorded.running() or any(map(listening, ports.as_dict().values()))):
        time.sleep(0.1)
    assert recorded.running() == []
    assert [name for name, port in ports.as_dict().items() if listening(port)] == []
    assert not (state_dir / "state.json").exists()


def timed_turn(stream: SessionStream, content: str, timeout: float = 60.0) -> tuple[float, list[tuple[float, dict]]]:
    """Send a turn; the send time and every event up to the end of the run with its arrival time."""
    sent = time.perf_counter()
    response = stream.send(content)
    assert response.status_code == 202, response.text
    return sent, stream.collect_timed(timeout)


def step_seconds(events: list[tuple[float, dict]], step: str) -> float:
    """Time between STEP_STARTED and STEP_FINISHED of ``step``, by event arrival."""
    started = next(t for t, e in events if e["type"] == "STEP_STARTED" and e.get("stepName") == step)
    finished = next(t for t, e in events if e["type"] == "STEP_FINISHED" and e.get("stepName") == step)
    return finished - started
