"""Fixtures for the load tests: the reference backend and stand-ins (real processes), and a load runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import Service

HARNESS = [sys.executable, "-m", "harness.cli"]


@pytest.fixture(scope="module")
def backend(start_backend: Callable[..., Service]) -> Service:
    """A healthy backend for a module's load tests (heartbeats every second)."""
    return start_backend()


@dataclass
class LoadResult:
    returncode: int
    stdout: str
    stderr: str
    run_dir: Path
    summary: dict[str, Any] | None


def load_cli(args: list[str], run_dir: Path, *, timeout: float = 90.0, env: dict[str, str] | None = None) -> LoadResult:
    """``harness load run ... --run-dir DIR --summary-json DIR/out.json`` as a subprocess."""
    out = run_dir / "out.json"
    completed = subprocess.run([*HARNESS, "load", "run", *args, "--run-dir", str(run_dir), "--summary-json",
                                str(out)], capture_output=True, text=True, timeout=timeout,
                               env={**os.environ, **(env or {})})
    summary = json.loads(out.read_text()) if out.exists() else None
    return LoadResult(completed.returncode, completed.stdout, completed.stderr, run_dir, summary)


@pytest.fixture
def run_load(tmp_path: Path, backend: Service) -> Callable[..., LoadResult]:
    """Run ``harness load run`` against the module's backend; extra CLI arguments may be given."""
    counter = iter(range(100))

    def _run(*args: str, target: str | None = None, timeout: float = 90.0) -> LoadResult:
        return load_cli(["--target", target or backend.url, *args], tmp_path / f"run-{next(counter)}",
                        timeout=timeout)

    return _run
