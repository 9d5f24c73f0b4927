"""The Locust process's side of ``harness.load`` (Locust process only).

:class:`LoadHub` records the users' turns in fixed-size figures, ships a worker's figures to the master with
each Locust report, merges them on the master, serves them to Prometheus, rewrites the run summary every few
seconds, and keeps the process bounded and supervised:

- Locust's own stats are trimmed: per-second request counters older than 30 s and chart history beyond
  ``history_keep`` points are dropped (Locust keeps both forever, ~2 MiB/h on a master; locust#2045), and
  error strings never vary because failures are reported as one of a fixed set of kinds.
- the target is checked against the allowed hosts and users/rate against the ceilings before anything runs;
- the process quits when the process that started it (``--parent-pid``) goes away, and after 72 h at most.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from pathlib import Path
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from harness.load.config import LoadConfig
from harness.load.export import Gauges, LoadCollector, registry_for
from harness.load.figures import Figures, Window
from harness.load.safety import (
    ALLOWED_HOSTS_ENV,
    MAX_RUN_TIME_S,
    MAX_SPAWN_RATE,
    MAX_USERS,
    TargetNotAllowed,
    check_target,
)
from harness.load.summary import build_summary, write_json_atomic
from harness.load.turns import TurnEventTypes, TurnResult

log = logging.getLogger("harness.load")
TRIM_EVERY_S = 10.0
KEEP_PER_SECOND_S = 30


def trim_locust_stats(stats: Any, history_keep: int, now: float | None = None) -> int:
    """Drop Locust's per-second counters older than 30 s and chart history beyond ``history_keep``; returns drops."""
    cutoff = int(now if now is not None else time.time()) - KEEP_PER_SECOND_S
    dropped = 0
    for entry in [*stats.entries.values(), stats.total]:
        for per_second in (entry.num_reqs_per_sec, entry.num_fail_per_sec):
            old = [second for second in per_second if second < cutoff]
            for second in old:
                del per_second[second]
            dropped += len(old)
    excess = len(stats.history) - history_keep
    if excess > 0:
        del stats.history[:excess]
        dropped += excess
    return dropped


