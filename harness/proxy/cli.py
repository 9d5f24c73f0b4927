"""``harness proxy serve``: the embedded Toxiproxy-compatible fault proxy, like ``toxiproxy-server``."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import structlog
import typer

from harness.logs import configure_logging
from harness.proxy.server import PortInUseError, ProxyServer, new_event_loop

proxy_app = typer.Typer(help="Toxiproxy-compatible TCP fault proxy.", no_args_is_help=True)


async def _serve_until_signal(server: ProxyServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        await stop.wait()
    finally:
        structlog.get_logger("proxy").info("shutting down")
        await server.stop()


@proxy_app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address of the HTTP API (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port of the HTTP API.")] = 8474,
    config: Annotated[Path | None, typer.Option(
        help="JSON array of proxies (the /populate format) created before the API starts.")] = None,
    metrics: Annotated[bool, typer.Option(help="Serve Prometheus byte counters at /metrics.")] = False,
    log_format: Annotated[str, typer.Option(help="json (default) or console.")] = "json",
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the Toxiproxy 2.12 HTTP API and the proxies it creates until SIGTERM/SIGINT."""
    if log_format not in ("json", "console"):
        raise typer.BadParameter("use json or console", param_hint="--log-format")
    configure_logging(json_logs=log_format == "json", level=log_level)
    server = ProxyServer(host, port, metrics=metrics, config=config)
    loop = new_event_loop()
    try:
        loop.run_until_complete(_serve_until_signal(server))
    except PortInUseError as error:
        typer.echo(f"error: harness proxy: {error}", err=True)
        raise typer.Exit(2) from None
    finally:
        loop.close()
