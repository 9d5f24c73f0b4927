"""Benchmark: the OpenAI stub against aimock (npm @copilotkit/aimock) on the same workload, same run.

Each server runs pinned to CPU 0, this client to CPU 1. Two workloads:
1. throughput: C keep-alive clients request streamed completions of T tokens back to back for D
   seconds; reports content tokens/s, events/s and the median time of one stream;
2. concurrency: S streams opened at once, each 20 tokens paced 100 ms apart (both servers get the
   same pacing); reports completed streams, errors, wall time and the server's peak RSS.

Usage: .venv/bin/python -m benchmarks.bench_openai_stub [--duration 10] [--concurrency 50] [--tokens 200]
       [--streams 1000] [--skip-aimock]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import HARNESS, ROOT, Server, post_json_request, print_table, start_pinned

AIMOCK_DIR = ROOT / "benchmarks" / ".aimock"
AIMOCK_VERSION = "1.43.0"
CHARS_PER_CHUNK = 6  # aimock splits content by characters; 6-char words make one chunk per token
PACED_TOKENS = 20
PACE_MS = 100


@dataclass
class Result:
    tokens: int = 0
    events: int = 0
    streams: int = 0
    errors: int = 0
    durations: list[float] = field(default_factory=list)


def request_bytes(port: int, tokens: int) -> bytes:
    return post_json_request(port, "/v1/chat/completions", {
        "model": "gpt-4o-mini", "stream": True, "max_tokens": tokens,
        "messages": [{"role": "user", "content": "bench"}]})


async def one_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes,
                     result: Result) -> None:
    """Send one request on a keep-alive connection and read its chunked SSE body to the end."""
    started = time.perf_counter()
    writer.write(request)
    buffer = bytearray()
    while not (b"data: [DONE]" in buffer and buffer.endswith(b"0\r\n\r\n")):
        data = await reader.read(262_144)
        if not data:
            raise ConnectionError("server closed the connection mid-stream")
        buffer += data
    result.events += buffer.count(b"data: {")
    result.tokens += buffer.count(b'"content":"') - buffer.count(b'"content":""')
    result.streams += 1
    result.durations.append(time.perf_counter() - started)


async def throughput(port: int, concurrency: int, tokens: int, duration: float) -> Result:
    result = Result()
    request = request_bytes(port, tokens)
    deadline = time.perf_counter() + duration

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                await one_stream(reader, writer, request, result)
        except (ConnectionError, OSError):
            result.errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return result


async def concurrent_streams(server: Server, count: int) -> tuple[Result, float]:
    result = Result()
    request = request_bytes(server.port, PACED_TOKENS)

    async def client() -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            await one_stream(reader, writer, request, result)
            writer.close()
        except (ConnectionError, OSError):
            result.errors += 1

    async def watch_rss() -> None:
        while True:
            server.sample_rss()
            await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch_rss())
    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(count)))
    elapsed = time.perf_counter() - started
    watcher.cancel()
    return result, elapsed


def start_ours(port: int, tokens: int, pace_ms: float) -> Server:
    return start_pinned("ours", [HARNESS, "mock", "openai", "--port", str(port), "--answer-tokens", str(tokens),
                                 "--inter-token-ms", str(pace_ms)], port, "0")


def ensure_aimock() -> Path | None:
    cli = AIMOCK_DIR / "node_modules/@copilotkit/aimock/dist/cli.js"
    if cli.exists():
        return cli
    if shutil.which("npm") is None:
        print("npm not found: skipping aimock (install Node.js to compare)")
        return None
    AIMOCK_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "install", "--silent", "--prefix", str(AIMOCK_DIR), f"@copilotkit/aimock@{AIMOCK_VERSION}"],
                   check=True)
    return cli


def start_aimock(cli: Path, port: int, tokens: int, pace_ms: float) -> Server:
    fixture = AIMOCK_DIR / f"fixture-{tokens}.json"
    words = ("token " * tokens)[: tokens * CHARS_PER_CHUNK]
    fixture.write_text(json.dumps({"fixtures": [{"match": {"userMessage": "bench"},
                                                 "response": {"content": words}}]}))
    return start_pinned("aimock", ["node", str(cli), "-p", str(port), "-f", str(fixture), "--log-level", "silent",
                                   "-c", str(CHARS_PER_CHUNK), "-l", str(pace_ms)], port, "0")


def measure(start: Callable[[int, int, float], Server], args: argparse.Namespace, port: int) -> dict[str, float]:
    """Both workloads against a server made by ``start(port, tokens, pace_ms)``."""
    figures: dict[str, float] = {}
    server = start(port, args.tokens, 0)
    try:
        asyncio.run(throughput(port, 4, args.tokens, 1.0))  # warm-up
        result = asyncio.run(throughput(port, args.concurrency, args.tokens, args.duration))
        figures["tokens/s"] = result.tokens / args.duration
        figures["events/s"] = result.events / args.duration
        figures["stream p50 ms"] = statistics.median(result.durations) * 1000 if result.durations else float("nan")
        figures["throughput errors"] = result.errors
        server.sample_rss()
        figures["RSS after throughput MB"] = server.peak_rss_kb / 1024
    finally:
        server.stop()
    server = start(port + 1, PACED_TOKENS, PACE_MS)
    try:
        result, elapsed = asyncio.run(concurrent_streams(server, args.streams))
        figures[f"{args.streams} streams completed"] = result.streams
        figures[f"{args.streams} streams errors"] = result.errors
        figures[f"{args.streams} streams wall s"] = elapsed
        figures[f"{args.streams} streams peak RSS MB"] = server.peak_rss_kb / 1024
    finally:
        server.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--skip-aimock", action="store_true")
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    results = {"ours": measure(start_ours, args, 19101)}
    cli = None if args.skip_aimock else ensure_aimock()
    if cli is not None:
        results["aimock"] = measure(lambda port, tokens, pace: start_aimock(cli, port, tokens, pace), args, 19111)
    rows = {metric: [value, results.get("aimock", {}).get(metric)] for metric, value in results["ours"].items()}
    print_table(f"OpenAI stub benchmark: {args.concurrency} clients x {args.tokens}-token streams for "
                f"{args.duration:.0f}s; {args.streams} paced streams at once. Servers on CPU 0, client on CPU 1.",
                ["ours", "aimock"], rows)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
