"""Chaos Toolkit actions: start AG-UI load in the background for a bounded time, wait for it, stop it.

The load runs as Locust subprocesses (nothing of Locust is imported here). It ends by itself at its
duration; :func:`stop_load` ends it at once (use it as a rollback); and it never outlives the chaos process:
the processes quit when their parent goes away, and an exit handler stops them on an interrupted run.

    {"type": "action", "name": "start-load", "provider": {"type": "python", "module": "harness.load.actions",
     "func": "start_load", "arguments": {"scenario": "simple:3,tools:1", "users": 20, "duration_s": 600}}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from harness.load.config import ConfigError
from harness.load.runner import _RUNNING, LoadRun, LoadSpec, latest_run_dir, stop_run_dir
from harness.load.safety import OutOfBounds, TargetNotAllowed

__all__ = ["start_load", "stop_load", "wait_for_load"]

DEFAULT_TARGET = "http://127.0.0.1:17080"


def start_load(target: str | None = None, scenario: str = "simple", users: int = 10, spawn_rate: float = 5.0,
               duration_s: float = 60.0, shape: str | None = None, shape_params: dict[str, Any] | None = None,
               workers: int = 0, load_config: dict[str, Any] | None = None, allow_hosts: list[str] | None = None,
               metrics_port: int = 0, run_dir: str | None = None, configuration: Configuration = None,
               secrets: Secrets = None) -> dict[str, Any]:
    """Start load in the background and return at once with ``run_dir``, ``pids`` and ``summary_json``.

    ``target`` defaults to the configuration's ``backend_url`` (set by the stack control), then the local
    stack's backend. ``scenario`` is a name or a weighted mix (``simple:3,tools:1``); ``duration_s`` bounds the
    run (it ends by itself). Non-loopback targets need ``allow_hosts`` or ``HARNESS_ALLOWED_HOSTS``.
    """
    url = target or (configuration or {}).get("backend_url") or DEFAULT_TARGET
    spec = LoadSpec(target=url, scenario=scenario, users=int(users), spawn_rate=float(spawn_rate),
                    run_time_s=float(duration_s), shape=shape, shape_params=dict(shape_params or {}),
                    workers=int(workers), metrics_port=int(metrics_port), allow_hosts=tuple(allow_hosts or ()),
                    config=dict(load_config or {}))
    try:
        run = LoadRun(spec, Path(run_dir) if run_dir else None).start()
    except (TargetNotAllowed, OutOfBounds, ConfigError) as error:
        raise ActivityFailed(f"load not started: {error}") from None
    except OSError as error:
        raise ActivityFailed(f"load not started: cannot start Locust ({error}); is the venv complete?") from None
    return {"run_dir": str(run.run_dir), "pids": run.pids, "summary_json": str(run.summary_path),
            "metrics_url": f"http://127.0.0.1:{metrics_port}/metrics" if metrics_port else None}


def _run_for(run_dir: str | None) -> tuple[Path, LoadRun | None]:
    path = Path(run_dir).resolve() if run_dir else latest_run_dir()
    if path is None:
        raise ActivityFailed("no load run to act on: start one with harness.load.actions.start_load, or give run_dir")
    return path, next((run for run in _RUNNING if run.run_dir == path), None)


def stop_load(run_dir: str | None = None, grace_s: float = 5.0, configuration: Configuration = None,
              secrets: Secrets = None) -> dict[str, Any]:
    """Stop a load run now (default: the last one started); returns its final summary (or None if it had none).

    Locust gets ``grace_s`` seconds to write its reports, then its processes are killed. Stopping a run that
    has ended already is not an error.
    """
    path, run = _run_for(run_dir)
    try:
        if run is not None:
            run.stop(grace_s)
        else:
            stop_run_dir(path, grace_s)
    except FileNotFoundError as error:
        raise ActivityFailed(str(error)) from None
    from harness.load.summary import read_summary

    return {"run_dir": str(path), "summary": read_summary(path / "summary.json")}


def wait_for_load(run_dir: str | None = None, timeout_s: float = 3600.0, configuration: Configuration = None,
                  secrets: Secrets = None) -> dict[str, Any]:
    """Wait until a load run (default: the last started) ends, at most ``timeout_s``; returns its summary."""
    path, run = _run_for(run_dir)
    if run is None:
        raise ActivityFailed(f"the load in {path} was not started by this process; probe it instead of waiting")
    run.wait(timeout=timeout_s)
    if run.running():
        raise ActivityFailed(f"the load in {path} is still running after {timeout_s:g}s; stop it with stop_load")
    run.stop()
    return {"run_dir": str(path), "summary": run.summary()}
