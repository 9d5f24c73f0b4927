"""Fixtures for the reference backend: real PostgreSQL, real stand-ins, the backend as a process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from harness.stack.postgres import LocalPostgres
from tests.support import Service


@dataclass
class StandIns:
    openai: Service
    weather: Service
    tools: Service
    a2a: Service

    def clear_faults(self) -> None:
        for service in (self.openai, self.weather, self.tools, self.a2a):
            httpx.delete(f"{service.url}/_control/faults")


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


@pytest.fixture(scope="module")
def backend(start_backend: Callable[..., Service]) -> Service:
    """A healthy backend shared by a module's tests."""
    return start_backend()


@pytest.fixture
async def db(postgres: LocalPostgres) -> asyncpg.Connection:
    connection = await asyncpg.connect(postgres.url)
    yield connection
    await connection.close()
