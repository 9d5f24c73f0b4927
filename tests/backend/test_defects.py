"""The harness's test of truth: each switchable defect shows in its metric; the healthy build does not."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import httpx

from tests.backend.agui import SessionStream, run_standard, types
from tests.support import Service, StandIns, metric_value


def thread() -> str:
    return f"d-{uuid.uuid4().hex[:12]}"


async def drop_connections_of(db: asyncpg.Connection, service: Service) -> int:
    """``pg_terminate_backend`` every connection the backend process holds."""
    return await db.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
        f"agent-backend-{service.process.pid}")


async def test_healthy_pool_recovers_after_pg_terminate_backend(start_backend: Callable[..., Service],
                                                                db: asyncpg.Connection) -> None:
    backend = start_backend()
    stream = SessionStream(backend.url, thread())
    assert types(stream.turn("hello")[0])[-1] == "RUN_FINISHED"
    assert await drop_connections_of(db, backend) >= 1
    outcomes = [types(stream.turn(f"after the drop {i}")[0])[-1] for i in range(3)]
    stream.close()
    assert outcomes == ["RUN_FINISHED"] * 3
    assert httpx.get(f"{backend.url}/readyz").status_code == 200
    backend.stop()


async def test_db_pool_no_recovery_keeps_failing(start_backend: Callable[..., Service],
                                                 db: asyncpg.Connection) -> None:
    backend = start_backend("--defects", "db_pool_no_recovery")
    stream = SessionStream(backend.url, thread())
    assert types(stream.turn("hello")[0])[-1] == "RUN_FINISHED"
    assert await drop_connections_of(db, backend) >= 1
    time.sleep(0.2)
    endings = [stream.turn(f"after the drop {i}")[0][-1] for i in range(3)]
    stream.close()
    assert [e["type"] for e in endings] == ["RUN_ERROR"] * 3
    assert {e["code"] for e in endings} == {"persistence_failed"}
    assert httpx.get(f"{backend.url}/readyz").status_code == 503
    assert metric_value(backend.url, "agent_db_errors_total") >= 3
    backend.stop()


def _rss(service: Service) -> float:
    return metric_value(service.url, "process_resident_memory_bytes")


def _many_runs(service: Service, count: int, content: str) -> None:
    def one(index: int) -> None:
        events = run_standard(service.url, f"leak-{index % 20}", f"run-{uuid.uuid4().hex}",
                              [{"id": "u", "role": "user", "content": content}])
        assert events[-1]["type"] == "RUN_FINISHED"

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(count)))


def test_memory_leak_grows_rss_and_healthy_does_not(start_backend: Callable[..., Service]) -> None:
    content = "remember this please " * 1000  # ~21 KB a turn
    growth = {}
    for name, extra in (("healthy", ()), ("leaky", ("--defects", "memory_leak"))):
        backend = start_backend(*extra)
        _many_runs(backend, 60, content)  # warm-up: pools, caches, allocator arenas
        before = _rss(backend)
        _many_runs(backend, 300, content)
        growth[name] = _rss(backend) - before
        backend.stop()
    assert growth["leaky"] > 6_000_000, growth
    assert growth["leaky"] > growth["healthy"] + 4_000_000, growth


def test_a2a_no_timeout_hangs_runs_healthy_times_out(start_backend: Callable[..., Service],
                                                     stand_ins: StandIns) -> None:
    httpx.post(f"{stand_ins.a2a.url}/_control/faults",
               json={"type": "latency", "attributes": {"latency_ms": 15_000}, "ttl_s": 30}).raise_for_status()
    healthy = start_backend("--a2a-timeout-s", "1")
    stream = SessionStream(healthy.url, thread())
    started = time.perf_counter()
    events, _ = stream.turn("ask the research agent about chaos engineering", timeout=10)
    stream.close()
    assert events[-1]["type"] == "RUN_FINISHED"
    assert time.perf_counter() - started < 6
    result = next(e for e in events if e["type"] == "TOOL_CALL_RESULT")
    assert "timed out" in result["content"]
    healthy.stop()

    defective = start_backend("--a2a-timeout-s", "1", "--defects", "a2a_no_timeout")
    stream = SessionStream(defective.url, thread())
    assert stream.send("ask the research agent about chaos engineering").status_code == 202
    time.sleep(4)
    assert metric_value(defective.url, "agent_runs_active") == 1
    assert metric_value(defective.url, "agent_a2a_call_duration_seconds_count") == 0
    stream.close()
    defective.stop()


def _slow_reader(service: Service, thread_id: str) -> socket.socket:
    """Open a session stream and then never read it (a client stuck behind a slow network)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", service.port))
    sock.sendall(f"GET /ag-ui/events?thread_id={thread_id} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    sock.recv(512)
    return sock


def test_unbounded_sse_queue_grows_healthy_drops_slow_consumer(start_backend: Callable[..., Service],
                                                               launch: Callable[..., Service]) -> None:
    chatty = launch("mock", "openai", "--answer-tokens", "3000")
    depths = {}
    for name, extra in (("healthy", ("--sse-queue-size", "300")), ("unbounded", ("--defects", "unbounded_sse_queue"))):
        backend = start_backend(*extra, openai_url=chatty.url)
        thread_id = thread()
        sock = _slow_reader(backend, thread_id)
        for _ in range(25):
            response = httpx.post(f"{backend.url}/ag-ui/events",
                                  json={"type": "user_message", "thread_id": thread_id, "content": "talk a lot"})
            if response.status_code != 202:
                break
            time.sleep(0.1)
        time.sleep(1.5)
        depths[name] = (metric_value(backend.url, "agent_sse_queue_depth"),
                        metric_value(backend.url, "agent_sse_slow_consumers_dropped_total"))
        sock.close()
        backend.stop()
    assert depths["healthy"][0] <= 300, depths
    assert depths["healthy"][1] >= 1, depths
    assert depths["unbounded"][0] > 20_000, depths
    assert depths["unbounded"][1] == 0, depths
    chatty.stop()


def test_retry_storm_ignores_retry_after(start_backend: Callable[..., Service], stand_ins: StandIns) -> None:
    httpx.post(f"{stand_ins.openai.url}/_control/faults",
               json={"type": "rate_limit", "attributes": {"rate": 1.0, "retry_after_s": 1}, "ttl_s": 60})
    figures = {}
    for name, extra in (("healthy", ()), ("storm", ("--defects", "retry_storm"))):
        backend = start_backend(*extra)
        stream = SessionStream(backend.url, thread())
        started = time.perf_counter()
        events, _ = stream.turn("hello", timeout=20)
        figures[name] = (time.perf_counter() - started, metric_value(backend.url, "agent_llm_retries_total"),
                         events[-1].get("code"))
        stream.close()
        backend.stop()
    healthy_s, healthy_retries, healthy_code = figures["healthy"]
    storm_s, storm_retries, storm_code = figures["storm"]
    assert healthy_code == storm_code == "llm_rate_limited"
    assert healthy_retries == 3
    assert healthy_s >= 2.9  # three waits of Retry-After: 1 s
    assert storm_retries == 9
    assert storm_s < 1.5
