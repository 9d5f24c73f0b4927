"""The MCP tool server, run as a real process and called with the official ``mcp`` client.

The weather tool goes over real HTTP to a real weather stub process, so faults injected on the stub
show up in the tool call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent
from prometheus_client.parser import text_string_to_metric_families

from mocks.tools.notes import NotesError, NoteStore
from tests.support import Service, free_port


@pytest.fixture(scope="module")
def weather(launch: Callable[..., Service]) -> Service:
    return launch("mock", "weather")


@pytest.fixture(scope="module")
def tools(launch: Callable[..., Service], weather: Service) -> Service:
    return launch("mock", "tools", "--weather-url", weather.url)


@pytest.fixture
def control(tools: Service, weather: Service) -> Iterator[Callable[[Service, dict[str, Any]], dict[str, Any]]]:
    """``control(service, spec)`` adds a fault; every fault on both services is removed afterwards."""
    with httpx.Client(timeout=10) as http:

        def add(service: Service, spec: dict[str, Any]) -> dict[str, Any]:
            response = http.post(f"{service.url}/_control/faults", json=spec)
            assert response.status_code == 201, response.text
            return response.json()

        yield add
        for service in (tools, weather):
            http.delete(f"{service.url}/_control/faults")


@asynccontextmanager
async def mcp_client(service: Service, *, test_id: str | None = None, mode: str = "auto") -> AsyncIterator[Client]:
    """The official client over streamable HTTP, optionally sending ``X-Test-Id``."""
    headers = {"X-Test-Id": test_id} if test_id else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0))
    transport = streamable_http_client(f"{service.url}/mcp", http_client=http)
    async with http, Client(transport, mode=mode) as client:
        yield client


def text_of(result: CallToolResult) -> str:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return block.text


async def timed_call(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[CallToolResult, float]:
    started = time.monotonic()
    result = await client.call_tool(tool, arguments)
    return result, time.monotonic() - started


async def test_lists_the_three_tools_with_their_schemas(tools: Service) -> None:
    async with mcp_client(tools) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(listed) == {"calculator", "weather", "notes"}
    assert set(listed["calculator"].input_schema["properties"]) == {"expression"}
    assert listed["calculator"].input_schema["required"] == ["expression"]
    assert listed["weather"].input_schema["required"] == ["city"]
    notes_schema = listed["notes"].input_schema
    assert set(notes_schema["properties"]) == {"action", "text", "note_id"}
    assert notes_schema["properties"]["action"]["enum"] == ["add", "list", "get"]
    assert notes_schema["required"] == ["action"]
    for tool in listed.values():
        assert tool.output_schema is not None


async def test_calculator(tools: Service) -> None:
    async with mcp_client(tools) as client:
        ok = await client.call_tool("calculator", {"expression": "2+3*4"})
        by_zero = await client.call_tool("calculator", {"expression": "1/0"})
        escape = await client.call_tool("calculator", {"expression": "__import__('os').system('id')"})
        wrong_type = await client.call_tool("calculator", {"expression": 7})
    assert not ok.is_error
    assert text_of(ok) == "2+3*4 = 14"
    assert ok.structured_content == {"expression": "2+3*4", "result": 14}
    assert by_zero.is_error
    assert "division by zero" in text_of(by_zero)
    assert escape.is_error
    assert "function call is not allowed" in text_of(escape)
    assert wrong_type.is_error


async def test_weather_goes_through_the_weather_stub(tools: Service, weather: Service) -> None:
    async with mcp_client(tools) as client:
        result = await client.call_tool("weather", {"city": "Lisbon"})
    direct = httpx.get(f"{weather.url}/v1/current", params={"city": "Lisbon"}).json()
    assert not result.is_error
    assert result.structured_content is not None
    for key in ("city", "temperature_c", "condition", "humidity"):
        assert result.structured_content[key] == direct[key]
    assert text_of(result).startswith(f"Lisbon: {direct['temperature_c']} °C, {direct['condition']}")


async def test_legacy_handshake_clients_work_and_get_no_session(tools: Service) -> None:
    async with mcp_client(tools, mode="legacy") as client:
        assert client.protocol_version != "2026-07-28"
        result = await client.call_tool("calculator", {"expression": "6*7"})
    assert result.structured_content == {"expression": "6*7", "result": 42}
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                             "clientInfo": {"name": "test", "version": "0"}}}
    response = httpx.post(f"{tools.url}/mcp", json=initialize,
                          headers={"accept": "application/json, text/event-stream"})
    assert response.status_code == 200
    assert "mcp-session-id" not in response.headers
    assert httpx.get(f"{tools.url}/mcp", headers={"accept": "text/event-stream"}, timeout=5).status_code == 405


async def test_weather_stub_latency_slows_only_the_weather_tool(
        tools: Service, weather: Service, control: Callable[..., dict[str, Any]]) -> None:
    control(weather, {"type": "latency", "attributes": {"latency_ms": 700}, "scope": {"test_id": "stub-latency"}})
    async with mcp_client(tools, test_id="stub-latency") as client:
        slowed, weather_s = await timed_call(client, "weather", {"city": "Paris"})
        _, calculator_s = await timed_call(client, "calculator", {"expression": "1+1"})
    async with mcp_client(tools, test_id="someone-else") as client:
        _, other_s = await timed_call(client, "weather", {"city": "Paris"})
    assert not slowed.is_error
    assert weather_s >= 0.65
    assert calculator_s < 0.5
    assert other_s < 0.5


async def test_weather_stub_error_is_a_tool_error_naming_the_status(
        tools: Service, weather: Service, control: Callable[..., dict[str, Any]]) -> None:
    control(weather, {"type": "error", "attributes": {"status": 503}})
    async with mcp_client(tools) as client:
        result = await client.call_tool("weather", {"city": "Paris"})
        calculation = await client.call_tool("calculator", {"expression": "1+1"})
    assert result.is_error
    assert "weather API answered HTTP 503" in text_of(result)
    assert not calculation.is_error


async def test_tool_faults_are_scoped_by_tool(tools: Service, control: Callable[..., dict[str, Any]]) -> None:
    control(tools, {"type": "error", "attributes": {"status": 500}, "scope": {"tool": "weather"}})
    control(tools, {"type": "latency", "attributes": {"latency_ms": 600}, "scope": {"tool": "calculator"}})
    async with mcp_client(tools) as client:
        failed, _ = await timed_call(client, "weather", {"city": "Paris"})
        calculated, calculator_s = await timed_call(client, "calculator", {"expression": "2**8"})
        listed, notes_s = await timed_call(client, "notes", {"action": "list"})
    assert failed.is_error
    assert "injected fault" in text_of(failed)
    assert failed.meta is not None
    assert calculated.structured_content == {"expression": "2**8", "result": 256}
    assert calculator_s >= 0.55
    assert not listed.is_error
    assert notes_s < 0.5


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_tool_faults_are_scoped_by_test_id(
        tools: Service, control: Callable[..., dict[str, Any]], mode: str) -> None:
    control(tools, {"type": "error", "scope": {"test_id": "doomed"}})
    async with (mcp_client(tools, test_id="doomed", mode=mode) as doomed,
                mcp_client(tools, test_id="spared", mode=mode) as spared):
        hit = await doomed.call_tool("calculator", {"expression": "1+1"})
        missed = await spared.call_tool("calculator", {"expression": "1+1"})
    assert hit.is_error
    assert not missed.is_error


async def test_tool_fault_ends_when_ttl_runs_out(tools: Service, control: Callable[..., dict[str, Any]]) -> None:
    control(tools, {"type": "error", "ttl_s": 0.5, "scope": {"tool": "calculator"}})
    async with mcp_client(tools) as client:
        during = await client.call_tool("calculator", {"expression": "1+1"})
        await asyncio.sleep(0.7)
        after = await client.call_tool("calculator", {"expression": "1+1"})
    assert during.is_error
    assert not after.is_error


async def test_http_error_fault_fails_the_transport(tools: Service, control: Callable[..., dict[str, Any]]) -> None:
    control(tools, {"type": "http_error", "attributes": {"status": 502}, "scope": {"tool": "weather"}})
    async with mcp_client(tools) as client:
        with pytest.raises(MCPError, match="HTTP 502"):
            await client.call_tool("weather", {"city": "Paris"})
        survived = await client.call_tool("calculator", {"expression": "3*3"})
    assert survived.structured_content == {"expression": "3*3", "result": 9}


async def test_notes_add_list_get_under_concurrency(tools: Service) -> None:
    async with mcp_client(tools) as client:
        added = await asyncio.gather(*(client.call_tool("notes", {"action": "add", "text": f"note {i}"})
                                       for i in range(50)))
        listed = await client.call_tool("notes", {"action": "list"})
        assert all(not result.is_error for result in added)
        ids = [result.structured_content["note"]["id"] for result in added if result.structured_content]
        fetched = await client.call_tool("notes", {"action": "get", "note_id": ids[7]})
        unknown = await client.call_tool("notes", {"action": "get", "note_id": 10**9})
        no_text = await client.call_tool("notes", {"action": "add"})
        bad_action = await client.call_tool("notes", {"action": "delete"})
    assert len(set(ids)) == 50
    assert listed.structured_content is not None
    listed_ids = {note["id"] for note in listed.structured_content["notes"]}
    assert set(ids) <= listed_ids
    assert fetched.structured_content is not None
    assert fetched.structured_content["note"]["text"] == "note 7"
    assert unknown.is_error
    assert "no note with id" in text_of(unknown)
    assert no_text.is_error
    assert "needs a non-empty 'text'" in text_of(no_text)
    assert bad_action.is_error


def test_note_store_is_bounded() -> None:
    store = NoteStore(max_notes=2)
    store.add("a")
    store.add("b")
    with pytest.raises(NotesError, match="full"):
        store.add("c")
    assert [note.text for note in store.recent(1)] == ["b"]


async def test_bad_mcp_input_gets_json_rpc_errors(tools: Service) -> None:
    async with httpx.AsyncClient(base_url=tools.url, timeout=10) as http:
        headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
        malformed = await http.post("/mcp", content=b"{not json", headers=headers)
        unknown_method = await http.post("/mcp", headers=headers, json={"jsonrpc": "2.0", "id": 3, "method": "nope"})
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == -32700
    assert unknown_method.json()["error"]["code"] == -32601
    async with mcp_client(tools) as client:
        missing = await client.call_tool("nonexistent", {})
        still_fine = await client.call_tool("calculator", {"expression": "1+2"})
    assert missing.is_error
    assert "Unknown tool" in text_of(missing)
    assert not still_fine.is_error


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"type": "explode"}', "unknown fault type 'explode'"),
        (b'{"type": "latency", "attributes": {"latency_ms": -1}}', "latency_ms"),
        (b'{"type": "error", "attributes": {"rate": 2}}', "rate"),
        (b'{"type": "http_error", "attributes": {"status": 200}}', "status"),
        (b'{"type": "error", "ttl_s": 0}', "ttl_s"),
        (b'{"type": "error", "scope": {"city": "Paris"}}', "unknown scope key"),
    ],
)
def test_bad_fault_is_400(tools: Service, body: bytes, fragment: str) -> None:
    response = httpx.post(f"{tools.url}/_control/faults", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


def samples(service: Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{service.url}/metrics").text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


async def test_metrics_count_tool_calls_by_outcome(tools: Service, control: Callable[..., dict[str, Any]]) -> None:
    before = samples(tools)
    async with mcp_client(tools) as client:
        await client.call_tool("calculator", {"expression": "1+1"})
        await client.call_tool("calculator", {"expression": "1/0"})
        await client.call_tool("no-such-tool", {})
        control(tools, {"type": "error", "scope": {"tool": "notes"}})
        await client.call_tool("notes", {"action": "list"})
    after = samples(tools)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("mcp_tool_calls_total", tool="calculator", outcome="ok") == 1
    assert delta("mcp_tool_calls_total", tool="calculator", outcome="tool_error") == 1
    assert delta("mcp_tool_calls_total", tool="unknown", outcome="tool_error") == 1
    assert delta("mcp_tool_calls_total", tool="notes", outcome="injected_error") == 1
    assert delta("mcp_tool_call_duration_seconds_count", tool="calculator") == 2
    assert after[("mock_active_faults", (("service", "tools"), ("type", "error")))] == 1


async def test_unreachable_weather_api_and_sigterm(launch: Callable[..., Service]) -> None:
    orphan = launch("mock", "tools", "--weather-url", f"http://127.0.0.1:{free_port()}")
    async with mcp_client(orphan) as client:
        result = await client.call_tool("weather", {"city": "Paris"})
    assert result.is_error
    assert "unreachable" in text_of(result)
    assert orphan.stop() == 0
    assert '"stopped"' in orphan.log_text()
