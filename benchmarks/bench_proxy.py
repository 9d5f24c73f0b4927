"""Benchmark the embedded Toxiproxy-compatible proxy against a direct loopback connection in the same run.

Run: ``.venv/bin/python benchmarks/bench_proxy.py`` (about a minute). It starts an upstream (echo + sink) in a
child process and ``harness proxy serve`` as another process, then measures from this process:

- bulk throughput one way (MB/s), direct vs proxied (goal: proxied >= 50 % of direct);
- round-trip time of small messages with no toxic, p50/p99, and the p50 the proxy adds (goal <= 0.5 ms);
- accuracy of a 50 ms downstream latency toxic (goal: p50 error within +-2 ms);
- 1,000 concurrent connections through one proxy (goal: no errors).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BULK_BYTES = 512 * 1024 * 1024
BULK_CHUNK = 256 * 1024
SMALL_MESSAGE = b"x" * 64
SMALL_ROUNDS = 3000
LATENCY_MS = 50
LATENCY_ROUNDS = 40
CONCURRENT = 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- upstream: echo on one port, sink on another (child process) ------------------------------------------------

async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read an 8-byte length, then that many bytes, then answer ``ok``."""
    try:
        remaining = int.from_bytes(await reader.readexactly(8), "big")
        while remaining > 0:
            data = await reader.read(min(remaining, 1 << 20))
            if not data:
                return
            remaining -= len(data)
        writer.write(b"ok")
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def run_upstream(echo_port: int, sink_port: int) -> None:
    async def main() -> None:
        await asyncio.start_server(_echo, "127.0.0.1", echo_port, backlog=4096)
        await asyncio.start_server(_sink, "127.0.0.1", sink_port, backlog=4096)
        await asyncio.Event().wait()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


# --- measurements ---------------------------------------------------------------------------------------------

def bulk_mb_per_s(port: int) -> float:
    payload = os.urandom(BULK_CHUNK)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        started = time.perf_counter()
        sock.sendall(BULK_BYTES.to_bytes(8, "big"))
        for _ in range(BULK_BYTES // BULK_CHUNK):
            sock.sendall(payload)
        assert sock.recv(2) == b"ok"
        elapsed = time.perf_counter() - started
    return BULK_BYTES / elapsed / 1e6


def round_trips_ms(port: int, rounds: int) -> list[float]:
    samples = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(rounds):
            started = time.perf_counter()
            sock.sendall(SMALL_MESSAGE)
            received = 0
            while received < len(SMALL_MESSAGE):
                received += len(sock.recv(4096))
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _concurrent(port: int, count: int) -> tuple[int, float]:
    errors = 0
    opened: list[asyncio.StreamWriter] = []

    async def one(index: int) -> None:
        nonlocal errors
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
            opened.append(writer)
            message = f"conn-{index:05d}".encode()
            writer.write(message)
            if await asyncio.wait_for(reader.readexactly(len(message)), 30) != message:
                errors += 1
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(index) for index in range(count)))
    elapsed = time.perf_counter() - started  # all connections open and answered at this point
    for writer in opened:
        writer.close()
    return errors, elapsed


def concurrent(port: int, count: int) -> tuple[int, float]:
    return asyncio.run(_concurrent(port, count))


# --- orchestration ------------------------------------------------------------------------------------------

def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/version", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("proxy server did not start")


def main() -> int:
    echo_port, sink_port, api_port = free_port(), free_port(), free_port()
    upstream = multiprocessing.Process(target=run_upstream, args=(echo_port, sink_port), daemon=True)
    upstream.start()
    server = subprocess.Popen([sys.executable, "-m", "harness.cli", "proxy", "serve", "--port", str(api_port),
                               "--log-level", "warning"], cwd=ROOT, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{api_port}"
    rows: list[tuple[str, str, str, str]] = []
    try:
        wait_ready(url)
        api = httpx.Client(base_url=url, timeout=10)

        def proxy_to(name: str, target: int) -> int:
            body = api.post("/proxies", json={"name": name, "listen": "127.0.0.1:0",
                                              "upstream": f"127.0.0.1:{target}"}).json()
            return int(body["listen"].rsplit(":", 1)[1])

        echo_proxy, sink_proxy = proxy_to("echo", echo_port), proxy_to("sink", sink_port)

        direct_mb = max(bulk_mb_per_s(sink_port) for _ in range(2))
        proxied_mb = max(bulk_mb_per_s(sink_proxy) for _ in range(2))
        rows.append(("bulk throughput (MB/s)", f"{direct_mb:.0f}", f"{proxied_mb:.0f}",
                     f"{proxied_mb / direct_mb:.0%} of direct (goal >= 50%)"))

        direct = round_trips_ms(echo_port, SMALL_ROUNDS)
        proxied = round_trips_ms(echo_proxy, SMALL_ROUNDS)
        added = statistics.median(proxied) - statistics.median(direct)
        rows.append(("small-message RTT p50 (ms)", f"{statistics.median(direct):.3f}",
                     f"{statistics.median(proxied):.3f}", f"+{added:.3f} ms added (goal <= 0.5)"))
        rows.append(("small-message RTT p99 (ms)", f"{percentile(direct, 0.99):.3f}",
                     f"{percentile(proxied, 0.99):.3f}", ""))

        api.post("/proxies/echo/toxics", json={"type": "latency", "attributes": {"latency": LATENCY_MS}})
        toxic = round_trips_ms(echo_proxy, LATENCY_ROUNDS)
        api.post("/reset")
        error = statistics.median(toxic) - statistics.median(proxied) - LATENCY_MS
        rows.append((f"latency toxic {LATENCY_MS} ms, RTT p50 (ms)", f"{statistics.median(direct):.3f}",
                     f"{statistics.median(toxic):.3f}", f"p50 error {error:+.3f} ms (goal within +-2)"))

        direct_errors, direct_s = concurrent(echo_port, CONCURRENT)
        proxy_errors, proxy_s = concurrent(echo_proxy, CONCURRENT)
        rows.append((f"{CONCURRENT} concurrent conns: errors", str(direct_errors), str(proxy_errors),
                     "goal 0 through the proxy"))
        rows.append((f"{CONCURRENT} concurrent conns: time (s)", f"{direct_s:.2f}", f"{proxy_s:.2f}", ""))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)
        upstream.terminate()
        upstream.join(5)

    widths = [max(len(row[column]) for row in [("measure", "direct", "proxied", "ratio / goal"), *rows])
              for column in range(4)]
    for row in [("measure", "direct", "proxied", "ratio / goal"), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
