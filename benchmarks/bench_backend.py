"""Benchmark: the reference backend's turns/s, time to first AG-UI event, and idle SSE connections.

The backend runs pinned to CPU 0; PostgreSQL, the stand-ins (no faults, no latency) and this client share
CPU 1. Baseline in the same run: the same clients streaming completions from the OpenAI stub directly, i.e.
the backend's one unavoidable dependency call without the backend around it.

1. turns: C keep-alive clients send simple ``POST /ag-ui/run`` turns back to back for D seconds;
2. idle: S session streams (``GET /ag-ui/events``) opened and held; backend RSS before and after, and the
   first-event time of one turn while they are open.

Usage: .venv/bin/python -m benchmarks.bench_backend [--duration 10] [--concurrency 16] [--idle 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import HARNESS, Server, post_json_request, print_table, quantile, start_pinned
from harness.stack.postgres import LocalPostgres

PORTS = {"postgres": 19201, "openai": 19202, "weather": 19203, "tools": 19204, "a2a": 19205, "backend": 19206}
END_MARKERS = (b'"RUN_FINISHED"', b'"RUN_ERROR"', b"data: [DONE]")


@dataclass
class Timings:
    first_event: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    errors: int = 0


def run_request(port: int) -> bytes:
    return post_json_request(port, "/ag-ui/run", {
        "threadId": f"bench-{uuid.uuid4().hex[:8]}", "runId": uuid.uuid4().hex,
        "messages": [{"id": "u1", "role": "user", "content": "hello there"}]})


def chat_request(port: int) -> bytes:
    return post_json_request(port, "/v1/chat/completions", {
        "model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hello there"}]})


async def one_exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes,
                       timings: Timings) -> None:
    """One streamed exchange on a keep-alive connection, timed to its first SSE event and its end."""
    started = time.perf_counter()
    writer.write(request)
    buffer = bytearray()
    first = None
    while True:
        data = await reader.read(65_536)
        if not data:
            raise ConnectionError("connection closed mid-stream")
        buffer += data
        if first is None and b"data: " in buffer:
            first = time.perf_counter() - started
        if any(marker in buffer for marker in END_MARKERS) and buffer.endswith(b"0\r\n\r\n"):
            break
    if b'"RUN_ERROR"' in buffer:
        timings.errors += 1
    timings.first_event.append(first or 0.0)
    timings.total.append(time.perf_counter() - started)


async def closed_loop(port: int, make_request: Callable[[int], bytes], concurrency: int,
                      duration: float) -> Timings:
    """``concurrency`` clients, each sending its next request when the last one ended."""
    timings = Timings()
    deadline = time.perf_counter() + duration

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                await one_exchange(reader, writer, make_request(port), timings)
        except (ConnectionError, OSError):
            timings.errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return timings


async def hold_idle_streams(server: Server, count: int) -> tuple[int, float, float]:
    """Open ``count`` session streams; returns (opened, RSS MB after, first-event ms of one turn meanwhile)."""
    writers = []
    opened = 0
    for batch in range(0, count, 200):
        async def open_one(index: int) -> None:
            nonlocal opened
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(f"GET /ag-ui/events?thread_id=idle-{index} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            data = b""
            while b": connected" not in data:
                chunk = await reader.read(4096)
                if not chunk:
                    return
                data += chunk
            writers.append(writer)
            opened += 1

        await asyncio.gather(*(open_one(i) for i in range(batch, min(count, batch + 200))), return_exceptions=True)
    await asyncio.sleep(1.0)
    rss_mb = server.rss_kb() / 1024
    during = await closed_loop(server.port, run_request, 1, 2.0)
    for writer in writers:
        writer.close()
    return opened, rss_mb, quantile(during.first_event, 0.5) * 1000


def start_world(workdir: Path) -> tuple[LocalPostgres, list[Server], Server]:
    postgres = LocalPostgres(workdir / "pg", PORTS["postgres"])
    postgres.start()

    def url(name: str) -> str:
        return f"http://127.0.0.1:{PORTS[name]}"

    stand_ins = [
        start_pinned("openai", [HARNESS, "mock", "openai", "--port", str(PORTS["openai"])], PORTS["openai"], "1"),
        start_pinned("weather", [HARNESS, "mock", "weather", "--port", str(PORTS["weather"])], PORTS["weather"], "1"),
        start_pinned("tools", [HARNESS, "mock", "tools", "--port", str(PORTS["tools"]), "--weather-url",
                               url("weather")], PORTS["tools"], "1"),
        start_pinned("a2a", [HARNESS, "mock", "a2a", "--port", str(PORTS["a2a"]), "--processing-ms", "0"],
                     PORTS["a2a"], "1"),
    ]
    backend = start_pinned("backend", [
        HARNESS, "backend", "--port", str(PORTS["backend"]), "--database-url", postgres.url,
        "--openai-base-url", f"{url('openai')}/v1", "--mcp-url", f"{url('tools')}/mcp", "--a2a-url", url("a2a"),
        "--sse-queue-size", "1000"], PORTS["backend"], "0")
    return postgres, stand_ins, backend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--idle", type=int, default=2000)
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    with tempfile.TemporaryDirectory() as workdir:
        postgres, stand_ins, backend = start_world(Path(workdir))
        try:
            asyncio.run(closed_loop(backend.port, run_request, 4, 2.0))  # warm-up
            direct = asyncio.run(closed_loop(PORTS["openai"], chat_request, args.concurrency, args.duration))
            turns = asyncio.run(closed_loop(backend.port, run_request, args.concurrency, args.duration))
            rss_before = backend.rss_kb() / 1024
            opened, rss_after, busy_first_ms = asyncio.run(hold_idle_streams(backend, args.idle))
        finally:
            backend.stop()
            for server in stand_ins:
                server.stop()
            postgres.stop()
    rows: dict[str, list[float | None]] = {
        "turns/s (one backend core)": [len(turns.total) / args.duration, len(direct.total) / args.duration],
        "first event p50 ms": [quantile(turns.first_event, 0.5) * 1000, quantile(direct.first_event, 0.5) * 1000],
        "first event p95 ms": [quantile(turns.first_event, 0.95) * 1000, quantile(direct.first_event, 0.95) * 1000],
        "turn p50 ms": [quantile(turns.total, 0.5) * 1000, quantile(direct.total, 0.5) * 1000],
        "turn p95 ms": [quantile(turns.total, 0.95) * 1000, quantile(direct.total, 0.95) * 1000],
        "errors": [turns.errors, direct.errors],
        f"idle streams opened (of {args.idle})": [opened, None],
        "backend RSS MB: idle streams / none": [rss_after, rss_before],
        "first event p50 ms with idle streams": [busy_first_ms, None],
    }
    print_table(f"Reference backend: {args.concurrency} clients, simple turns for {args.duration:.0f}s "
                "(backend on CPU 0; PostgreSQL, stand-ins and client on CPU 1). Baseline: the OpenAI stub alone.",
                ["backend", "baseline"], rows)


if __name__ == "__main__":
    main()
