"""Load goes only to loopback unless the operator lists the host; users, rate and time are bounded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.load.runner import LOCUSTFILE
from harness.load.safety import OutOfBounds, TargetNotAllowed, check_bounds, check_target, parse_duration
from tests.load.conftest import load_cli


def test_cli_refuses_a_non_loopback_target(tmp_path: Path) -> None:
    result = load_cli(["--target", "http://192.0.2.10:8080", "--run-time", "5s"], tmp_path / "run", timeout=30,
                      env={"HARNESS_ALLOWED_HOSTS": ""})
    assert result.returncode == 2
    assert "refused" in result.stderr
    assert "--allow-host 192.0.2.10" in result.stderr
    assert "HARNESS_ALLOWED_HOSTS" in result.stderr
    assert not (tmp_path / "run").exists()  # nothing was started


def test_cli_refuses_unbounded_figures(tmp_path: Path) -> None:
    result = load_cli(["--target", "http://127.0.0.1:9", "--users", "1000000"], tmp_path / "run", timeout=30)
    assert result.returncode == 2
    assert "users must be" in result.stderr
    result = load_cli(["--target", "http://127.0.0.1:9", "--run-time", "100h"], tmp_path / "run", timeout=30)
    assert result.returncode == 2
    assert "run time must be" in result.stderr


def test_plain_locust_refuses_a_non_loopback_target_too(tmp_path: Path) -> None:
    completed = subprocess.run([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host",
                                "http://192.0.2.10:8080", "-u", "1", "-r", "1", "-t", "3s"],
                               capture_output=True, text=True, timeout=30, cwd=tmp_path,
                               env={"PATH": "/usr/bin:/bin", "HARNESS_ALLOWED_HOSTS": ""})
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "refused" in completed.stderr
    assert "--allow-host" in completed.stderr


def test_allowed_hosts_from_flag_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_ALLOWED_HOSTS", raising=False)
    for url in ("http://127.0.0.1:1", "http://localhost:80", "http://[::1]:8080", "http://127.9.9.9"):
        check_target(url)
    with pytest.raises(TargetNotAllowed, match=r"--allow-host backend\.internal"):
        check_target("http://backend.internal:8080")
    assert check_target("http://backend.internal:8080", ["backend.internal"]).port == 8080
    monkeypatch.setenv("HARNESS_ALLOWED_HOSTS", "a.example, backend.internal")
    assert check_target("http://BACKEND.internal:8080").host == "backend.internal"
    for url in ("ftp://127.0.0.1", "127.0.0.1:80", "https://127.0.0.1"):
        with pytest.raises(TargetNotAllowed):
            check_target(url)


def test_bounds_and_durations() -> None:
    assert parse_duration("90") == 90
    assert parse_duration("1h30m") == 5400
    assert parse_duration("250ms") == 0.25
    with pytest.raises(OutOfBounds):
        parse_duration("soon")
    check_bounds(10, 5, 60)
    for users, rate, seconds in ((0, 1, 1), (1, 0, 1), (1, 1, 0), (1, 1e9, 1), (1, 1, 1e9)):
        with pytest.raises(OutOfBounds):
            check_bounds(users, rate, seconds)
