"""``harness stack up|status|down`` and ``harness doctor``: the local world, one command each."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from harness.logs import configure_logging
from harness.stack.errors import StackError

stack_app = typer.Typer(help="Bring the local stack (database, stand-ins, fault proxy, backend, Prometheus) up "
                             "and down.", no_args_is_help=True)

StateDir = Annotated[Path | None, typer.Option(
    envvar="HARNESS_STACK_DIR", help="State directory (state file, logs, data). Default: ./runs/stack.")]
PortOption = Annotated[list[str] | None, typer.Option(
    "--port", help="NAME=PORT (repeatable or comma-separated), e.g. backend=18080. Names: see `harness doctor`. "
                   "Also HARNESS_STACK_PORTS.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
LogFormat = Annotated[str, typer.Option(help="console (default) or json, on stderr.")]


def _state_dir(value: Path | None) -> Path:
    from harness.stack.state import default_state_dir

    return value.resolve() if value else default_state_dir()


def _logging(log_format: str) -> None:
    if log_format not in ("json", "console"):
        raise typer.BadParameter("use json or console", param_hint="--log-format")
    configure_logging(json_logs=log_format == "json")


def _fail(error: Exception) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(1)


def _raise_on_sigterm() -> None:
    """SIGTERM ends ``up`` like Ctrl-C does: through its clean-up, so nothing is left half started."""

    def handler(_sig: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _print_status(report: dict[str, Any]) -> None:
    width = max((len(name) for name in report["components"]), default=10) + 2
    for name, component in report["components"].items():
        mark = "healthy" if component["healthy"] else "UNHEALTHY"
        pid = component["pid"] if component["pid"] is not None else "-"
        typer.echo(f"  {name:<{width}}{mark:<11}pid {pid!s:<8}{component['url']}")
    for name, proxy in report["proxies"].items():
        typer.echo(f"  proxy {name:<{width - 6}}{proxy['listen']} -> {proxy['upstream']}")


@stack_app.command("up")
def up_command(
    defects: Annotated[str, typer.Option(help="Backend defects to switch on, comma-separated.")] = "",
    audit_log: Annotated[str, typer.Option(help="Backend audit log: on or off.")] = "on",
    database_url: Annotated[str | None, typer.Option(
        help="Use this PostgreSQL server instead of the embedded one.", envvar="HARNESS_STACK_DATABASE_URL")] = None,
    port: PortOption = None,
    state_dir: StateDir = None,
    scrape_interval: Annotated[float, typer.Option(help="Prometheus scrape interval, 1..5 s.")] = 2.0,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for everything to be healthy.")] = 60.0,
    json_output: JsonFlag = False,
    log_format: LogFormat = "console",
) -> None:
    """Start everything detached and return when all is healthy (a second `up` reports what runs)."""
    from harness.stack.config import StackConfig
    from harness.stack.lifecycle import status, up
    from harness.stack.ports import ports_from

    _logging(log_format)
    if audit_log not in ("on", "off"):
        raise typer.BadParameter("use on or off", param_hint="--audit-log")
    _raise_on_sigterm()
    started = time.monotonic()
    try:
        config = StackConfig(state_dir=_state_dir(state_dir), ports=ports_from(port or []),
                             defects=tuple(d.strip() for d in defects.split(",") if d.strip()),
                             audit_log=audit_log == "on", database_url=database_url,
                             scrape_interval_s=scrape_interval, timeout_s=timeout)
        state, already = up(config)
    except StackError as error:
        raise _fail(error) from None
    except KeyboardInterrupt:
        typer.echo("interrupted: everything started was stopped", err=True)
        raise typer.Exit(130) from None
    report = status(Path(state.state_dir))
    if json_output:
        typer.echo(json.dumps(report, indent=2))
        return
    verb = "already running" if already else f"up in {time.monotonic() - started:.1f}s"
    typer.echo(f"stack {verb} (state: {state.state_dir})")
    _print_status(report)


@stack_app.command("status")
def status_command(state_dir: StateDir = None, json_output: JsonFlag = False) -> None:
    """Each component's URL, PID and health; exit code 1 unless all are healthy."""
    from harness.stack.lifecycle import status

    try:
        report = status(_state_dir(state_dir))
    except StackError as error:
        raise _fail(error) from None
    if json_output:
        typer.echo(json.dumps(report, indent=2))
    elif not report["components"]:
        typer.echo(f"no stack recorded in {report['state_dir']}")
    else:
        typer.echo(f"stack in {report['state_dir']}: {'healthy' if report['running'] else 'NOT healthy'}")
        _print_status(report)
    if not report["running"]:
        raise typer.Exit(1)


@stack_app.command("down")
def down_command(
    state_dir: StateDir = None,
    keep_logs: Annotated[bool, typer.Option(help="Keep the logs folder.")] = False,
    log_format: LogFormat = "console",
) -> None:
    """Stop everything the stack started and remove what it created (works after `up` was killed)."""
    from harness.stack.lifecycle import down

    _logging(log_format)
    directory = _state_dir(state_dir)
    try:
        stopped = down(directory, keep_logs=keep_logs)
    except StackError as error:
        raise _fail(error) from None
    typer.echo(f"stack down: stopped {', '.join(stopped)}" if stopped else f"no stack recorded in {directory}")


def doctor_command(
    port: PortOption = None,
    state_dir: StateDir = None,
    json_output: JsonFlag = False,
) -> None:
    """Check the prerequisites of the local stack (python3.12, Prometheus, ports, disk) and say how to fix each."""
    from harness.stack.doctor import as_json, run_checks
    from harness.stack.ports import StackPorts, ports_from

    try:
        ports = ports_from(port or [])
    except StackError as error:
        raise _fail(error) from None
    checks = run_checks(ports, _state_dir(state_dir))
    if json_output:
        typer.echo(json.dumps(as_json(checks), indent=2))
    else:
        for check in checks:
            mark = "ok  " if check.ok else ("FAIL" if check.required else "warn")
            typer.echo(f"{mark}  {check.name}: {check.detail}")
            if not check.ok:
                typer.echo(f"      fix: {check.fix}")
        typer.echo(f"port names: {', '.join(StackPorts.names())}")
    if any(check.required and not check.ok for check in checks):
        raise typer.Exit(1)
