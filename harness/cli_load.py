"""``harness load run|worker|stop``: AG-UI SSE load through Locust subprocesses, with a JSON summary."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from harness.logs import configure_logging

load_app = typer.Typer(help="Drive AG-UI load (Locust, as subprocesses) at a backend and summarise it.",
                       no_args_is_help=True)

EXIT_REFUSED = 2


def _raise_on_sigterm() -> None:
    def handler(_sig: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _key_values(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--shape-param")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _print_summary(summary: dict[str, Any]) -> None:
    def q(name: str) -> str:
        figures = summary.get(name) or {}
        return " ".join(f"{k}={figures.get(k)}" for k in ("p50", "p95", "p99"))

    typer.echo(f"turns {summary['turns']} (failed {summary['turns'] - summary['turns_ok']}), failures "
               f"{summary['failures']} {summary['failures_by_kind'] or ''}, idle holds {summary['idle_holds']}")
    for name in ("first_event_ms", "first_response_ms", "first_token_ms", "turn_ms"):
        typer.echo(f"  {name:<18} {q(name)}")
    typer.echo(f"  events/turn {summary['events_per_turn']}  bytes/turn {summary['bytes_per_turn']}  "
               f"SSE peak {summary['sse_connections_peak']}  users peak {summary['users_peak']}")
    if summary.get("capacity"):
        typer.echo(f"  capacity: {summary['capacity']['users']} users ({summary['capacity']['reason']})")


@load_app.command("run")
def run_command(
    target: Annotated[str, typer.Option(envvar="HARNESS_LOAD_TARGET", help="Backend base URL.")] =
        "http://127.0.0.1:17080",
    scenario: Annotated[str, typer.Option(help="simple, tools, chain, a2a, idle, conversation, all, "
                                               "or a weighted mix like simple:3,tools:1.")] = "simple",
    users: Annotated[int, typer.Option(help="Users (peak users for shapes).")] = 10,
    spawn_rate: Annotated[float, typer.Option(help="Users started per second.")] = 5.0,
    run_time: Annotated[str, typer.Option(help="Duration: 60s, 10m, 2h, 1h30m (at most 72h).")] = "60s",
    shape: Annotated[str | None, typer.Option(help="constant, ramp, step, spike or soak.")] = None,
    shape_param: Annotated[list[str] | None, typer.Option(help="Shape parameter KEY=VALUE (repeatable), e.g. "
                                                               "step_s=30.")] = None,
    workers: Annotated[int, typer.Option(help="Local Locust workers (0: one standalone process).")] = 0,
    remote_workers: Annotated[int, typer.Option(help="Workers on other machines the master also waits for.")] = 0,
    master_bind_host: Annotated[str, typer.Option(help="Master address (0.0.0.0 lets remote workers join).")] =
        "127.0.0.1",
    master_port: Annotated[int | None, typer.Option(help="Master port (default: a free one).")] = None,
    tool: Annotated[str | None, typer.Option(help="Tool the tools scenario hammers: calculator, weather, notes, "
                                                  "any.")] = None,
    transport: Annotated[str | None, typer.Option(help="session (default) or run.")] = None,
    config: Annotated[Path | None, typer.Option(help="Load config JSON (see docs/load.md).")] = None,
    allow_host: Annotated[list[str] | None, typer.Option(help="Non-loopback host load may go to (repeatable; "
                                                              "also HARNESS_ALLOWED_HOSTS).")] = None,
    metrics_port: Annotated[int, typer.Option(help="Prometheus metrics of the load on this port (0: off).")] = 0,
    run_dir: Annotated[Path | None, typer.Option(help="Run directory (default: ./runs/load/<time>-...).")] = None,
    summary_json: Annotated[Path | None, typer.Option(help="Also write the final summary JSON here.")] = None,
    log_format: Annotated[str, typer.Option(help="console or json, on stderr.")] = "console",
) -> None:
    """Run load headless until the run time is over; print the summary. Ctrl-C/SIGTERM stop every process."""
    from harness.load.config import ConfigError, load_config
    from harness.load.runner import LoadRun, LoadSpec
    from harness.load.safety import OutOfBounds, TargetNotAllowed, allowed_hosts, parse_duration

    configure_logging(json_logs=log_format == "json")
    try:
        extra = load_config(str(config)).to_dict() if config else {}
        extra.pop("scenarios", None)
        for key in ("users", "spawn_rate", "run_time_s", "shape"):
            extra.pop(key, None)
        extra.update({k: v for k, v in (("tool", tool), ("transport", transport)) if v is not None})
        spec = LoadSpec(target=target, scenario=scenario, users=users, spawn_rate=spawn_rate,
                        run_time_s=parse_duration(run_time), shape=shape, shape_params=_key_values(shape_param),
                        workers=workers, remote_workers=remote_workers, master_bind_host=master_bind_host,
                        master_port=master_port, metrics_port=metrics_port,
                        allow_hosts=tuple(sorted(allowed_hosts(allow_host))), config=extra)
        run = LoadRun(spec, run_dir)
    except (TargetNotAllowed, OutOfBounds, ConfigError) as error:
        typer.echo(f"refused: {error}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    _raise_on_sigterm()
    interrupted = False
    try:
        run.start()
        typer.echo(f"load running: {run.run_dir}", err=True)
        run.wait()
    except KeyboardInterrupt:
        interrupted = True
        typer.echo("interrupted: stopping the load", err=True)
    finally:
        run.stop()
    summary = run.summary()
    if summary is None:
        typer.echo(f"error: the load wrote no summary; see {run.run_dir}/master.log", err=True)
        raise typer.Exit(1)
    if summary_json:
        summary_json.parent.mkdir(parents=True, exist_ok=True)
        summary_json.write_text(json.dumps(summary, indent=1))
    _print_summary(summary)
    if interrupted:
        raise typer.Exit(130)


@load_app.command("worker")
def worker_command(
    master_host: Annotated[str, typer.Option(help="Address of the master to join.")],
    master_port: Annotated[int, typer.Option(help="The master's port.")] = 5557,
    config: Annotated[Path | None, typer.Option(help="The same load config JSON as the master's.")] = None,
) -> None:
    """Join a master running elsewhere as one more worker (runs in the foreground until the master ends)."""
    from harness.load.runner import LOCUSTFILE

    env = {**os.environ, **({"HARNESS_LOAD_CONFIG": str(config.resolve())} if config else {})}
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host", master_host,
               "--master-port", str(master_port), "--parent-pid", str(os.getpid())]
    _raise_on_sigterm()
    process = subprocess.Popen(command, env=env)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    raise typer.Exit(code)


@load_app.command("stop")
def stop_command(run_dir: Annotated[Path, typer.Option(help="The run directory of the load to stop.")]) -> None:
    """Stop the Locust processes of a run started elsewhere (e.g. by a Chaos Toolkit action)."""
    from harness.load.runner import stop_run_dir

    try:
        stopped = stop_run_dir(run_dir)
    except FileNotFoundError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"stopped: {', '.join(stopped) or 'nothing was running'}")
