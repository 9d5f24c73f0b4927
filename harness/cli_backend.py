"""``harness backend``: run the reference agent backend in the foreground."""

from __future__ import annotations

from typing import Annotated

import typer

from harness.logs import configure_logging
from mocks.common.server import PortInUseError, serve

DEFAULT_A2A_URL = "http://127.0.0.1:18082"


class DatabaseUnreachable(RuntimeError):
    """The database URL does not lead to a PostgreSQL server that answers."""


def check_database(url: str, timeout_s: float = 10.0) -> None:
    """Connect once before serving, so a wrong URL is one clear line instead of a start-up traceback."""
    import asyncio

    import asyncpg

    async def probe() -> None:
        connection = await asyncpg.connect(url, timeout=timeout_s)
        await connection.close()

    try:
        asyncio.run(probe())
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as failure:
        shown = url.split("@")[-1]
        raise DatabaseUnreachable(f"cannot reach PostgreSQL at {shown}: {failure}; start it or fix --database-url "
                                  "(or DATABASE_URL)") from None


def backend_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 18080,
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL", help="PostgreSQL URL.")] = (
        "postgresql://postgres@127.0.0.1:15432/postgres"),
    openai_base_url: Annotated[str, typer.Option(envvar="OPENAI_BASE_URL")] = "http://127.0.0.1:18081/v1",
    openai_api_key: Annotated[str, typer.Option(envvar="OPENAI_API_KEY", show_default=False)] = "sk-local-mock",
    model: Annotated[str, typer.Option(envvar="OPENAI_MODEL")] = "gpt-4o-mini",
    mcp_url: Annotated[str, typer.Option(envvar="MCP_URL", help="MCP server URL; empty: no tools.")] = (
        "http://127.0.0.1:18083/mcp"),
    a2a_url: Annotated[list[str] | None, typer.Option(envvar="A2A_URLS",
                                                       help="A2A agent base URL (repeatable); none: no delegation.")]
        = None,
    audit_log: Annotated[str, typer.Option(help="on or off.")] = "on",
    defects: Annotated[str, typer.Option(envvar="BACKEND_DEFECTS",
                                         help="Comma-separated defects to switch on (see README).")] = "",
    heartbeat_s: Annotated[float, typer.Option(min=0.1, help="SSE heartbeat interval.")] = 15.0,
    sse_queue_size: Annotated[int, typer.Option(min=1, help="Events buffered per SSE connection.")] = 1000,
    a2a_timeout_s: Annotated[float, typer.Option(min=0.1, help="Timeout of one A2A delegation.")] = 15.0,
    tool_timeout_s: Annotated[float, typer.Option(min=0.1, help="Timeout of one MCP tool call.")] = 15.0,
    llm_timeout_s: Annotated[float, typer.Option(min=0.1, help="LLM read timeout (a silent stream fails).")] = 30.0,
    log_format: Annotated[str, typer.Option(help="json or console.")] = "json",
) -> None:
    """Reference realtime agent backend (AG-UI over SSE; OpenAI, MCP, A2A, PostgreSQL)."""
    from mocks.agent_backend.app import create_app
    from mocks.agent_backend.settings import BackendSettings, parse_defects

    if audit_log not in ("on", "off"):
        raise typer.BadParameter("use on or off", param_hint="--audit-log")
    if log_format not in ("json", "console"):
        raise typer.BadParameter("use json or console", param_hint="--log-format")
    try:
        defect_set = parse_defects(defects)
    except ValueError as failure:
        raise typer.BadParameter(str(failure), param_hint="--defects") from None
    configure_logging(json_logs=log_format == "json")
    try:
        check_database(database_url)
    except DatabaseUnreachable as failure:
        typer.echo(f"error: {failure}", err=True)
        raise typer.Exit(2) from None
    settings = BackendSettings(
        database_url=database_url, openai_base_url=openai_base_url, openai_api_key=openai_api_key, model=model,
        mcp_url=mcp_url or None, a2a_urls=tuple(url for url in a2a_url or [DEFAULT_A2A_URL] if url),
        audit_log=audit_log == "on", defects=defect_set, heartbeat_s=heartbeat_s, sse_queue_size=sse_queue_size,
        a2a_timeout_s=a2a_timeout_s, tool_timeout_s=tool_timeout_s, llm_timeout_s=llm_timeout_s)
    app = create_app(settings)
    try:
        serve(app, host=host, port=port, component="agent-backend", on_exit=app.state.backend.lifecycle.begin_drain,
              graceful_s=settings.shutdown_grace_s + 3)
    except PortInUseError as failure:
        typer.echo(f"error: {failure}", err=True)
        raise typer.Exit(2) from None
