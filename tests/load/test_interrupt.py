"""Interrupting the runner (SIGINT, SIGTERM) stops every Locust process it started within 10 s."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.stack.processes import ProcessRef, is_running
from tests.support import Service


def wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear in {timeout}s"
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_every_locust_process(backend: Service, tmp_path: Path, sig: int) -> None:
    run_dir = tmp_path / "run"
    runner = subprocess.Popen([sys.executable, "-m", "harness.cli", "load", "run", "--target", backend.url,
                               "--scenario", "idle:1,simple:1", "--users", "6", "--spawn-rate", "50",
                               "--run-time", "120s", "--workers", "2", "--run-dir", str(run_dir)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for(run_dir / "summary.json", 30)  # the master is running and has users
        state = json.loads((run_dir / "run.json").read_text())
        refs = [ProcessRef(**ref) for ref in state["processes"].values()]
        assert len(refs) == 3
        assert all(is_running(ref) for ref in refs)
        sent = time.monotonic()
        os.kill(runner.pid, sig)
        while any(is_running(ref) for ref in refs):
            assert time.monotonic() - sent < 10, "a Locust process outlived the interrupt by 10 s"
            time.sleep(0.05)
        runner.wait(10)
        assert runner.returncode == 130
        assert time.monotonic() - sent < 10
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
