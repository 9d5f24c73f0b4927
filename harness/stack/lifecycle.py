"""``up``, ``status`` and ``down`` of the local stack.

``up`` checks everything it can before starting anything (binaries, every port, an external database),
starts the processes detached (they outlive the command), records each PID in the state file at once, and
returns when all are healthy. Any failure stops what was started and removes what was created.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from harness.stack import components
from harness.stack.components import Layout, ProcessSpec
from harness.stack.config import POSTGRES_EXPORTER, PROMETHEUS, StackConfig, redact_url
from harness.stack.errors import StackError
from harness.stack.health import check_all, healthy, wait_until
from harness.stack.ports import HOST
from harness.stack.postgres import LocalPostgres, PostgresError
from harness.stack.processes import ProcessRef, is_running, spawn, start_ticks, stop, wait_ended
from harness.stack.prometheus import write_config
from harness.stack.state import LOCK_FILE, ComponentState, StackState, locked
from harness.stack.wiring import proxy_definitions

log = structlog.get_logger("stack")

STOP_GRACE_S = 10.0
# Stopped in this order, one wave at a time: the backend drains first, the database goes last.
STOP_WAVES = (("backend",), ("postgres_exporter", "prometheus", "tools", "a2a", "openai", "weather", "proxy"),
              ("postgres",))
LOG_TAIL_LINES = 12


def up(config: StackConfig) -> tuple[StackState, bool]:
    """Bring the stack up (or find it running); returns its state and whether it was already up."""
    try:
        return _up_locked(config)
    finally:
        _remove_if_only_lock(config.state_dir)


def _up_locked(config: StackConfig) -> tuple[StackState, bool]:
    with locked(config.state_dir):
        existing = StackState.load(config.state_dir)
        if existing is not None:
            if _all_healthy(existing):
                if existing.settings != config.settings():
                    raise StackError(f"a stack already runs from {config.state_dir} with other settings "
                                     f"({_settings_diff(existing.settings, config.settings())}); "
                                     "run `harness stack down` first")
                log.info("stack_already_up", state_dir=str(config.state_dir))
                return existing, True
            log.warning("stack_partly_down_replacing", state_dir=str(config.state_dir))
            _teardown(existing)
        _preflight(config)
        state = StackState(state_dir=str(config.state_dir), settings=config.settings(),
                           ports=config.ports.as_dict(), up_pid=os.getpid(), up_start_ticks=start_ticks(os.getpid()))
        state.save()
        try:
            _start_all(config, state)
        except BaseException:
            log.error("stack_up_failed_cleaning_up", state_dir=str(config.state_dir), logs_kept=True)
            _teardown(state, keep_logs=True)
            raise
        state.up_pid = state.up_start_ticks = None
        state.save()
        return state, False


def down(state_dir: Path, *, keep_logs: bool = False) -> list[str]:
    """Stop every recorded process and remove what ``up`` created; returns the names stopped.

    Works after ``up`` was killed (the state file has every PID); a still-running ``up`` is stopped first.
    """
    state = StackState.load(state_dir)
    if state is None:
        return []
    names = [name for name, component in state.components.items() if component.pid]
    _stop_running_up(state)
    with locked(state_dir, timeout_s=STOP_GRACE_S + 10):
        state = StackState.load(state_dir)
        if state is not None:
            _teardown(state, keep_logs=keep_logs)
    _remove_if_only_lock(state_dir)
    return names


def status(state_dir: Path) -> dict[str, Any]:
    """``{"components": {name: {"url", "pid", "healthy", "log"}}, "proxies": ..., "urls": ...}``."""
    state = StackState.load(state_dir)
    if state is None:
        return {"state_dir": str(state_dir), "running": False, "components": {}, "proxies": {}, "urls": {}}
    health = _health(state)
    return {
        "state_dir": state.state_dir,
        "running": bool(health) and all(health.values()),
        "starting": state.up_pid is not None and is_running(ProcessRef(state.up_pid, state.up_start_ticks or 0)),
        "settings": state.settings,
        "components": {name: {"url": component.url, "pid": component.pid, "healthy": health[name],
                              "log": component.log}
                       for name, component in state.components.items()},
        "proxies": {proxy["name"]: {"listen": proxy["listen"], "upstream": proxy["upstream"]}
                    for proxy in state.proxies},
        "urls": state.urls,
    }


# -- up ----------------------------------------------------------------------------------------------------


def _preflight(config: StackConfig) -> None:
    """Everything that can be checked before a process starts: binaries, ports, an external database."""
    PROMETHEUS.require()
    POSTGRES_EXPORTER.require()
    names = [name for name in config.ports.names() if config.embedded_postgres or name != "postgres"]
    taken = config.ports.taken(names)
    if taken:
        raise StackError("; ".join(taken))
    if not config.embedded_postgres:
        from harness.cli_backend import DatabaseUnreachable, check_database

        try:
            check_database(config.direct_database_url(), timeout_s=5.0)
        except DatabaseUnreachable as error:
            raise StackError(f"external database: {error}") from None


def _start_all(config: StackConfig, state: StackState) -> None:
    started = time.monotonic()
    layout = Layout(config.state_dir)
    state.created = [str(path) for path in layout.created()]
    state.proxies = proxy_definitions(config)
    state.urls = _urls(config)
    state.save()
    layout.logs.mkdir(parents=True, exist_ok=True)
    layout.proxies_file.write_text(json.dumps(state.proxies, indent=2))
    prometheus_config = write_config(config, layout.prometheus)

    for spec in [*components.stand_ins(config, layout), components.prometheus(config, layout, prometheus_config)]:
        _launch(spec, layout, state)
    _start_postgres(config, layout, state)
    _wait_healthy(state, ["proxy"], config.timeout_s)
    for spec in (components.postgres_exporter(config), components.backend(config)):
        _launch(spec, layout, state)
    _wait_healthy(state, list(state.components), config.timeout_s - (time.monotonic() - started))
    log.info("stack_up", seconds=round(time.monotonic() - started, 2), state_dir=state.state_dir)


def _launch(spec: ProcessSpec, layout: Layout, state: StackState) -> None:
    log_path = layout.log(spec.name)
    ref = spawn(spec.command, log_path, env=components.child_env(spec.env))
    state.add(ComponentState(spec.name, spec.url, spec.health_url, ref.pid, ref.start_ticks, spec.stop_signal,
                             str(log_path)))
    log.info("component_started", component=spec.name, pid=ref.pid, url=spec.url)


def _start_postgres(config: StackConfig, layout: Layout, state: StackState) -> None:
    """The embedded server (recorded before it is waited for), or a record of the external one."""
    url = components.postgres_url(config)
    address = config.database_upstream()
    if not config.embedded_postgres:
        state.add(ComponentState("postgres", url, f"tcp://{address}"))
        return
    server = LocalPostgres(layout.postgres_data, config.ports.postgres, host=HOST, log_file=layout.log("postgres"))
    try:
        pid = server.launch()
        state.add(ComponentState("postgres", url, f"tcp://{address}", pid, start_ticks(pid), signal.SIGINT,
                                 str(server.log_path)))
        server.wait_ready(config.timeout_s)
    except PostgresError as error:
        raise StackError(f"postgres: {error}") from None
    log.info("component_started", component="postgres", pid=pid, url=url)


def _wait_healthy(state: StackState, names: list[str], timeout_s: float) -> None:
    def abort() -> None:
        for name in names:
            ref = state.components[name].process
            if ref is not None and not is_running(ref):
                raise StackError(f"{name} exited during start-up; its log {state.components[name].log} ends "
                                 f"with:\n{_log_tail(state.components[name].log)}")

    checks = {name: _checker(state.components[name]) for name in names}
    failing = wait_until(checks, max(timeout_s, 1.0), abort)
    if failing:
        details = "\n".join(f"--- {name} ({state.components[name].health_url}); log {state.components[name].log}:\n"
                            f"{_log_tail(state.components[name].log)}" for name in failing)
        raise StackError(f"not healthy within {timeout_s:.0f}s: {', '.join(failing)}\n{details}")


def _urls(config: StackConfig) -> dict[str, str]:
    """The addresses an experiment needs (also handed to Chaos Toolkit's configuration by the control)."""
    ports = config.ports
    return {"backend_url": f"http://{HOST}:{ports.backend}", "toxiproxy_url": f"http://{HOST}:{ports.proxy}",
            "prometheus_url": f"http://{HOST}:{ports.prometheus}",
            "database_url": redact_url(config.proxied_database_url()),
            "openai_url": f"http://{HOST}:{ports.openai}", "a2a_url": f"http://{HOST}:{ports.a2a}",
            "tools_url": f"http://{HOST}:{ports.tools}", "weather_url": f"http://{HOST}:{ports.weather}"}


def _settings_diff(running: dict[str, Any], wanted: dict[str, Any]) -> str:
    return ", ".join(f"{key}: running {running.get(key)!r}, asked {wanted[key]!r}"
                     for key in wanted if running.get(key) != wanted[key])


# -- status ------------------------------------------------------------------------------------------------


def _checker(component: ComponentState) -> Callable[[], bool]:
    def check() -> bool:
        ref = component.process
        return (ref is None or is_running(ref)) and healthy(component.health_url)

    return check


def _health(state: StackState) -> dict[str, bool]:
    return check_all({name: _checker(component) for name, component in state.components.items()})


def _all_healthy(state: StackState) -> bool:
    health = _health(state)
    return state.up_pid is None and bool(health) and all(health.values())


# -- down --------------------------------------------------------------------------------------------------


def _stop_running_up(state: StackState) -> None:
    """An ``up`` still at work on this state directory is told to stop (it then cleans up what it started)."""
    if state.up_pid is None or state.up_pid == os.getpid():
        return
    ref = ProcessRef(state.up_pid, state.up_start_ticks or 0)
    if is_running(ref):
        log.warning("stopping_running_up", pid=ref.pid)
        os.kill(ref.pid, signal.SIGTERM)
        if wait_ended([ref], STOP_GRACE_S + 20):
            os.kill(ref.pid, signal.SIGKILL)
            wait_ended([ref], 5.0)


def _teardown(state: StackState, *, keep_logs: bool = False) -> None:
    """Stop the recorded processes wave by wave, then remove every path ``up`` created and the state file."""
    known = set().union(*STOP_WAVES)
    waves = [*STOP_WAVES[:-1], tuple(name for name in state.components if name not in known), STOP_WAVES[-1]]
    for wave in waves:
        refs = [(component.process, component.stop_signal) for name in wave
                if (component := state.components.get(name)) is not None and component.process is not None]
        if refs:
            stop(refs, STOP_GRACE_S)
    for component in state.components.values():
        if component.process is not None and is_running(component.process):
            raise StackError(f"{component.name} (pid {component.pid}) did not stop; kill it by hand, then run "
                             "`harness stack down` again")
    root = Path(state.state_dir)
    for created in map(Path, state.created):
        if keep_logs and created == Layout(root).logs:
            continue
        if created.is_dir():
            shutil.rmtree(created, ignore_errors=True)
        else:
            created.unlink(missing_ok=True)
    state.path.unlink(missing_ok=True)
    _remove_if_only_lock(root)
    log.info("stack_down", state_dir=state.state_dir)


def _remove_if_only_lock(root: Path) -> None:
    """Remove the state directory when nothing but the lock file is left in it."""
    if root.is_dir() and {entry.name for entry in root.iterdir()} <= {LOCK_FILE}:
        shutil.rmtree(root, ignore_errors=True)


def _log_tail(path: str | None) -> str:
    if not path:
        return "(no log)"
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
    except OSError:
        return "(no log)"
