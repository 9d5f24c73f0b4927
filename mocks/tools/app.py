"""The MCP tool server as one ASGI app: MCP (streamable HTTP) at ``/mcp``, plus the shared fault API,
``/metrics`` and ``/healthz``.

Sessions: the transport runs stateless (``stateless_http=True``) with JSON responses. A client keeps
one long-lived ``ClientSession`` exactly as with a stateful server, but the server holds nothing
between requests: no ``Mcp-Session-Id``, no per-session task or stream, nothing to expire, and a
restarted server (or a connection cut by the fault proxy) never strands a client on a dead session
id. Clients that speak the 2026-07-28 protocol (the SDK's default ``Client``) use the per-request
envelope, which is stateless anyway. Nothing here needs server-to-client requests, which is the one
thing stateless mode gives up.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mocks.common.control import control_routes
from mocks.common.faults import DEFAULT_TTL_S, FaultBoard
from mocks.common.metrics import metrics_route, new_registry
from mocks.common.server import health_route
from mocks.tools.faults import TOOLS_FAULTS, TransportFaults
from mocks.tools.instrumentation import FaultInjection, ToolMetrics
from mocks.tools.notes import DEFAULT_MAX_NOTES, NoteStore
from mocks.tools.server import TOOL_NAMES, build_server
from mocks.tools.weather_client import DEFAULT_TIMEOUT_S, WeatherClient

SERVICE = "tools"
MCP_PATH = "/mcp"
INVALID_REQUEST = -32600
log = structlog.get_logger("mock-tools")


@dataclass(frozen=True)
class ToolsSettings:
    """How the tool server runs."""

    weather_url: str = "http://127.0.0.1:18084"
    control_token: str | None = None
    default_fault_ttl_s: float = DEFAULT_TTL_S
    max_notes: int = DEFAULT_MAX_NOTES
    weather_timeout_s: float = DEFAULT_TIMEOUT_S


def create_app(settings: ToolsSettings | None = None) -> Starlette:
    """The tool server as an ASGI app; its lifespan runs the MCP session manager."""
    settings = settings or ToolsSettings()
    board = FaultBoard(TOOLS_FAULTS, default_ttl_s=settings.default_fault_ttl_s)
    registry = new_registry(board, SERVICE)
    metrics = ToolMetrics(registry, TOOL_NAMES)
    weather_api = WeatherClient(settings.weather_url, timeout_s=settings.weather_timeout_s)
    server = build_server(NoteStore(settings.max_notes), weather_api, FaultInjection(board, metrics))
    server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        # The stand-in is reached through fault proxies and container names whose Host headers
        # cannot be listed in advance, and it serves only fake data: no DNS-rebinding allow-list.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    session_manager = server.session_manager

    def count_rejection(tool: str | None) -> None:
        if tool is not None:
            metrics.observe(tool, "injected_http_error")

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with session_manager.run():
            try:
                yield
            finally:
                await weather_api.aclose()

    routes = [
        health_route(),
        metrics_route(registry),
        *control_routes(board, token=settings.control_token),
        # POST only: a stateless server has nothing to push on a GET stream (it would just hang
        # open), and there is no session to DELETE; both answer 405 as the spec allows.
        Route(MCP_PATH, TransportFaults(session_manager.handle_request, board, count_rejection), methods=["POST"]),
    ]
    log.info("tools_app_ready", tools=list(TOOL_NAMES), weather_url=settings.weather_url, mcp_path=MCP_PATH)
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error})


async def http_error(request: Request, exc: Exception) -> Response:
    """404/405 and other routing errors as JSON-RPC errors (id null), the MCP endpoint's error shape."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = getattr(exc, "headers", None)
    message = f"{request.method} {request.url.path}: {getattr(exc, 'detail', '') or 'request failed'}"
    if status == 405 and request.url.path == MCP_PATH:
        message += "; this stateless MCP server takes POST only (no GET stream, no sessions to DELETE)"
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)
