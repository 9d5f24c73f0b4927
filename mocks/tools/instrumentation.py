"""Every ``tools/call`` passes through here: faults are applied, the outcome is counted and timed.

This hooks the SDK's own seam for wrapping tool calls, ``Extension.intercept_tool_call`` (the
interceptor sees the validated ``tools/call`` params, the request context with the HTTP headers, and
the handler's ``CallToolResult``), so the tool functions stay free of fault and metrics code.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import anyio
import structlog
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension
from mcp_types import CallToolRequestParams, CallToolResult, TextContent
from prometheus_client import CollectorRegistry, Counter, Histogram

from mocks.common.faults import FaultBoard
from mocks.tools.faults import apply_latency, fault_context, injected_error_message, strikes

log = structlog.get_logger("mock-tools")

UNKNOWN_TOOL = "unknown"


class ToolMetrics:
    """``mcp_tool_calls_total{tool,outcome}`` and ``mcp_tool_call_duration_seconds{tool}``.

    Outcomes: ``ok``, ``tool_error`` (the tool refused: bad input, weather API down, ...),
    ``injected_error`` (an ``error`` fault), ``injected_http_error`` (an ``http_error`` fault),
    ``failed`` (a protocol error or a cancelled call). Unknown tool names count as ``unknown`` so a
    caller cannot grow the label set.
    """

    def __init__(self, registry: CollectorRegistry, tools: Iterable[str]) -> None:
        self.tools = frozenset(tools)
        self.calls = Counter("mcp_tool_calls", "MCP tool calls by tool and outcome", ["tool", "outcome"],
                             registry=registry)
        self.duration = Histogram("mcp_tool_call_duration_seconds",
                                  "MCP tool call duration on the server, injected latency included", ["tool"],
                                  registry=registry,
                                  buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

    def label(self, tool: str | None) -> str:
        """The ``tool`` label for a (possibly unknown) tool name."""
        return tool if tool in self.tools else UNKNOWN_TOOL

    def observe(self, tool: str | None, outcome: str, duration_s: float | None = None) -> None:
        """Count one call (and time it when ``duration_s`` is given)."""
        label = self.label(tool)
        self.calls.labels(tool=label, outcome=outcome).inc()
        if duration_s is not None:
            self.duration.labels(tool=label).observe(duration_s)


class FaultInjection(Extension):
    """Applies ``latency`` and ``error`` faults to tool calls and records their metrics."""

    identifier = "io.github.agent-chaos-harness/fault-injection"

    def __init__(self, board: FaultBoard, metrics: ToolMetrics) -> None:
        self.board = board
        self.metrics = metrics

    def settings(self) -> dict[str, Any]:
        """Advertised under ``capabilities.extensions``: the fault types this server can inject."""
        return {"fault_types": sorted(self.board.catalog.types), "control_api": "/_control/faults"}

    async def intercept_tool_call(self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any],
                                  call_next: CallNext) -> HandlerResult:
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = await self._call(params, ctx, call_next)
            if isinstance(result, CallToolResult) and result.is_error:
                outcome = "injected_error" if _is_injected(result) else "tool_error"
            else:
                outcome = "ok"
            return result
        except anyio.get_cancelled_exc_class():
            outcome = "failed"
            raise
        finally:
            self.metrics.observe(params.name, outcome, time.perf_counter() - started)

    async def _call(self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any],
                    call_next: CallNext) -> HandlerResult:
        if not self.board.active():
            return await call_next(ctx)
        context = fault_context(getattr(ctx.request, "headers", None), params.name)
        await apply_latency(self.board, context)
        fault = self.board.first("error", context)
        if strikes(fault):
            assert fault is not None
            log.debug("tool_error_injected", tool=params.name, fault_id=fault.id)
            return CallToolResult(content=[TextContent(type="text", text=injected_error_message(fault))],
                                  is_error=True, _meta={INJECTED_META_KEY: fault.id})
        return await call_next(ctx)


INJECTED_META_KEY = "io.github.agent-chaos-harness/injected-fault"


def _is_injected(result: CallToolResult) -> bool:
    return bool(result.meta and INJECTED_META_KEY in result.meta)
