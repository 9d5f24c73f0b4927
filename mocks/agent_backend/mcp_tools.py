"""The backend's MCP tools: one long-lived session to the tool server through the official ``mcp`` client.

A keeper task owns the client (the SDK's transports live in their task's scope), reconnects with backoff
when the session breaks, and refreshes the tool list on every connect. Calls come from many run tasks at
once and share the session; each has its own timeout, and none of them ever raises into the agent loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

import httpx2
import structlog
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import TextContent

from mocks.agent_backend.agent import ToolOutcome
from mocks.agent_backend.metrics import BackendMetrics

log = structlog.get_logger("agent-mcp")
CONNECT_WAIT_S = 5.0
MAX_BACKOFF_S = 5.0


class MCPToolSet:
    """MCP tools offered to the model as OpenAI function tools, and called over one shared session."""

    def __init__(self, url: str, metrics: BackendMetrics) -> None:
        self.url = url
        self._metrics = metrics
        self._client: Client | None = None
        self._tools: list[dict[str, Any]] = []
        self._connected = asyncio.Event()
        self._broken = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the keeper; wait briefly for a first connection (the server may come up later)."""
        self._keeper = asyncio.create_task(self._keep_connected(), name="mcp-keeper")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), CONNECT_WAIT_S)

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper

    async def openai_tools(self) -> list[dict[str, Any]]:
        """The tools as OpenAI function definitions (empty while the tool server is unreachable)."""
        return list(self._tools)

    async def call(self, name: str, arguments: dict[str, Any], timeout_s: float) -> ToolOutcome:
        """Call one tool; failures and timeouts become error outcomes the model can read."""
        started = time.perf_counter()
        kind, outcome = await self._call(name, arguments, timeout_s)
        self._metrics.tool_seconds.labels(name, kind).observe(time.perf_counter() - started)
        return outcome

    async def _call(self, name: str, arguments: dict[str, Any], timeout_s: float) -> tuple[str, ToolOutcome]:
        try:
            client = await self._session(timeout_s)
            result = await asyncio.wait_for(client.call_tool(name, arguments, read_timeout_seconds=timeout_s),
                                            timeout_s)
        except TimeoutError:
            return "timeout", ToolOutcome(f"error: tool {name} timed out after {timeout_s:g}s", True)
        except (MCPError, httpx2.HTTPError, OSError) as failure:
            self._broken.set()
            return "error", ToolOutcome(f"error: tool {name} failed: {failure}", True)
        text = " ".join(block.text for block in result.content if isinstance(block, TextContent))
        if result.is_error:
            return "tool_error", ToolOutcome(f"error: {text}", True)
        return "ok", ToolOutcome(text)

    async def _session(self, timeout_s: float) -> Client:
        if self._client is None:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        assert self._client is not None
        return self._client

    async def _keep_connected(self) -> None:
        attempt = 0
        while True:
            try:
                http = httpx2.AsyncClient(timeout=httpx2.Timeout(30.0, connect=5.0))
                async with http, Client(streamable_http_client(self.url, http_client=http)) as client:
                    listing = await client.list_tools()
                    self._tools = [_as_openai_tool(tool) for tool in listing.tools]
                    self._client = client
                    self._broken.clear()
                    self._connected.set()
                    attempt = 0
                    log.info("mcp_connected", url=self.url, tools=[t["function"]["name"] for t in self._tools])
                    await self._broken.wait()
                    log.warning("mcp_reconnecting", url=self.url)
            except asyncio.CancelledError:
                raise
            except Exception as failure:  # any transport or protocol failure: reconnect after a backoff
                attempt += 1
                log.warning("mcp_unavailable", url=self.url, attempt=attempt, error=str(failure))
            finally:
                self._client = None
                self._connected.clear()
            await asyncio.sleep(random.uniform(0, min(MAX_BACKOFF_S, 0.2 * 2 ** attempt)))


def _as_openai_tool(tool: Any) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": tool.name, "description": tool.description or tool.title or tool.name,
        "parameters": tool.input_schema or {"type": "object", "properties": {}}}}
