"""Start Locust as subprocesses (never imported here), headless, standalone or master + N local workers.

A run lives in a run directory (``$HARNESS_LOAD_DIR`` or ``./runs/load``, one folder per run)::

    run.json          the spec and every process's PID (+ start time), for `harness load stop`
    config.json       the load config the Locust processes read ($HARNESS_LOAD_CONFIG)
    summary.json      the figures, rewritten every few seconds by the master ("final": true at the end)
    locust_*.csv      Locust's CSV stats; report.html its HTML report
    master.log, worker-N.log

Every run is bounded: users, rate and run time are checked against the ceilings; the runner stops the
processes at the run time plus a grace period even if Locust does not; the processes quit by themselves if
the process that started them goes away (``--parent-pid``); :meth:`LoadRun.stop` ends them all within
seconds (SIGTERM, then SIGKILL to their process groups).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import structlog

from harness.load.config import LoadConfig, parse_mix
from harness.load.safety import check_bounds, check_target
from harness.load.summary import read_summary
from harness.stack.processes import ProcessRef, is_running
from harness.stack.processes import stop as stop_processes

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
LOAD_DIR_ENV = "HARNESS_LOAD_DIR"
START_GRACE_S = 60.0
END_GRACE_S = 30.0
STOP_GRACE_S = 5.0
log = structlog.get_logger("harness.load")


def default_root() -> Path:
    """``$HARNESS_LOAD_DIR`` or ``./runs/load``, absolute."""
    return Path(os.environ.get(LOAD_DIR_ENV) or "runs/load").resolve()


def free_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class LoadSpec:
    """What to run: target, scenario mix, users, rate, time, shape, workers; checked by :meth:`check`."""

    target: str
    scenario: str = "simple"
    users: int = 10
    spawn_rate: float = 5.0
    run_time_s: float = 60.0
    shape: str | None = None
    shape_params: dict[str, Any] = field(default_factory=dict)
    workers: int = 0
    remote_workers: int = 0
    master_bind_host: str = "127.0.0.1"
    master_port: int | None = None
    metrics_port: int = 0
    allow_hosts: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def distributed(self) -> bool:
        return self.workers + self.remote_workers > 0

    def check(self) -> LoadConfig:
        """Raise ``TargetNotAllowed``/``OutOfBounds``/``ConfigError`` unless runnable; returns the load config."""
        check_target(self.target, self.allow_hosts)
        check_bounds(self.users, self.spawn_rate, self.run_time_s, self.workers + self.remote_workers)
        return self.load_config()

    def load_config(self) -> LoadConfig:
        data = {"scenarios": parse_mix(self.scenario), **self.config, "users": self.users,
                "spawn_rate": self.spawn_rate, "run_time_s": self.run_time_s}
        if self.shape:
            data["shape"] = {"name": self.shape, **self.shape_params}
        return LoadConfig.from_dict(data)


class LoadRun:
    """One load run: its Locust processes and its run directory."""

    def __init__(self, spec: LoadSpec, run_dir: Path | None = None) -> None:
        self.config = spec.check()
        self.spec = spec
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self.run_dir = (run_dir or default_root() / f"{stamp}-{os.getpid()}-{spec.scenario.replace(',', '+')}")
        self.run_dir = self.run_dir.resolve()
        self.summary_path = self.run_dir / "summary.json"
        self.master_port = spec.master_port or (free_port() if spec.distributed else None)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.refs: dict[str, ProcessRef] = {}
        self.started_at: float | None = None

    # commands --------------------------------------------------------------------------------------------
    def _common(self) -> list[str]:
        args = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--parent-pid", str(os.getpid())]
        if self.spec.allow_hosts:
            args += ["--allow-host", ",".join(self.spec.allow_hosts)]
        return args

    def master_command(self) -> list[str]:
        """The command of the master (or of the standalone process)."""
        spec = self.spec
        args = [*self._common(), "--headless", "--host", spec.target, "--only-summary",
                "--csv", str(self.run_dir / "locust"), "--html", str(self.run_dir / "report.html"),
                "--summary-json", str(self.summary_path), "--stop-timeout", "2"]
        if not spec.shape:
            args += ["--users", str(spec.users), "--spawn-rate", f"{spec.spawn_rate:g}",
                     "--run-time", f"{max(1, round(spec.run_time_s))}s"]
        if spec.metrics_port:
            args += ["--metrics-port", str(spec.metrics_port)]
        if spec.distributed:
            args += ["--master", "--master-bind-host", spec.master_bind_host, "--master-bind-port",
                     str(self.master_port), "--expect-workers", str(spec.workers + spec.remote_workers),
                     "--expect-workers-max-wait", f"{START_GRACE_S:g}"]
        return args

    def worker_command(self) -> list[str]:
        return [*self._common(), "--worker", "--master-host", "127.0.0.1", "--master-port", str(self.master_port)]

    def environment(self) -> dict[str, str]:
        return {**os.environ, "HARNESS_LOAD_CONFIG": str(self.run_dir / "config.json"), "PYTHONUNBUFFERED": "1"}

    # lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> LoadRun:
        """Write the run directory and start the master (or standalone) process and the local workers."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.json").write_text(json.dumps(self.config.to_dict(), indent=1))
        self.started_at = time.time()
        try:
            self._spawn("master", self.master_command())
            for index in range(self.spec.workers):
                self._spawn(f"worker-{index + 1}", self.worker_command())
        except BaseException:
            self.stop()
            raise
        _RUNNING.add(self)
        _STARTED.append(self.run_dir)
        log.info("load started", run_dir=str(self.run_dir), target=self.spec.target, scenario=self.spec.scenario,
                 users=self.spec.users, workers=self.spec.workers, pids=self.pids)
        return self

    def _spawn(self, name: str, command: list[str]) -> None:
        with (self.run_dir / f"{name}.log").open("ab") as output:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                       env=self.environment(), start_new_session=True, close_fds=True)
        self.processes[name] = process
        self.refs[name] = ProcessRef.of(process.pid)
        self._write_state()

    def _write_state(self) -> None:
        state = {"spec": asdict(self.spec), "started_at": self.started_at, "master_port": self.master_port,
                 "processes": {name: asdict(ref) for name, ref in self.refs.items()}}
        (self.run_dir / "run.json").write_text(json.dumps(state, indent=1))

    @property
    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}

    @property
    def deadline(self) -> float:
        """When the runner stops the run whatever Locust does (start time + run time + grace)."""
        return (self.started_at or time.time()) + self.spec.run_time_s + START_GRACE_S + END_GRACE_S

    def running(self) -> bool:
        return any(process.poll() is None for process in self.processes.values())

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the master to end (at most until the run's deadline, then stop it); its exit code."""
        master = self.processes["master"]
        limit = self.deadline if timeout is None else min(self.deadline, time.time() + timeout)
        while master.poll() is None and time.time() < limit:
            time.sleep(0.2)
        if master.poll() is None and time.time() >= self.deadline:
            log.warning("load overran its run time; stopping it", run_dir=str(self.run_dir))
            self.stop()
        elif master.poll() is not None:
            self._finish_workers()
        return master.poll()

    def _finish_workers(self) -> None:
        """After the master: give workers a few seconds to leave, then stop what is left."""
        end = time.time() + STOP_GRACE_S
        while time.time() < end and self.running():
            time.sleep(0.1)
        if self.running():
            self.stop()
        _RUNNING.discard(self)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """End every process of the run: SIGINT/SIGTERM (Locust writes its reports), SIGKILL after ``grace_s``."""
        # SIGINT makes the master write its HTML report too (SIGTERM skips it); workers leave on SIGTERM.
        live = [(ref, signal.SIGINT if name == "master" else signal.SIGTERM) for name, ref in self.refs.items()
                if is_running(ref)]
        if live:
            stop_processes(live, grace_s)
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    process.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    process.kill()
        _RUNNING.discard(self)

    def summary(self) -> dict[str, Any] | None:
        return read_summary(self.summary_path)


def stop_run_dir(run_dir: Path, grace_s: float = STOP_GRACE_S) -> list[str]:
    """Stop the processes a run directory's ``run.json`` lists (from another process); returns those stopped."""
    try:
        state = json.loads((run_dir / "run.json").read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{run_dir} has no run.json: not a load run directory") from None
    refs = {name: ProcessRef(**ref) for name, ref in state.get("processes", {}).items()}
    live = {name: ref for name, ref in refs.items() if is_running(ref)}
    if live:
        stop_processes([(ref, signal.SIGTERM) for ref in live.values()], grace_s)
    return sorted(live)


def latest_run_dir(root: Path | None = None) -> Path | None:
    """The run this process started last, else the newest run directory under ``root`` (default root)."""
    if _STARTED:
        return _STARTED[-1]
    runs = [path.parent for path in (root or default_root()).glob("*/run.json")]
    return max(runs, key=lambda path: path.stat().st_mtime, default=None)


_RUNNING: set[LoadRun] = set()
_STARTED: list[Path] = []


@atexit.register
def _stop_all() -> None:
    """No load outlives the process that started it."""
    for run in list(_RUNNING):
        run.stop()
