"""Helpers the benchmark scripts share: pinned server processes, readiness, RSS, quantiles."""

from __future__ import annotations

import json
import signal
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HARNESS = str(ROOT / ".venv/bin/harness")


@dataclass
class Server:
    """A server process started by a benchmark, pinned to some CPUs."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    peak_rss_kb: int = 0

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def sample_rss(self) -> None:
        self.peak_rss_kb = max(self.peak_rss_kb, self.rss_kb())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Wait until ``port`` accepts connections; exit with a message if the process dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start in {timeout}s")


def start_pinned(name: str, command: list[str], port: int, cpus: str) -> Server:
    """Start ``command`` under ``taskset -c cpus`` and wait for its port."""
    process = subprocess.Popen(["taskset", "-c", cpus, *command], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    wait_ready(port, process)
    return Server(name, process, port)


def post_json_request(port: int, path: str, payload: dict[str, Any]) -> bytes:
    """A raw keep-alive HTTP/1.1 POST of ``payload`` as JSON, ready to write on a socket."""
    body = json.dumps(payload).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer bench\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, round(q * 100) - 1))]


def print_table(title: str, columns: list[str], rows: dict[str, list[float | None]]) -> None:
    """A plain table: one row a metric, one column a subject, then the ratio of the first two."""
    print(f"\n{title}\n")
    header = f"{'metric':34}" + "".join(f"{c:>14}" for c in columns) + f"{'ratio':>10}"
    print(header)
    for metric, values in rows.items():
        cells = "".join(f"{v:14.1f}" if v is not None else f"{'-':>14}" for v in values)
        first, second = [*values, None, None][:2]
        ratio = f"{first / second:10.2f}" if first is not None and second else f"{'-':>10}"
        print(f"{metric:34}{cells}{ratio}")
