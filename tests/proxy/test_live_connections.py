"""Toxic and proxy changes act on connections that are already open, as in the real server."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from tests.proxy.support import EchoServer, Peer, add_toxic, create_proxy


@pytest.fixture
def port(api: httpx.Client, echo: EchoServer) -> int:
    return create_proxy(api, "live", echo.address)


def test_added_toxic_applies_to_open_connection(api: httpx.Client, port: int) -> None:
    with Peer.connect(port) as peer:
        assert peer.roundtrip_ms() < 100
        add_toxic(api, "live", "latency", attributes={"latency": 150})
        assert peer.roundtrip_ms() >= 145


def test_removing_latency_releases_held_data_at_once(api: httpx.Client, port: int) -> None:
    add_toxic(api, "live", "latency", attributes={"latency": 5000})
    with Peer.connect(port) as peer:
        started = time.perf_counter()
        peer.sock.sendall(b"held")
        time.sleep(0.1)
        assert api.delete("/proxies/live/toxics/latency_downstream").status_code == 204
        assert peer.recv_exact(4) == b"held"
        assert time.perf_counter() - started < 2.0


def test_update_restarts_toxic_with_new_attributes(api: httpx.Client, port: int) -> None:
    add_toxic(api, "live", "latency", attributes={"latency": 300})
    with Peer.connect(port) as peer:
        assert peer.roundtrip_ms() >= 290
        api.patch("/proxies/live/toxics/latency_downstream", json={"attributes": {"latency": 0}})
        assert peer.roundtrip_ms() < 100


def test_limit_data_count_survives_update(api: httpx.Client, port: int) -> None:
    add_toxic(api, "live", "limit_data", attributes={"bytes": 100})
    with Peer.connect(port) as peer:
        peer.roundtrip_ms(b"x" * 80)
        api.patch("/proxies/live/toxics/limit_data_downstream", json={"attributes": {"bytes": 90}})
        peer.sock.sendall(b"y" * 50)
        assert peer.read_until_closed() == b"y" * 10


def test_removing_timeout_toxic_closes_connection(api: httpx.Client, port: int) -> None:
    add_toxic(api, "live", "timeout", attributes={"timeout": 0})
    with Peer.connect(port) as peer:
        peer.sock.sendall(b"swallowed")
        time.sleep(0.1)
        assert api.delete("/proxies/live/toxics/timeout_downstream").status_code == 204
        assert peer.read_until_closed() == b""


def test_removal_does_not_hang_behind_timeout(api: httpx.Client, port: int) -> None:
    add_toxic(api, "live", "timeout", stream="upstream", attributes={"timeout": 0})
    add_toxic(api, "live", "latency", stream="upstream", attributes={"latency": 1000})
    with Peer.connect(port) as peer:
        peer.sock.sendall(b"x")
        time.sleep(0.2)  # let the proxy finish dialing the upstream, so the link carries both toxics
        started = time.perf_counter()
        assert api.delete("/proxies/live/toxics/latency_upstream").status_code == 204
        assert api.delete("/proxies/live/toxics/timeout_upstream").status_code == 204
        assert time.perf_counter() - started < 1.0
        assert peer.read_until_closed() == b""


def test_disable_closes_connections_and_refuses_new_ones(api: httpx.Client, port: int) -> None:
    add_toxic(api, "live", "latency", attributes={"latency": 1})
    with Peer.connect(port) as peer:
        peer.roundtrip_ms()
        assert api.post("/proxies/live", json={"enabled": False}).json()["enabled"] is False
        assert peer.read_until_closed() == b""
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    proxy = api.post("/proxies/live", json={"enabled": True}).json()
    assert proxy["toxics"][0]["name"] == "latency_downstream"  # toxics kept across disable/enable
    with Peer.connect(port) as peer:
        assert peer.roundtrip_ms() < 500


def test_delete_closes_connections(api: httpx.Client, port: int) -> None:
    with Peer.connect(port) as peer:
        peer.roundtrip_ms()
        assert api.delete("/proxies/live").status_code == 204
        assert peer.read_until_closed() == b""


def test_upstream_down_closes_client_and_proxy_survives(api: httpx.Client, echo: EchoServer) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        dead = holder.getsockname()[1]  # bound, not listening: connection refused
        port = create_proxy(api, "dead", f"127.0.0.1:{dead}")
        with Peer.connect(port) as peer:
            assert peer.read_until_closed() == b""
    assert api.get("/proxies/dead").json()["enabled"] is True


def test_many_connections_with_toxic_churn_lose_no_data(api: httpx.Client, port: int) -> None:
    stop = threading.Event()

    def churn() -> None:
        with httpx.Client(base_url=str(api.base_url)) as client:
            while not stop.is_set():
                client.post("/proxies/live/toxics", json={"type": "latency", "attributes": {"latency": 2}})
                client.delete("/proxies/live/toxics/latency_downstream")

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        with Peer.connect(port) as peer:
            for index in range(200):
                message = f"message-{index:04d}".encode()
                peer.sock.sendall(message)
                assert peer.recv_exact(len(message)) == message
    finally:
        stop.set()
        worker.join(10)
