"""Fixtures: one embedded proxy server (own thread) and one echo upstream for the whole proxy test session."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from harness.proxy import BackgroundProxyServer
from tests.proxy.support import EchoServer
from tests.support import free_port


@pytest.fixture(scope="session")
def proxy_server() -> Iterator[BackgroundProxyServer]:
    with BackgroundProxyServer("127.0.0.1", free_port(), metrics=True) as server:
        yield server


@pytest.fixture(scope="session")
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


@pytest.fixture
def api(proxy_server: BackgroundProxyServer) -> Iterator[httpx.Client]:
    """An HTTP client on the API; every proxy is deleted after the test."""
    with httpx.Client(base_url=proxy_server.url, timeout=10.0) as client:
        yield client
        for name in client.get("/proxies").json():
            client.delete(f"/proxies/{name}")
