"""Conversation history and the audit log in PostgreSQL, through an asyncpg pool that recovers.

Connections carry ``application_name = agent-backend-<pid>`` so an experiment can drop exactly this
process's connections with ``pg_terminate_backend``. When PostgreSQL drops a connection (that, or a
proxy reset), asyncpg marks it closed; the healthy build retries the operation once on a fresh
connection, which the pool opens in its place.
The ``db_pool_no_recovery`` defect swaps in a home-grown fixed pool that hands the same connections out
forever, dead or alive — the bug a team ships when it "optimises away" asyncpg's pool.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

import asyncpg
import structlog

from mocks.agent_backend.metrics import BackendMetrics

log = structlog.get_logger("agent-db")
T = TypeVar("T")

SCHEMA_LOCK_ID = 7_242_001
SCHEMA = """
CREATE TABLE IF NOT EXISTS agent_messages (
    id BIGSERIAL PRIMARY KEY,
    thread_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT,
    tool_calls JSONB,
    tool_call_id TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS agent_messages_thread_idx ON agent_messages (thread_id, id);
CREATE TABLE IF NOT EXISTS agent_audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL DEFAULT now(),
    thread_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail JSONB NOT NULL DEFAULT '{}'::jsonb,
    duration_ms DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS agent_audit_log_run_idx ON agent_audit_log (run_id);
"""

CONNECTION_LOST = (asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.exceptions.AdminShutdownError,
                   asyncpg.exceptions.InterfaceError, asyncpg.exceptions.PostgresConnectionError,
                   ConnectionError, OSError)


class DatabaseUnavailable(RuntimeError):
    """A database operation failed; the message names the operation and the cause."""


class ConnectionSource(Protocol):
    """Hands out connections; the healthy and the defective pool both fit."""

    def acquire(self) -> Any: ...

    async def close(self) -> None: ...


class FixedPool:
    """The ``db_pool_no_recovery`` defect: N connections opened once, reused forever, never replaced."""

    def __init__(self, connections: list[asyncpg.Connection]) -> None:
        self._idle: asyncio.Queue[asyncpg.Connection] = asyncio.Queue()
        self._all = connections
        for connection in connections:
            self._idle.put_nowait(connection)

    @classmethod
    async def open(cls, url: str, size: int, connect_timeout_s: float, settings: dict[str, str]) -> FixedPool:
        return cls([await asyncpg.connect(url, timeout=connect_timeout_s, server_settings=settings)
                    for _ in range(size)])

    @asynccontextmanager
    async def acquire(self, timeout: float | None = None) -> AsyncIterator[asyncpg.Connection]:  # noqa: ASYNC109
        """Same signature as ``asyncpg.Pool.acquire``; the connection goes back whatever its state."""
        connection = await asyncio.wait_for(self._idle.get(), timeout)
        try:
            yield connection
        finally:
            self._idle.put_nowait(connection)

    async def close(self) -> None:
        for connection in self._all:
            connection.terminate()


class Database:
    """History and audit operations, each timed, counted and retried once on a lost connection."""

    def __init__(self, source: ConnectionSource, metrics: BackendMetrics, *, timeout_s: float,
                 retry_lost_connections: bool) -> None:
        self._source = source
        self._metrics = metrics
        self._timeout_s = timeout_s
        self._retry = retry_lost_connections

    @classmethod
    async def connect(cls, url: str, metrics: BackendMetrics, *, pool_size: int, timeout_s: float,
                      recovering: bool) -> Database:
        """Open the pool (healthy asyncpg pool, or the defect's fixed pool) and create the schema."""
        settings = {"application_name": f"agent-backend-{os.getpid()}"}
        if recovering:
            source: ConnectionSource = await asyncpg.create_pool(
                url, min_size=min(2, pool_size), max_size=pool_size, command_timeout=timeout_s, timeout=timeout_s,
                max_inactive_connection_lifetime=60, server_settings=settings)
        else:
            source = await FixedPool.open(url, pool_size, timeout_s, settings)
        database = cls(source, metrics, timeout_s=timeout_s, retry_lost_connections=recovering)
        await database.run("schema", _create_schema)
        return database

    async def close(self) -> None:
        await self._source.close()

    async def run(self, operation: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run ``work`` on a pooled connection; a lost connection is retried once when healthy."""
        attempts = 2 if self._retry else 1
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            try:
                return await self._once(work)
            except CONNECTION_LOST as error:
                self._metrics.db_errors.labels(operation).inc()
                log.warning("db_connection_lost", operation=operation, attempt=attempt, error=str(error))
                if attempt == attempts:
                    raise DatabaseUnavailable(f"{operation}: database connection lost ({error})") from error
            except (TimeoutError, asyncpg.PostgresError) as error:
                self._metrics.db_errors.labels(operation).inc()
                raise DatabaseUnavailable(f"{operation}: {type(error).__name__}: {error}") from error
            finally:
                self._metrics.db_query_seconds.labels(operation).observe(time.perf_counter() - started)
        raise AssertionError("unreachable")

    async def _once(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        self._metrics.db_pool_waiting.inc()
        waiting = True
        try:
            async with self._source.acquire(timeout=self._timeout_s) as connection:
                self._metrics.db_pool_waiting.dec()
                waiting = False
                self._metrics.db_pool_in_use.inc()
                try:
                    return await asyncio.wait_for(work(connection), self._timeout_s)
                finally:
                    self._metrics.db_pool_in_use.dec()
        finally:
            if waiting:
                self._metrics.db_pool_waiting.dec()

    async def ping(self) -> None:
        """``SELECT 1``; raises DatabaseUnavailable when the database does not answer."""
        await self.run("ping", lambda c: c.fetchval("SELECT 1"))

    async def save_messages(self, thread_id: str, run_id: str, messages: list[dict[str, Any]]) -> None:
        """Append one run's messages to the thread, all or nothing."""
        rows = [(thread_id, run_id, seq, m["role"], m.get("content"),
                 json.dumps(m["tool_calls"]) if m.get("tool_calls") else None, m.get("tool_call_id"))
                for seq, m in enumerate(messages)]

        async def insert(connection: asyncpg.Connection) -> None:
            async with connection.transaction():
                await connection.executemany(
                    "INSERT INTO agent_messages (thread_id, run_id, seq, role, content, tool_calls, tool_call_id) "
                    "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)", rows)

        await self.run("save_messages", insert)

    async def load_history(self, thread_id: str, limit: int) -> list[dict[str, Any]]:
        """The thread's last ``limit`` messages, oldest first, in OpenAI's message shape."""

        async def select(connection: asyncpg.Connection) -> list[asyncpg.Record]:
            return await connection.fetch(
                "SELECT role, content, tool_calls, tool_call_id FROM (SELECT * FROM agent_messages "
                "WHERE thread_id = $1 ORDER BY id DESC LIMIT $2) recent ORDER BY id", thread_id, limit)

        history = []
        for row in await self.run("load_history", select):
            message: dict[str, Any] = {"role": row["role"], "content": row["content"]}
            if row["tool_calls"]:
                message["tool_calls"] = json.loads(row["tool_calls"])
            if row["tool_call_id"]:
                message["tool_call_id"] = row["tool_call_id"]
            history.append(message)
        return _drop_orphan_tool_messages(history)

    async def thread_exists(self, thread_id: str) -> bool:
        """True when the thread has history."""
        return bool(await self.run("thread_exists", lambda c: c.fetchval(
            "SELECT EXISTS (SELECT 1 FROM agent_messages WHERE thread_id = $1)", thread_id)))

    async def write_audit(self, entries: list[dict[str, Any]]) -> None:
        """Write audit entries of one run in one transaction."""
        rows = [(e["thread_id"], e["run_id"], e["actor"], e["action"], json.dumps(e.get("detail", {})),
                 e.get("duration_ms")) for e in entries]
        started = time.perf_counter()

        async def insert(connection: asyncpg.Connection) -> None:
            async with connection.transaction():
                await connection.executemany(
                    "INSERT INTO agent_audit_log (thread_id, run_id, actor, action, detail, duration_ms) "
                    "VALUES ($1, $2, $3, $4, $5::jsonb, $6)", rows)

        try:
            await self.run("write_audit", insert)
        finally:
            self._metrics.audit_write_seconds.observe(time.perf_counter() - started)


async def _create_schema(connection: asyncpg.Connection) -> None:
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK_ID)
        await connection.execute(SCHEMA)


def _drop_orphan_tool_messages(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A window that starts mid-chain begins with tool messages whose call is cut off: drop them."""
    while history and history[0]["role"] == "tool":
        history.pop(0)
    return history
