"""Helpers for tests: free ports and real service processes started through the ``harness`` CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HARNESS = [sys.executable, "-m", "harness.cli"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Service:
    """A service process started by a test."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Send ``sig`` and wait; kills after ``timeout``. Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_service(args: list[str], port: int, log_dir: Path, *, ready_path: str = "/healthz",
                  timeout: float = 30.0, env: dict[str, str] | None = None) -> Service:
    """Run ``harness <args>`` and wait until ``ready_path`` answers 200."""
    log_path = log_dir / f"{args[0]}-{args[1] if len(args) > 1 else ''}-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen([*HARNESS, *args], stdout=log_file, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})}, start_new_session=True)
    service = Service(process, port, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"harness {' '.join(args)} exited with {process.returncode}:\n{service.log_text()}")
        try:
            if httpx.get(f"{service.url}{ready_path}", timeout=1.0).status_code == 200:
                return service
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    service.stop(signal.SIGKILL)
    raise RuntimeError(f"harness {' '.join(args)} not ready in {timeout}s:\n{service.log_text()}")


def metric_value(base_url: str, name: str, labels: dict[str, str] | None = None) -> float:
    """The value of one sample on ``/metrics`` (0 when the sample is absent)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in (labels or {}).items()):
                return sample.value
    return 0.0


@dataclass
class StandIns:
    openai: Service
    weather: Service
    tools: Service
    a2a: Service

    def clear_faults(self) -> None:
        for service in (self.openai, self.weather, self.tools, self.a2a):
            httpx.delete(f"{service.url}/_control/faults")
