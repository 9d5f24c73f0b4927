"""Database faults: kill the backend's PostgreSQL connections, or cut its route to the database."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from chaoslib.exceptions import ActivityFailed

from harness.faults.network import proxy_down, reset_peer
from harness.faults.record import record_fault
from harness.targets import target_url

__all__ = ["drop_db_connections", "terminate_backend_connections"]

TERMINATE = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE application_name LIKE $1 AND pid <> pg_backend_pid()")


def terminate_backend_connections(application_name_prefix: str = "agent-backend-",
                                  configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """``pg_terminate_backend`` every connection whose application_name starts with the prefix.

    Connects to the server itself (``postgres_url``, else ``database_url``), not through the proxy, so it
    works while the proxy is faulted. Returns how many connections were terminated.
    """
    configuration = configuration or {}
    try:
        url = target_url(configuration, "postgres")
    except ActivityFailed:
        url = target_url(configuration, "database")

    async def terminate() -> int:
        connection = await asyncpg.connect(url, timeout=10)
        try:
            return int(await connection.fetchval(TERMINATE, f"{application_name_prefix}%"))
        finally:
            await connection.close()

    try:
        count = asyncio.run(terminate())
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        raise ActivityFailed(f"cannot terminate connections on {url.split('@')[-1]}: {error}") from error
    entry = record_fault(configuration, kind="db:pg_terminate_backend", target=url.split("@")[-1],
                         description=f"pg_terminate_backend of {count} '{application_name_prefix}*' connections",
                         undo={"kind": "none"}, ttl_s=None, details={"terminated": count})
    return {"ledger_id": entry.id, "terminated": count}


def drop_db_connections(mode: str = "reset_peer", seconds: float = 10.0, proxy: str = "postgres",
                        configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Drop the backend's database route for ``seconds``: ``reset_peer`` (RST on every connection) or ``down``."""
    if mode == "reset_peer":
        return reset_peer(proxy, 0, "downstream", ttl_s=seconds, configuration=configuration)
    if mode == "down":
        return proxy_down(proxy, seconds, configuration=configuration)
    raise ActivityFailed(f"mode must be reset_peer or down (got {mode!r})")
