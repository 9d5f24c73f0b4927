"""Benchmark: the harness's SSE reader inside Locust against a plain Locust ``FastHttpUser``, and RSS flatness.

The SSE source is a tiny purpose-built asyncio server in this file (loopback, pinned to CPU 0), so the
client is the bottleneck: chunked ``text/event-stream`` bodies of ~90-byte AG-UI events, each event its own
chunk as uvicorn sends them. Locust runs as a subprocess pinned to CPU 1 with a generated locustfile whose
two user classes read the same stream: ``Harness*`` with ``harness.load.wire``/``sse``, ``Fast*`` with
``FastHttpUser`` (``stream=True`` + ``iter_content``).

1. throughput: 20 users loop ``GET /fast`` (5,000 events a body) for D s: events/s and events per CPU-second.
2. idle: N users each open ``GET /idle`` (a comment, then a heartbeat every 15 s) and hold it: streams open
   at once in one worker process, and its RSS.
3. accuracy: the first event is sent 200 ms after the headers, the next 1 KB 300 ms later: the time to the
   first event each client measures.
4. RSS flatness: ``harness load`` (master + 1 worker, standard transport) against ``POST /ag-ui/run`` that
   answers 60 % runs, 15 % RUN_ERRORs with unique messages and random codes, 10 % HTTP 500s with unique
   bodies, 10 % streams cut mid-run, 5 % 429s; master and worker RSS sampled every 5 s.

Usage: .venv/bin/python -m benchmarks.bench_load [--duration 10] [--idle 5000] [--soak-s 120]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, print_table, quantile, start_pinned, wait_ready
from harness.load.runner import LOCUSTFILE

PORT = 19301
EVENT = b'data: {"type":"TEXT_MESSAGE_CONTENT","messageId":"msg-0123456789","delta":" token"}\n\n'
CHUNK = b"%x\r\n%s\r\n" % (len(EVENT), EVENT)
SSE_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
            b"cache-control: no-cache\r\n\r\n")


# --- the SSE source --------------------------------------------------------------------------------------
def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def agui(event: dict) -> bytes:
    return chunk(b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n")


async def serve_run(writer: asyncio.StreamWriter, rng: random.Random, serial: int) -> bool:
    """One ``POST /ag-ui/run`` answer for the RSS run; returns False when the connection was cut."""
    roll = rng.random()
    if roll < 0.10:
        body = f"internal error {serial} at {time.time()}".encode()
        writer.write(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        return True
    if roll < 0.15:
        writer.write(b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 2\r\n\r\n{}")
        return True
    writer.write(SSE_HEAD + agui({"type": "RUN_STARTED", "threadId": "t", "runId": f"r{serial}"})
                 + agui({"type": "TEXT_MESSAGE_START", "messageId": f"m{serial}", "role": "assistant"})
                 + b"".join(agui({"type": "TEXT_MESSAGE_CONTENT", "messageId": f"m{serial}", "delta": " tok"})
                            for _ in range(5)))
    if roll < 0.25:
        return False  # cut mid-run
    if roll < 0.40:
        code = rng.choice(["llm_timeout", "llm_unavailable", f"weird_{serial}"])
        writer.write(agui({"type": "RUN_ERROR", "message": f"failure {serial} {rng.random()}", "code": code}))
    else:
        writer.write(agui({"type": "TEXT_MESSAGE_END", "messageId": f"m{serial}"})
                     + agui({"type": "RUN_FINISHED", "threadId": "t", "runId": f"r{serial}"}))
    writer.write(b"0\r\n\r\n")
    return True


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    rng, serial = random.Random(), 0
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            _method, path = request_line.split(" ")[:2]
            length = next((int(v) for k, _, v in (line.partition(":") for line in lines)
                           if k.lower() == "content-length"), 0)
            if length:
                await reader.readexactly(length)
            serial += 1
            if path.startswith("/fast"):
                writer.write(SSE_HEAD)
                batch = CHUNK * 250
                for _ in range(20):  # 5,000 events
                    writer.write(batch)
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            elif path.startswith("/idle"):
                writer.write(SSE_HEAD + chunk(b": connected\n\n"))
                while True:
                    await writer.drain()
                    await asyncio.sleep(15)
                    writer.write(chunk(b": heartbeat\n\n"))
            elif path.startswith("/delayed"):
                writer.write(SSE_HEAD)
                await writer.drain()
                await asyncio.sleep(0.2)
                writer.write(CHUNK)
                await writer.drain()
                await asyncio.sleep(0.3)
                writer.write(CHUNK * 12 + b"0\r\n\r\n")
            elif path.startswith("/ag-ui/run"):
                if not await serve_run(writer, rng, serial):
                    await writer.drain()
                    break
            else:
                writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=8192)
    async with server:
        await server.serve_forever()


# --- the Locust side --------------------------------------------------------------------------------------
BENCH_LOCUSTFILE = '''
import json, os, time
from locust import User, events, task
from locust.contrib.fasthttp import FastHttpUser
from harness.load.safety import check_target
from harness.load.sse import SseStream
from harness.load.wire import Connection

STATE = {"events": 0, "open": 0, "peak": 0, "ttfe": [], "t0": None}

def count(n):
    STATE["events"] += n
    STATE["t0"] = STATE["t0"] or time.perf_counter()

@events.quitting.add_listener
def _write(environment, **_):
    times = os.times()
    rss = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    wall = time.perf_counter() - STATE["t0"] if STATE["t0"] else 0
    with open(os.environ["BENCH_OUT"], "w") as out:
        json.dump({"events": STATE["events"], "cpu_s": times.user + times.system, "wall_s": wall,
                   "peak": STATE["peak"], "ttfe": STATE["ttfe"], "rss_mb": rss / 1e6}, out)

class Harness(User):
    abstract = True
    def on_start(self):
        self.connection = Connection(check_target(self.host), read_timeout=60)
    def stream(self, path):
        status, body = self.connection.open("GET", path)
        return body, SseStream(body)

class HarnessFast(Harness):
    @task
    def read(self):
        body, stream = self.stream("/fast")
        n = sum(1 for _ in stream.events(30))
        self.connection.release(body)
        count(n)

class HarnessIdle(Harness):
    @task
    def hold(self):
        body, stream = self.stream("/idle")
        stream.next_event(60)
        STATE["open"] += 1
        STATE["peak"] = max(STATE["peak"], STATE["open"])
        try:
            while stream.next_event(60) is not None:
                pass
        finally:
            STATE["open"] -= 1

class HarnessDelayed(Harness):
    @task
    def first(self):
        sent = time.perf_counter()
        body, stream = self.stream("/delayed")
        stream.next_event(10)
        STATE["ttfe"].append((time.perf_counter() - sent) * 1000)
        for _ in stream.events(10):
            pass
        self.connection.release(body)

class FastFast(FastHttpUser):
    @task
    def read(self):
        response = self.client.get("/fast", stream=True)
        n, tail = 0, b""
        for data in response.iter_content(16384, decode_content=False):
            data = tail + data
            n += data.count(b"\\n\\n")
            tail = data[-1:]
        count(n)

class FastIdle(FastHttpUser):
    @task
    def hold(self):
        response = self.client.get("/idle", stream=True)
        STATE["open"] += 1
        STATE["peak"] = max(STATE["peak"], STATE["open"])
        try:
            for _ in response.iter_content(1024, decode_content=False):
                pass
        finally:
            STATE["open"] -= 1

class FastDelayed(FastHttpUser):
    @task
    def first(self):
        sent = time.perf_counter()
        response = self.client.get("/delayed", stream=True)
        for data in response.iter_content(1024, decode_content=False):
            if b"\\n\\n" in data:
                STATE["ttfe"].append((time.perf_counter() - sent) * 1000)
                break
        for _ in response.iter_content(1024, decode_content=False):
            pass
'''


def run_locust(locustfile: Path, user_class: str, users: int, rate: float, seconds: int) -> dict:
    """One headless Locust run of ``user_class`` pinned to CPU 1; the figures its users wrote."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = ["taskset", "-c", "1", sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
                   "--host", f"http://127.0.0.1:{PORT}", "-u", str(users), "-r", str(rate), "-t", f"{seconds}s",
                   "--only-summary", "--stop-timeout", "0", "--loglevel", "WARNING", user_class]
        subprocess.run(command, env={**os.environ, "BENCH_OUT": out.name}, cwd=ROOT, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds + 120)
        return json.loads(Path(out.name).read_text() or "{}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1000
    return 0.0


def soak(seconds: int, workdir: Path) -> dict[str, list[tuple[float, float]]]:
    """``harness load run`` (master + 1 worker) against the error-heavy run endpoint; RSS samples of both."""
    run_dir = workdir / "soak"
    config = workdir / "soak.json"
    config.write_text(json.dumps({"transport": "run", "turn_timeout_s": 10}))
    command = [sys.executable, "-m", "harness.cli", "load", "run", "--target", f"http://127.0.0.1:{PORT}",
               "--scenario", "simple", "--users", "40", "--spawn-rate", "40", "--run-time", f"{seconds}s",
               "--workers", "1", "--config", str(config), "--run-dir", str(run_dir)]
    runner = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    samples: dict[str, list[tuple[float, float]]] = {"master": [], "worker-1": []}
    started = time.monotonic()
    while not (run_dir / "run.json").exists() and runner.poll() is None:
        time.sleep(0.2)
    pids = {name: ref["pid"] for name, ref in json.loads((run_dir / "run.json").read_text())["processes"].items()}
    time.sleep(0.5)
    while runner.poll() is None and time.monotonic() - started < seconds + 90:
        elapsed = time.monotonic() - started
        for name, pid in pids.items():
            with contextlib.suppress(OSError):
                samples[name].append((elapsed, rss_mb(pid)))
        time.sleep(5)
    runner.wait(60)
    summary = json.loads((run_dir / "summary.json").read_text())
    samples["summary"] = [(summary["turns"], summary["failures"])]
    samples["kinds"] = [(k, v) for k, v in summary["failures_by_kind"].items()]  # type: ignore[misc]
    return samples


def slope_mb_per_h(points: list[tuple[float, float]]) -> float:
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_r = sum(r for _, r in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (r - mean_r) for t, r in points) / var * 3600 if var else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--soak-s", type=int, default=120)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(PORT))
        return
    assert LOCUSTFILE.exists()
    server = start_pinned("sse-source", [sys.executable, "-m", "benchmarks.bench_load", "--serve"], PORT, "0")
    try:
        wait_ready(PORT, server.process)
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            locustfile = workdir / "bench_locustfile.py"
            locustfile.write_text(BENCH_LOCUSTFILE)
            fast = {name: run_locust(locustfile, f"{name}Fast", 20, 20, args.duration) for name in ("Harness", "Fast")}
            idle = {name: run_locust(locustfile, f"{name}Idle", args.idle, 1000, 12 + args.idle // 1000)
                    for name in ("Harness", "Fast")}
            delayed = {name: run_locust(locustfile, f"{name}Delayed", 5, 5, 6) for name in ("Harness", "Fast")}
            rows = {
                "events/s (1 core, wall)": [fast[n]["events"] / fast[n]["wall_s"] for n in ("Harness", "Fast")],
                "events per CPU-second": [fast[n]["events"] / fast[n]["cpu_s"] for n in ("Harness", "Fast")],
                "idle SSE streams held (1 process)": [float(idle[n]["peak"]) for n in ("Harness", "Fast")],
                "RSS with the idle streams (MB)": [idle[n]["rss_mb"] for n in ("Harness", "Fast")],
                "first event, true 200 ms: p50 (ms)": [quantile(delayed[n]["ttfe"], 0.5) for n in ("Harness", "Fast")],
            }
            print_table("SSE client inside Locust (pinned to CPU 1; SSE source on CPU 0)", ["harness", "FastHttpUser"],
                        rows)
            samples = soak(args.soak_s, workdir)
        turns, failures = samples.pop("summary")[0]
        kinds = dict(samples.pop("kinds"))
        print(f"\nRSS flatness: harness load, master + 1 worker, {args.soak_s} s, {turns} turns "
              f"({turns / args.soak_s:.0f}/s; {turns / 3600:.1f} h at 1 turn/s), {failures} failures, "
              f"kinds {kinds}\n")
        print(f"{'process':10}{'RSS at 30 s':>14}{'RSS at end':>14}{'growth MB':>12}{'max-min':>10}{'slope MB/h':>12}")
        for name, points in samples.items():
            settled = [(t, r) for t, r in points if t >= 30] or points
            growth = settled[-1][1] - settled[0][1]
            spread = max(r for _, r in settled) - min(r for _, r in settled)
            print(f"{name:10}{settled[0][1]:14.1f}{settled[-1][1]:14.1f}{growth:12.1f}{spread:10.1f}"
                  f"{slope_mb_per_h(settled):12.1f}")
    finally:
        server.process.send_signal(signal.SIGTERM)
        server.stop()


if __name__ == "__main__":
    main()
