"""``chaos run experiments/soak.json`` end to end on the embedded stack, at CI length.

The harness's own test of truth: the healthy backend passes; ``memory_leak`` fails on memory growth;
``db_pool_no_recovery`` fails on errors or recovery; signals and SIGKILL leave nothing behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SOAK = ROOT / "experiments" / "soak.json"
SHORT = {"SOAK_SECONDS": "80", "SOAK_WARMUP_S": "20", "SOAK_FAULT_WINDOW_S": "10", "SOAK_DB_DROP_S": "5",
         "SOAK_RECOVERY_S": "25", "SOAK_USERS": "8", "SOAK_SPAWN_RATE": "8", "SOAK_MEMORY_WINDOW_S": "120",
         "SOAK_MAX_MEMORY_MB_PER_HOUR": "1000", "SOAK_MAX_RECOVERY_S": "15"}
STACK_API = "http://127.0.0.1:17474"


@dataclass
class SoakRun:
    returncode: int
    output: str
    journal: dict

    def failed_probes(self) -> set[str]:
        return {check["probe"] for check in self.journal.get("harness_verdict", {}).get("failed_checks", [])}


def environment(workdir: Path, **overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HARNESS_", "SOAK_"))}
    env.pop("BACKEND_DEFECTS", None)
    return {**env, **SHORT, **overrides, "PATH": f"{BIN}:{env.get('PATH', '')}"}


def start_soak(workdir: Path, *chaos_args: str, **env: str) -> subprocess.Popen[bytes]:
    settings = workdir / "settings.yaml"
    settings.write_text("{}\n")
    return subprocess.Popen([str(BIN / "chaos"), "--settings", str(settings), "run", "--journal-path",
                             str(workdir / "journal.json"), *chaos_args, str(SOAK)], cwd=workdir,
                            env=environment(workdir, **env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def run_soak(workdir: Path, *chaos_args: str, timeout: float = 400, **env: str) -> SoakRun:
    process = start_soak(workdir, *chaos_args, **env)
    output = process.communicate(timeout=timeout)[0].decode(errors="replace")
    return SoakRun(process.returncode, output, json.loads((workdir / "journal.json").read_text()))


def harness(workdir: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "harness"), *args], cwd=workdir, env=environment(workdir), text=True,
                          capture_output=True, timeout=timeout)


def locust_processes() -> list[str]:
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if "locustfile" in line and "ps -eo" not in line]


def ledger_kinds(workdir: Path) -> list[str]:
    kinds = []
    for ledger in (workdir / "runs").glob("*/faults.jsonl"):
        kinds += [json.loads(line).get("kind") for line in ledger.read_text().splitlines() if line.strip()]
    return [kind for kind in kinds if kind]


def world_is_clean() -> list[str]:
    """Toxics on any proxy, faults on any stand-in: what is left behind (empty when clean)."""
    left = []
    proxies = httpx.get(f"{STACK_API}/proxies", timeout=5).json()
    for name in proxies:
        left += [f"toxic {t['name']} on {name}" for t in httpx.get(f"{STACK_API}/proxies/{name}/toxics").json()]
        if not proxies[name]["enabled"]:
            left.append(f"proxy {name} disabled")
    for port in (17081, 17082, 17083, 17084):
        left += [f"fault {f['id']} on :{port}" for f in
                 httpx.get(f"http://127.0.0.1:{port}/_control/faults", timeout=5).json()["faults"]]
    return left


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    harness(tmp_path, "cleanup")  # whatever a test left, the world is put back


def test_healthy_soak_passes(workdir: Path) -> None:
    run = run_soak(workdir)
    assert run.returncode == 0, run.output[-3000:]
    assert run.journal["status"] == "completed"
    assert run.journal["deviated"] is False
    assert run.journal["harness_verdict"] == {"verdict": "pass", "failed_checks": []}
    assert {"openai:slow_stream", "toxic:latency", "db:pg_terminate_backend", "toxic:reset_peer"} <= set(
        ledger_kinds(workdir))
    assert [r["status"] for r in run.journal["rollbacks"]] == ["succeeded"] * 3
    assert not (workdir / "runs" / "stack" / "state.json").exists()  # the control brought its stack down


def test_memory_leak_fails_on_memory_growth(workdir: Path) -> None:
    run = run_soak(workdir, BACKEND_DEFECTS="memory_leak")
    assert run.returncode == 1, run.output[-3000:]
    assert "backend memory growth" in run.failed_probes()
    assert "error rate" not in run.failed_probes()


def test_db_pool_no_recovery_fails_on_errors_or_recovery(workdir: Path) -> None:
    run = run_soak(workdir, BACKEND_DEFECTS="db_pool_no_recovery")
    assert run.returncode == 1, run.output[-3000:]
    assert run.failed_probes() & {"error rate", "recovery after dropped DB connections"}
    assert "backend memory growth" not in run.failed_probes()


@pytest.fixture
def running_stack(workdir: Path) -> Iterator[Path]:
    """A stack started beforehand: the experiment reuses it and leaves it running, so it can be inspected."""
    started = harness(workdir, "stack", "up")
    assert started.returncode == 0, started.stdout + started.stderr
    yield workdir
    harness(workdir, "stack", "down")


def wait_for_fault(workdir: Path, kind: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while kind not in ledger_kinds(workdir):
        assert time.monotonic() < deadline, f"no {kind} fault within {timeout}s"
        time.sleep(0.5)


def test_sigint_in_a_fault_window_restores_the_world_within_10s(running_stack: Path) -> None:
    process = start_soak(running_stack)
    wait_for_fault(running_stack, "toxic:latency")
    assert any("a2a" in item for item in world_is_clean())  # the fault is really there
    signalled = time.monotonic()
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=60)[0].decode(errors="replace")
    assert time.monotonic() - signalled < 10, output[-3000:]
    assert world_is_clean() == []
    assert locust_processes() == []
    journal = json.loads((running_stack / "journal.json").read_text())
    assert journal["status"] == "interrupted"
    assert [r["activity"]["name"] for r in journal["rollbacks"]] == [
        "remove LLM faults", "remove network faults", "stop the load"]


def test_sigkill_in_a_fault_window_faults_end_by_ttl_and_cleanup_leaves_nothing(running_stack: Path) -> None:
    process = start_soak(running_stack)
    wait_for_fault(running_stack, "openai:slow_stream")
    process.kill()
    process.wait(10)
    deadline = time.monotonic() + 10 + 5  # the fault window is 10 s: every fault ends by its TTL
    while world_is_clean() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert world_is_clean() == []
    cleaned = harness(running_stack, "cleanup")
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    assert locust_processes() == []
    assert not (running_stack / "runs" / "stack" / "state.json").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{STACK_API}/version", timeout=2)


def test_unreachable_prometheus_fails_at_once_and_changes_nothing(running_stack: Path) -> None:
    run = run_soak(running_stack, HARNESS_PROMETHEUS_URL="http://127.0.0.1:9", HARNESS_BACKEND_URL=
                   "http://127.0.0.1:17080", HARNESS_TOXIPROXY_URL=STACK_API, timeout=120)
    assert run.returncode == 1
    assert run.journal["status"] == "failed"
    assert "did not answer" in json.dumps(run.journal["steady_states"]["before"])
    assert ledger_kinds(running_stack) == []
    assert world_is_clean() == []


def test_malformed_threshold_fails_with_a_clear_message(running_stack: Path) -> None:
    run = run_soak(running_stack, SOAK_P95_FIRST_RESPONSE_MS="fast", timeout=120)
    assert run.returncode == 1
    assert "max_ms must be a number (got 'fast')" in json.dumps(run.journal["steady_states"]["before"])
    assert world_is_clean() == []


def test_missing_proxy_name_fails_the_run_and_restores_the_world(running_stack: Path) -> None:
    run = run_soak(running_stack, SOAK_A2A_PROXY="nope")
    assert run.returncode == 1
    failed = {c["probe"]: c["reason"] for c in run.journal["harness_verdict"]["failed_checks"]}
    assert "no proxy named 'nope'" in failed["add latency to A2A"]
    assert world_is_clean() == []
    assert locust_processes() == []
