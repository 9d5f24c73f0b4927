"""Health checks: an HTTP endpoint answering 200, or a TCP port accepting connections."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx

CHECK_TIMEOUT_S = 1.0


def healthy(health_url: str | None, timeout_s: float = CHECK_TIMEOUT_S) -> bool:
    """``http(s)://...`` must answer 200; ``tcp://host:port`` must accept a connection."""
    if not health_url:
        return False
    target = urlsplit(health_url)
    if target.scheme == "tcp":
        try:
            socket.create_connection((target.hostname or "127.0.0.1", target.port or 0), timeout_s).close()
        except OSError:
            return False
        return True
    try:
        return httpx.get(health_url, timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def check_all(checks: dict[str, Callable[[], bool]]) -> dict[str, bool]:
    """Run the checks in parallel threads: ``{name: passed}``."""
    if not checks:
        return {}
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = {name: pool.submit(check) for name, check in checks.items()}
        return {name: future.result() for name, future in futures.items()}


def wait_until(checks: dict[str, Callable[[], bool]], timeout_s: float,
               abort: Callable[[], None] = lambda: None) -> list[str]:
    """Poll until every check passes; returns the names still failing when ``timeout_s`` runs out.

    ``abort`` is called between rounds and raises to end the wait early (e.g. a process died).
    """
    deadline = time.monotonic() + timeout_s
    pending = dict(checks)
    while pending:
        results = check_all(pending)
        pending = {name: check for name, check in pending.items() if not results[name]}
        if not pending or time.monotonic() >= deadline:
            break
        abort()
        time.sleep(0.1)
    return sorted(pending)
