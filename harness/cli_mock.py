"""``harness mock openai|a2a|tools|weather``: run one dependency stand-in in the foreground."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from starlette.types import ASGIApp

from harness.logs import configure_logging
from mocks.common.server import PortInUseError, serve

mock_app = typer.Typer(help="Run a dependency stand-in (OpenAI, A2A agent, MCP tools, weather API).",
                       no_args_is_help=True)

Host = Annotated[str, typer.Option(help="Address to listen on (loopback by default).")]
ControlToken = Annotated[str | None, typer.Option(
    envvar="MOCK_CONTROL_TOKEN",
    help="Allow non-loopback clients on the fault API when they send 'Authorization: Bearer <token>'.")]
DefaultTtl = Annotated[float, typer.Option(min=0.001, help="TTL (s) of a fault whose request gives none.")]
LogFormat = Annotated[str, typer.Option(help="json (default) or console.")]


def _run(component: str, build: Callable[[], ASGIApp], host: str, port: int, log_format: str) -> None:
    """Configure logs, build the app and serve it; a taken port is a one-line error and exit code 2.

    An app that holds requests open on purpose (a ``stall`` fault) exposes ``state.begin_shutdown``:
    it is called at the stop signal so those requests end instead of waiting out the grace period.
    """
    if log_format not in ("json", "console"):
        raise typer.BadParameter("use json or console", param_hint="--log-format")
    configure_logging(json_logs=log_format == "json")
    app = build()
    try:
        serve(app, host=host, port=port, component=component,
              on_exit=getattr(getattr(app, "state", None), "begin_shutdown", None))
    except PortInUseError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


@mock_app.command("openai")
def openai_command(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 18081,
    answer_tokens: Annotated[int, typer.Option(min=1, max=100_000,
                                               help="Tokens in a plain text answer.")] = 24,
    inter_token_ms: Annotated[float, typer.Option(min=0, max=60_000,
                                                  help="Pause between chunks (0: no pause).")] = 0.0,
    models: Annotated[str, typer.Option(help="Comma-separated model ids served; '*' accepts any.")] = "",
    control_token: ControlToken = None,
    default_fault_ttl: DefaultTtl = 300.0,
    log_format: LogFormat = "json",
) -> None:
    """OpenAI-compatible Chat Completions stub (streaming, tool calls, faults)."""
    from mocks.openai.app import OpenAISettings, create_app

    def build() -> ASGIApp:
        settings = OpenAISettings(answer_tokens=answer_tokens, inter_token_ms=inter_token_ms,
                                  control_token=control_token,
                                  default_fault_ttl_s=default_fault_ttl)
        if models:
            settings = settings.with_models(models)
        return create_app(settings)

    _run("mock-openai", build, host, port, log_format)


@mock_app.command("a2a")
def a2a_command(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 18082,
    processing_ms: Annotated[float, typer.Option(min=0, help="Time the agent spends on a task.")] = 50.0,
    agent_name: Annotated[str, typer.Option(help="Name in the agent card.")] = "research-agent",
    control_token: ControlToken = None,
    default_fault_ttl: DefaultTtl = 300.0,
    log_format: LogFormat = "json",
) -> None:
    """A2A agent built on the official a2a-sdk (agent card, message/send, message/stream)."""
    from mocks.a2a.app import A2ASettings, create_app

    def build() -> ASGIApp:
        return create_app(A2ASettings(processing_ms=processing_ms, agent_name=agent_name,
                                      public_url=f"http://{host}:{port}", control_token=control_token,
                                      default_fault_ttl_s=default_fault_ttl))

    _run("mock-a2a", build, host, port, log_format)


@mock_app.command("tools")
def tools_command(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 18083,
    weather_url: Annotated[str, typer.Option(help="Base URL of the weather HTTP API.")] = "http://127.0.0.1:18084",
    control_token: ControlToken = None,
    default_fault_ttl: DefaultTtl = 300.0,
    log_format: LogFormat = "json",
) -> None:
    """MCP tool server (calculator, weather, notes) over streamable HTTP at /mcp."""
    from mocks.tools.app import ToolsSettings, create_app

    def build() -> ASGIApp:
        return create_app(ToolsSettings(weather_url=weather_url, control_token=control_token,
                                        default_fault_ttl_s=default_fault_ttl))

    _run("mock-tools", build, host, port, log_format)


@mock_app.command("weather")
def weather_command(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 18084,
    control_token: ControlToken = None,
    default_fault_ttl: DefaultTtl = 300.0,
    log_format: LogFormat = "json",
) -> None:
    """Weather HTTP API stub that the MCP weather tool calls."""
    from mocks.weather.app import WeatherSettings, create_app

    def build() -> ASGIApp:
        return create_app(WeatherSettings(control_token=control_token, default_fault_ttl_s=default_fault_ttl))

    _run("mock-weather", build, host, port, log_format)