class LoadHub:
    """Figures, reporting, export, summary and guards of one Locust process."""

    def __init__(self, config: LoadConfig) -> None:
        self.config = config
        self.types = TurnEventTypes.of(config.response_events, config.answer_events, config.finish_events,
                                       config.error_events)
        self.figures = Figures()
        self.window = Window(config.window_s, slot_s=min(5.0, config.window_s / 4))
        self.sse_open = 0
        self.sse_peak = 0
        self.users_peak = 0
        self.worker_sse: dict[str, int] = {}
        self.capacity: dict[str, Any] | None = None
        self.errors: deque[dict[str, str]] = deque(maxlen=20)
        self.environment: Environment | None = None
        self.started_at: float | None = None
        self._summary_path: Path | None = None
        self._greenlets: list[gevent.Greenlet] = []
        self._quitting = False

    # recording (every process with users) -------------------------------------------------------------
    def sse_opened(self) -> None:
        self.sse_open += 1
        self.sse_peak = max(self.sse_peak, self.sse_open)

    def sse_closed(self) -> None:
        self.sse_open -= 1

    def record_turn(self, result: TurnResult) -> None:
        self.figures.record_turn(result)
        if result.failure:
            self._remember(result.scenario, result.failure, result.detail)

    def record_hold(self, scenario: str, failure: str | None, nbytes: int) -> None:
        self.figures.record_hold(scenario, failure, nbytes)
        if failure:
            self._remember(scenario, failure, "idle hold")

    def record_failure(self, scenario: str, failure: str, detail: str = "") -> None:
        self.figures.record_failure(scenario, failure)
        self._remember(scenario, failure, detail)

    def _remember(self, scenario: str, kind: str, detail: str) -> None:
        self.errors.append({"scenario": scenario, "kind": kind, "detail": detail[:200], "at": f"{time.time():.3f}"})

    # Locust wiring ----------------------------------------------------------------------------------------
    def install(self) -> None:
        """Register the hub's listeners on Locust's global event hooks."""
        events.init_command_line_parser.add_listener(add_arguments)
        events.init.add_listener(self._on_init)
        events.test_start.add_listener(self._on_test_start)
        events.test_stop.add_listener(lambda **_: self.write_summary(final=False))
        events.quitting.add_listener(self._on_quitting)
        events.report_to_master.add_listener(self._on_report_to_master)
        events.worker_report.add_listener(self._on_worker_report)

    @property
    def role(self) -> str:
        runner = self.environment.runner if self.environment else None
        return "master" if isinstance(runner, MasterRunner) else "worker" if isinstance(runner, WorkerRunner) \
            else "standalone"

    def _on_init(self, environment: Environment, **_: Any) -> None:
        self.environment = environment
        options = environment.parsed_options
        if self.role != "worker" and options is not None:
            self._check_options(options)
            if options.summary_json:
                self._summary_path = Path(options.summary_json)
            if options.metrics_port:
                self._serve_metrics(options.metrics_host, options.metrics_port)
        parent = getattr(options, "parent_pid", 0) if options is not None else 0
        self._greenlets.append(gevent.spawn(self._supervise, parent or 0))

    def _check_options(self, options: Any) -> None:
        problems = []
        if options.host:
            try:
                check_target(options.host, options.allow_host)
            except TargetNotAllowed as error:
                problems.append(str(error))
        if (options.num_users or 0) > MAX_USERS:
            problems.append(f"--users {options.num_users} is over the ceiling of {MAX_USERS}")
        if (options.spawn_rate or 0) > MAX_SPAWN_RATE:
            problems.append(f"--spawn-rate {options.spawn_rate} is over the ceiling of {MAX_SPAWN_RATE:g}/s")
        if problems:
            for problem in problems:
                log.error("refused: %s", problem)
            raise SystemExit(2)

    def _on_test_start(self, environment: Environment, **_: Any) -> None:
        self.started_at = self.started_at or time.time()
        if self.role != "worker":
            self.window.tick(self.figures)  # the window's first snapshot: the figures before this test
            options = environment.parsed_options
            try:
                check_target(environment.host or "", options.allow_host if options else None)
            except TargetNotAllowed as error:
                log.error("refused: %s", error)
                gevent.spawn_later(0, environment.runner.quit)

    def _on_quitting(self, **_: Any) -> None:
        self._quitting = True
        self.write_summary(final=True)

    def _serve_metrics(self, host: str, port: int) -> None:
        from prometheus_client import start_http_server

        registry = registry_for(LoadCollector(lambda: self.figures, self.gauges))
        start_http_server(port, addr=host, registry=registry)
        log.info("harness load metrics on http://%s:%d/metrics", host, port)

    def _on_report_to_master(self, data: dict[str, Any], **_: Any) -> None:
        data["harness"] = {"f": self.figures.to_wire(), "sse": self.sse_open, "peak": self.sse_peak}
        self.figures = Figures()

    def _on_worker_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        payload = data.get("harness")
        if not payload:
            return
        self.figures.merge(payload.get("f", {}))
        self.worker_sse[client_id] = int(payload.get("sse", 0))
        runner = self.environment.runner if self.environment else None
        clients = getattr(runner, "clients", None)
        if clients is not None:
            for gone in [c for c in self.worker_sse if c not in clients]:
                del self.worker_sse[gone]
        self.sse_peak = max(self.sse_peak, sum(self.worker_sse.values()))

    # figures for the master ------------------------------------------------------------------------------
    def gauges(self) -> Gauges:
        runner = self.environment.runner if self.environment else None
        sse = sum(self.worker_sse.values()) if self.role == "master" else self.sse_open
        workers = len(getattr(runner, "clients", {}) or {}) if self.role == "master" else 0
        return Gauges(sse_connections=sse, users=runner.user_count if runner else 0, workers=workers)

    def summary(self, final: bool) -> dict[str, Any]:
        gauges = self.gauges()
        self.users_peak = max(self.users_peak, gauges.users)
        environment = self.environment
        return build_summary(
            self.figures, self.window, final=final, role=self.role, pid=os.getpid(),
            target=environment.host if environment else None,
            scenario_mix={k: v for k, v in self.config.scenarios.items() if v > 0},
            transport=self.config.transport, shape=(self.config.shape or {}).get("name"),
            started_at=self.started_at, elapsed_s=round(time.time() - self.started_at, 1) if self.started_at else 0,
            sse_connections=gauges.sse_connections, sse_connections_peak=self.sse_peak, users=gauges.users,
            users_peak=self.users_peak, workers=gauges.workers, capacity=self.capacity,
            errors_sample=list(self.errors), rss_mb=round(_rss_bytes() / 1e6, 1))

    def write_summary(self, final: bool) -> None:
        if self._summary_path is None or self.role == "worker" or self.environment is None:
            return
        try:
            write_json_atomic(self._summary_path, self.summary(final or self._quitting))
        except OSError as error:
            log.error("cannot write the load summary to %s: %s", self._summary_path, error)

    # supervision -----------------------------------------------------------------------------------------
    def _supervise(self, parent_pid: int) -> None:
        """Every second: watch the parent and the run-time ceiling; now and then trim, tick, write the summary."""
        born = time.monotonic()
        last_trim = last_summary = 0.0
        while True:
            gevent.sleep(1.0)
            now = time.monotonic()
            runner = self.environment.runner if self.environment else None
            if runner is None:
                continue
            if parent_pid and os.getppid() != parent_pid:
                log.error("the process that started this load (pid %d) is gone; quitting", parent_pid)
                runner.quit()
                return
            if now - born > MAX_RUN_TIME_S:
                log.error("the load has run for the ceiling of %.0f h; quitting", MAX_RUN_TIME_S / 3600)
                runner.quit()
                return
            if now - last_trim >= TRIM_EVERY_S:
                trim_locust_stats(runner.stats, self.config.history_keep)
                last_trim = now
            if self.role != "worker":
                self.users_peak = max(self.users_peak, runner.user_count)
                self.window.tick(self.figures, now)
                if now - last_summary >= self.config.summary_interval_s and self.started_at:
                    self.write_summary(final=False)
                    last_summary = now


def add_arguments(parser: Any) -> None:
    """The locustfile's own options (passed on to workers by Locust)."""
    group = parser.add_argument_group("harness load")
    group.add_argument("--summary-json", default="", help="Write the run summary (JSON) here, every few seconds.")
    group.add_argument("--metrics-port", type=int, default=0, help="Serve Prometheus metrics on this port (0: off).")
    group.add_argument("--metrics-host", default="127.0.0.1", help="Address for the metrics endpoint.")
    group.add_argument("--allow-host", default=os.environ.get(ALLOWED_HOSTS_ENV, ""),
                       help="Comma-separated non-loopback hosts load may go to (also HARNESS_ALLOWED_HOSTS).")
    group.add_argument("--parent-pid", type=int, default=0, help="Quit when this process is no longer the parent.")


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0
