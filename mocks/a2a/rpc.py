"""The JSON-RPC endpoint: the SDK's dispatcher behind a thin layer for faults, metrics and body checks.

Both method generations are served on the same URL by the SDK (``JsonRpcDispatcher`` with its v0.3
compat adapter): ``SendMessage``/``SendStreamingMessage``/... need ``A2A-Version: 1.0``; the legacy
``message/send``/``message/stream``/... need no header or ``A2A-Version: 0.3``. The SDK answers a
mismatch with the A2A "version not supported" JSON-RPC error.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog
from a2a.compat.v0_3.jsonrpc_adapter import JSONRPC03Adapter
from a2a.server.jsonrpc_models import InternalError, InvalidRequestError, JSONParseError, JSONRPCError
from a2a.server.request_handlers import build_error_response
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from prometheus_client import Gauge
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from mocks.a2a.faults import fault_scope
from mocks.a2a.metrics import A2AMetrics
from mocks.common.faults import ErrorAttributes, FaultBoard, LatencyAttributes

log = structlog.get_logger("mock-a2a")

MAX_BODY_BYTES = 1 << 20
KNOWN_METHODS = frozenset(JsonRpcDispatcher.METHOD_TO_MODEL) | frozenset(JSONRPC03Adapter.METHOD_TO_MODEL)


def rpc_error(request_id: str | int | None, error: JSONRPCError, status_code: int = 200,
              headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON-RPC error in the SDK's own shape (HTTP 200 unless a fault asks otherwise)."""
    return JSONResponse(build_error_response(request_id, error), status_code=status_code, headers=headers)


def request_id_of(body: Any) -> str | int | None:
    """The JSON-RPC id when it is a usable one (str or int, not bool), else None."""
    request_id = body.get("id") if isinstance(body, dict) else None
    return request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None


class _CountedStream:
    """Wraps a streaming response so ``gauge`` counts it while it is open."""

    def __init__(self, response: Response, gauge: Gauge) -> None:
        self.response = response
        self.gauge = gauge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self.gauge.track_inprogress():
            await self.response(scope, receive, send)


class RpcEndpoint:
    """``POST /``: checks the body, applies ``latency`` and ``error`` faults, then lets the SDK answer."""

    def __init__(self, dispatcher: JsonRpcDispatcher, board: FaultBoard, metrics: A2AMetrics) -> None:
        self.dispatcher = dispatcher
        self.board = board
        self.metrics = metrics

    async def handle(self, request: Request) -> Response | _CountedStream:
        """The Starlette endpoint."""
        declared = request.headers.get("content-length", "")
        too_large = declared.isdigit() and int(declared) > MAX_BODY_BYTES
        raw = b"" if too_large else await request.body()
        if too_large or len(raw) > MAX_BODY_BYTES:
            return self._refuse("too_large", InvalidRequestError(
                message=f"payload too large: at most {MAX_BODY_BYTES} bytes"))
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            return self._refuse("invalid", JSONParseError(message=f"request body is not valid JSON: {error}"))
        method = body.get("method") if isinstance(body, dict) else None
        if not isinstance(method, str):
            method = None
        label = method if method in KNOWN_METHODS else "unknown"
        request_id = request_id_of(body)

        scope = fault_scope(request.headers, method)
        if (injected := await self._apply_faults(scope, request_id)) is not None:
            self.metrics.requests.labels(label, "injected_error").inc()
            return injected

        response = await self.dispatcher.handle_requests(request)
        if isinstance(response, JSONResponse):
            outcome = "rpc_error" if "error" in json.loads(response.body) else "ok"
            self.metrics.requests.labels(label, outcome).inc()
            return response
        self.metrics.requests.labels(label, "ok").inc()
        return _CountedStream(response, self.metrics.active_streams)

    async def _apply_faults(self, scope: dict[str, str | None], request_id: str | int | None) -> Response | None:
        """Sleep for a ``latency`` fault; return the error response of an ``error`` fault that hits."""
        latency = self.board.first("latency", scope)
        if latency is not None and isinstance(latency.attributes, LatencyAttributes):
            self.metrics.faults_applied.labels("latency").inc()
            await asyncio.sleep(latency.attributes.draw_delay_s())
        error = self.board.first("error", scope)
        if error is None or not isinstance(error.attributes, ErrorAttributes) or not error.attributes.strikes():
            return None
        self.metrics.faults_applied.labels("error").inc()
        status = error.attributes.status
        log.debug("error_injected", fault_id=error.id, status=status)
        headers = {"Retry-After": "1"} if status in (429, 503) else None
        return rpc_error(request_id, InternalError(message=f"injected fault {error.id}: HTTP {status}"),
                         status_code=status, headers=headers)

    def _refuse(self, label: str, error: JSONRPCError) -> JSONResponse:
        """A body the SDK never sees (unreadable or too large); ``label`` stands in for the method."""
        self.metrics.requests.labels(label, "rpc_error").inc()
        return rpc_error(None, error)
