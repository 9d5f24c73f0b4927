"""Fixtures for the reference backend: real PostgreSQL, real stand-ins, the backend as a process."""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
import pytest

from harness.stack.postgres import LocalPostgres
from tests.support import Service


@pytest.fixture(scope="module")
def backend(start_backend: Callable[..., Service]) -> Service:
    """A healthy backend shared by a module's tests."""
    return start_backend()


@pytest.fixture
async def db(postgres: LocalPostgres) -> asyncpg.Connection:
    connection = await asyncpg.connect(postgres.url)
    yield connection
    await connection.close()
