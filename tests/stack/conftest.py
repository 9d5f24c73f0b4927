"""A whole stack, brought up once per test module that asks for it, always brought down afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.stack.ports import StackPorts
from tests.stack.support import Recorded, free_stack_ports, harness, port_args, status


@dataclass
class RunningStack:
    state_dir: Path
    ports: StackPorts
    report: dict[str, Any]
    up_output: str

    @property
    def backend_url(self) -> str:
        return self.report["urls"]["backend_url"]

    @property
    def proxy_url(self) -> str:
        return self.report["urls"]["toxiproxy_url"]

    @property
    def prometheus_url(self) -> str:
        return self.report["urls"]["prometheus_url"]

    def recorded(self) -> Recorded:
        return Recorded.of(self.report)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """``harness stack up`` on free ports in a temporary state directory; ``down`` at the end of the module."""
    state_dir = tmp_path_factory.mktemp("stack") / "state"
    ports = free_stack_ports()
    result = harness("stack", "up", "--state-dir", str(state_dir), *port_args(ports), "--scrape-interval", "1")
    try:
        assert result.returncode == 0, result.stderr
        yield RunningStack(state_dir, ports, status(state_dir), result.stdout)
    finally:
        harness("stack", "down", "--state-dir", str(state_dir))
