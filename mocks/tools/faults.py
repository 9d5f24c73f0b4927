"""Faults of the MCP tool server, in the shared fault model.

* ``latency`` — the tool call waits ``latency_ms ± jitter_ms`` before it runs.
* ``error`` — for a fraction ``rate`` of tool calls the tool answers a tool error (``isError: true``,
  HTTP 200), the way a failing MCP tool looks to an agent; ``status`` is only named in the message.
* ``http_error`` — for a fraction ``rate`` of MCP POSTs the ``/mcp`` transport answers HTTP ``status``
  with a JSON-RPC error body, the way a failing MCP server (or its gateway) looks to an agent.

Scope keys: ``tool`` (the called tool's name; requests other than ``tools/call`` have none) and
``test_id`` (the ``X-Test-Id`` request header).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mocks.common.faults import ErrorAttributes, Fault, FaultBoard, FaultCatalog, FaultType, LatencyAttributes

MAX_INSPECTED_BODY_BYTES = 4 * 1024 * 1024
INTERNAL_ERROR = -32603

TOOLS_FAULTS = FaultCatalog(
    [
        FaultType("latency", LatencyAttributes, "delay before each tool call runs: latency_ms ± jitter_ms"),
        FaultType("error", ErrorAttributes,
                  "a tool error result (isError, HTTP 200) for a fraction `rate` of tool calls; "
                  "`status` is only named in the message"),
        FaultType("http_error", ErrorAttributes,
                  "HTTP `status` with a JSON-RPC error body on the /mcp transport for a fraction `rate` "
                  "of MCP requests"),
    ],
    scope_keys=("tool", "test_id"),
)

FaultContext = Mapping[str, str | None]


def fault_context(headers: Mapping[str, str] | None, tool: str | None) -> dict[str, str | None]:
    """The scope context of one request: its tool and its ``X-Test-Id``."""
    return {"tool": tool, "test_id": headers.get("x-test-id") if headers is not None else None}


def strikes(fault: Fault | None) -> bool:
    """True when an error fault applies to this request (drawn against its ``rate``)."""
    if fault is None:
        return False
    attributes = fault.attributes
    assert isinstance(attributes, ErrorAttributes)
    return attributes.strikes()


async def apply_latency(board: FaultBoard, context: FaultContext) -> None:
    """Sleep for the oldest matching ``latency`` fault, if any."""
    fault = board.first("latency", context)
    if fault is None:
        return
    attributes = fault.attributes
    assert isinstance(attributes, LatencyAttributes)
    await asyncio.sleep(attributes.draw_delay_s())


def injected_error_message(fault: Fault) -> str:
    """The text a caller sees for an injected error."""
    attributes = fault.attributes
    assert isinstance(attributes, ErrorAttributes)
    return f"injected fault {fault.id}: the tool server failed with status {attributes.status}"


class TransportFaults:
    """ASGI wrapper around the ``/mcp`` endpoint that answers ``http_error`` faults.

    The request body is read (to find the called tool) only while an ``http_error`` fault is
    active, so the normal path costs one dictionary check. ``on_reject(tool)`` is called for each
    injected rejection (for metrics).
    """

    def __init__(self, app: ASGIApp, board: FaultBoard, on_reject: Callable[[str | None], None]) -> None:
        self.app = app
        self.board = board
        self.on_reject = on_reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not self._armed():
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            response = _jsonrpc_error(413, None, "the request body is too large")
            await response(scope, receive, send)
            return
        request_id, tool = _peek(body)
        fault = self.board.first("http_error", fault_context(Headers(scope=scope), tool))
        if strikes(fault):
            assert fault is not None
            attributes = fault.attributes
            assert isinstance(attributes, ErrorAttributes)
            self.on_reject(tool)
            response = _jsonrpc_error(attributes.status, request_id,
                                      f"injected fault {fault.id}: HTTP {attributes.status}")
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _armed(self) -> bool:
        return any(fault.type == "http_error" for fault in self.board.active())


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when it exceeds :data:`MAX_INSPECTED_BODY_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_INSPECTED_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields the already-read body once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _peek(body: bytes) -> tuple[Any, str | None]:
    """The JSON-RPC id and, for ``tools/call``, the tool name; (None, None) when unreadable."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(message, dict):
        return None, None
    request_id = message.get("id")
    params = message.get("params")
    if message.get("method") == "tools/call" and isinstance(params, dict) and isinstance(params.get("name"), str):
        return request_id, params["name"]
    return request_id, None


def _jsonrpc_error(status: int, request_id: Any, message: str) -> JSONResponse:
    valid_id = request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None
    return JSONResponse({"jsonrpc": "2.0", "id": valid_id, "error": {"code": INTERNAL_ERROR, "message": message}},
                        status_code=status)
