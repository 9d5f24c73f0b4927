"""Each toxic's measurable effect over real sockets (generous tolerances: the machine is noisy)."""

from __future__ import annotations

import os
import socket
import statistics
import time

import httpx
import pytest

from tests.proxy.support import EchoServer, Peer, add_toxic, create_proxy


@pytest.fixture
def port(api: httpx.Client, echo: EchoServer) -> int:
    return create_proxy(api, "t", echo.address)


def test_no_toxic_is_fast_and_byte_exact(port: int) -> None:
    payload = os.urandom(256 * 1024)
    with Peer.connect(port) as peer:
        assert peer.roundtrip_ms() < 100
        peer.sock.sendall(payload)
        assert peer.recv_exact(len(payload)) == payload


def test_latency_downstream(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "latency", attributes={"latency": 100})
    with Peer.connect(port) as peer:
        elapsed = peer.roundtrip_ms()
    assert 95 <= elapsed < 400


def test_latency_both_directions_add_up(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "latency", attributes={"latency": 100})
    add_toxic(api, "t", "latency", stream="upstream", attributes={"latency": 100})
    with Peer.connect(port) as peer:
        elapsed = peer.roundtrip_ms()
    assert 195 <= elapsed < 500


def test_stacked_latency_toxics_add_up(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "latency", name="a", stream="upstream", attributes={"latency": 60})
    add_toxic(api, "t", "latency", name="b", stream="upstream", attributes={"latency": 60})
    with Peer.connect(port) as peer:
        elapsed = peer.roundtrip_ms()
    assert 115 <= elapsed < 450


def test_latency_jitter_varies_within_bounds(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "latency", attributes={"latency": 40, "jitter": 20})
    with Peer.connect(port) as peer:
        samples = [peer.roundtrip_ms() for _ in range(15)]
    assert min(samples) >= 19
    assert statistics.median(samples) < 150
    assert max(samples) - min(samples) >= 5


def test_latency_is_pipelined_not_a_throughput_cap(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "latency", attributes={"latency": 100})
    payload = os.urandom(2 * 1024 * 1024)
    with Peer.connect(port) as peer:
        started = time.perf_counter()
        peer.sock.sendall(payload)
        assert peer.recv_exact(len(payload)) == payload
        elapsed = time.perf_counter() - started
    assert 0.095 <= elapsed < 2.0  # 2 MiB in 64 KiB chunks: about one latency, not one per chunk


def test_bandwidth_limits_rate_kb_is_1000_bytes(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "bandwidth", attributes={"rate": 100})
    payload = os.urandom(50_000)
    with Peer.connect(port) as peer:
        started = time.perf_counter()
        peer.sock.sendall(payload)
        assert peer.recv_exact(len(payload)) == payload
        elapsed = time.perf_counter() - started
    assert 0.45 <= elapsed < 1.5


def test_bandwidth_zero_holds_data_until_removed(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "bandwidth", attributes={"rate": 0})
    with Peer.connect(port) as peer:
        peer.sock.sendall(b"held")
        peer.sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            peer.sock.recv(10)
        assert api.delete("/proxies/t/toxics/bandwidth_downstream").status_code == 204
        peer.sock.settimeout(5)
        assert peer.recv_exact(4) == b"held"


def test_slow_close_delays_the_close(api: httpx.Client, port: int) -> None:
    def close_delay_ms() -> float:
        with Peer.connect(port) as peer:
            peer.roundtrip_ms()
            started = time.perf_counter()
            peer.sock.shutdown(socket.SHUT_WR)
            assert peer.read_until_closed() == b""
            return (time.perf_counter() - started) * 1000

    assert close_delay_ms() < 150
    add_toxic(api, "t", "slow_close", attributes={"delay": 300})
    assert 280 <= close_delay_ms() < 1500


def test_timeout_drops_data_and_closes_after_timeout(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "timeout", attributes={"timeout": 200})
    with Peer.connect(port) as peer:
        started = time.perf_counter()
        peer.sock.sendall(b"lost")
        assert peer.read_until_closed() == b""
        elapsed = (time.perf_counter() - started) * 1000
    assert 150 <= elapsed < 1500


def test_timeout_zero_never_closes(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "timeout", attributes={"timeout": 0})
    with Peer.connect(port) as peer:
        peer.sock.sendall(b"lost")
        peer.sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            peer.sock.recv(10)


def test_reset_peer_resets_after_timeout(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "reset_peer", attributes={"timeout": 200})
    with Peer.connect(port) as peer:
        started = time.perf_counter()
        peer.sock.sendall(b"trigger")
        with pytest.raises(ConnectionResetError):
            peer.read_until_closed()
        elapsed = (time.perf_counter() - started) * 1000
    assert 150 <= elapsed < 1500


def test_reset_peer_upstream_immediately(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "reset_peer", stream="upstream", attributes={"timeout": 0})
    with Peer.connect(port) as peer:
        peer.sock.sendall(b"trigger")
        with pytest.raises(ConnectionResetError):
            peer.read_until_closed()


def test_slicer_cuts_into_delayed_pieces(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "slicer", attributes={"average_size": 100, "size_variation": 40, "delay": 5000})
    payload = os.urandom(2000)
    with Peer.connect(port) as peer:
        started = time.perf_counter()
        peer.sock.sendall(payload)
        received, reads = bytearray(), 0
        while len(received) < len(payload):
            received += peer.sock.recv(65536)
            reads += 1
        elapsed = time.perf_counter() - started
    assert bytes(received) == payload
    assert reads >= 5
    assert elapsed >= 0.05  # at least ~14 pieces x 5 ms


def test_limit_data_truncates_then_closes(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "limit_data", attributes={"bytes": 100})
    with Peer.connect(port) as peer:
        assert peer.roundtrip_ms(b"a" * 60) < 1000
        peer.sock.sendall(b"b" * 60)
        assert peer.read_until_closed() == b"b" * 40


def test_noop_passes_data(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "noop")
    with Peer.connect(port) as peer:
        assert peer.roundtrip_ms(b"unchanged") < 100


def test_toxicity_zero_one_and_half(api: httpx.Client, port: int) -> None:
    add_toxic(api, "t", "latency", toxicity=0.0, attributes={"latency": 150})
    with Peer.connect(port) as peer:
        assert peer.roundtrip_ms() < 100
    api.patch("/proxies/t/toxics/latency_downstream", json={"toxicity": 1.0})
    with Peer.connect(port) as peer:
        assert peer.roundtrip_ms() >= 140
    api.patch("/proxies/t/toxics/latency_downstream", json={"toxicity": 0.5})
    slow = 0
    for _ in range(30):
        with Peer.connect(port) as peer:
            slow += peer.roundtrip_ms() >= 140
    assert 0 < slow < 30  # per connection: both outcomes occur (all-equal has probability 2^-29)
