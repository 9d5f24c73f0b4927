"""The A2A mock as a real process, driven by the official a2a-sdk client and by raw JSON-RPC over httpx."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from a2a.client import A2ACardResolver, A2AClientError, Client, ClientConfig, ClientFactory
from a2a.helpers.proto_helpers import get_artifact_text, get_message_text
from a2a.types.a2a_pb2 import (
    AgentCard,
    AgentInterface,
    Message,
    Part,
    Role,
    SendMessageRequest,
    StreamResponse,
    TaskState,
)

from tests.support import Service

QUESTION = "What drives battery degradation in electric buses?"
V03_MESSAGE = {"role": "user", "messageId": "m-1", "parts": [{"kind": "text", "text": QUESTION}]}
V10_MESSAGE = {"role": "ROLE_USER", "messageId": "m-1", "parts": [{"text": QUESTION}]}


@pytest.fixture(scope="module")
def agent(launch: Callable[..., Service]) -> Service:
    return launch("mock", "a2a", "--processing-ms", "20")


@pytest.fixture
def test_id() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def _no_faults_left(agent: Service) -> Iterator[None]:
    yield
    httpx.delete(f"{agent.url}/_control/faults", timeout=5)


def add_fault(agent: Service, spec: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{agent.url}/_control/faults", json=spec, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()


def request_for(text: str = QUESTION) -> SendMessageRequest:
    return SendMessageRequest(message=Message(role=Role.ROLE_USER, message_id=uuid.uuid4().hex,
                                              parts=[Part(text=text)]))


@asynccontextmanager
async def sdk_client(agent: Service, *, test_id: str | None = None, streaming: bool = True,
                     card: AgentCard | None = None) -> AsyncIterator[Client]:
    """An official a2a-sdk client (card resolved from the agent unless given) on its own httpx client."""
    async with httpx.AsyncClient(headers={"X-Test-Id": test_id} if test_id else {}, timeout=15) as http:
        factory = ClientFactory(ClientConfig(streaming=streaming, httpx_client=http))
        yield factory.create(card) if card is not None else await factory.create_from_url(agent.url)


async def collect(agent: Service, text: str = QUESTION, **options: Any) -> list[StreamResponse]:
    async with sdk_client(agent, **options) as client:
        return [event async for event in client.send_message(request_for(text))]


def final_text(events: list[StreamResponse]) -> str:
    """The answer as the client assembles it: the task's artifact, or the streamed artifact chunks."""
    last = events[-1]
    if last.HasField("task"):
        return get_artifact_text(last.task.artifacts[0], " ")
    return " ".join(get_artifact_text(e.artifact_update.artifact, " ") for e in events
                    if e.HasField("artifact_update"))


def states(events: list[StreamResponse]) -> list[int]:
    found = []
    for event in events:
        if event.HasField("task"):
            found.append(event.task.status.state)
        elif event.HasField("status_update"):
            found.append(event.status_update.status.state)
    return found


def rpc(agent: Service, method: str, params: Any, *, version: str | None = None,
        test_id: str | None = None, request_id: Any = 1) -> httpx.Response:
    headers = {}
    if version:
        headers["A2A-Version"] = version
    if test_id:
        headers["X-Test-Id"] = test_id
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    return httpx.post(f"{agent.url}/", json=body, headers=headers, timeout=15)


def sse_events(agent: Service, method: str, params: Any, *, version: str | None = None,
               test_id: str | None = None) -> list[dict[str, Any]]:
    headers = {"A2A-Version": version} if version else {}
    if test_id:
        headers["X-Test-Id"] = test_id
    body = {"jsonrpc": "2.0", "id": "s-1", "method": method, "params": params}
    with httpx.stream("POST", f"{agent.url}/", json=body, headers=headers, timeout=15) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        return [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]


async def eventually(condition: Callable[[], bool], within_s: float = 5.0) -> None:
    """Wait until ``condition()`` holds; fail after ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within_s}s")
        await asyncio.sleep(0.02)


def metric(agent: Service, name: str, **labels: str) -> float:
    """The value of one sample on /metrics (0 when absent)."""
    text = httpx.get(f"{agent.url}/metrics", timeout=5).text
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)", line)
        if match and match[1] == name and ",".join(sorted((match[2] or "").split(","))) == wanted:
            return float(match[3])
    return 0.0


# --- agent card -------------------------------------------------------------------------------------


async def test_card_is_resolved_by_sdk_and_announces_both_protocol_versions(agent: Service) -> None:
    async with httpx.AsyncClient() as http:
        card = await A2ACardResolver(http, agent.url).get_agent_card()
        raw = (await http.get(f"{agent.url}/.well-known/agent-card.json")).json()
    assert card.name == "research-agent"
    assert card.capabilities.streaming
    assert [(i.protocol_binding, i.protocol_version) for i in card.supported_interfaces] == [
        ("JSONRPC", "1.0"), ("JSONRPC", "0.3")]
    assert {i.url for i in card.supported_interfaces} == {f"{agent.url}/"}
    assert (raw["url"], raw["protocolVersion"], raw["preferredTransport"]) == (f"{agent.url}/", "0.3", "JSONRPC")


# --- the official client, A2A 1.0 and 0.3 transports ------------------------------------------------


async def test_sdk_blocking_send_returns_completed_task_with_deterministic_findings(agent: Service) -> None:
    first = await collect(agent, streaming=False)
    second = await collect(agent, streaming=False)
    assert len(first) == 1
    assert first[0].HasField("task")
    assert first[0].task.status.state == TaskState.TASK_STATE_COMPLETED
    text = final_text(first)
    assert text.startswith(f"research-agent findings on '{QUESTION}':")
    assert text == final_text(second)
    assert get_message_text(first[0].task.status.message, " ") == text


async def test_sdk_stream_shows_state_updates_and_artifact_chunks(agent: Service) -> None:
    events = await collect(agent)
    assert states(events) == [TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING,
                              TaskState.TASK_STATE_COMPLETED]
    chunks = [e for e in events if e.HasField("artifact_update")]
    assert len(chunks) == 3
    assert [c.artifact_update.append for c in chunks] == [False, True, True]
    assert chunks[-1].artifact_update.last_chunk
    assert final_text(events) == final_text(await collect(agent, streaming=False))


@pytest.mark.parametrize("streaming", [False, True])
async def test_sdk_legacy_v03_transport_is_served(agent: Service, streaming: bool) -> None:
    legacy_card = AgentCard(name="research-agent", capabilities={"streaming": True}, supported_interfaces=[
        AgentInterface(url=f"{agent.url}/", protocol_binding="JSONRPC", protocol_version="0.3")])
    method = "message/stream" if streaming else "message/send"
    before = metric(agent, "mock_a2a_requests_total", method=method, outcome="ok")
    events = await collect(agent, card=legacy_card, streaming=streaming)
    assert states(events)[-1] == TaskState.TASK_STATE_COMPLETED
    assert f"findings on '{QUESTION}'" in final_text(events)
    assert metric(agent, "mock_a2a_requests_total", method=method, outcome="ok") == before + 1


async def test_task_can_be_read_back_with_sdk_client(agent: Service) -> None:
    from a2a.types.a2a_pb2 import GetTaskRequest

    async with sdk_client(agent, streaming=False) as client:
        [event] = [e async for e in client.send_message(request_for())]
        task = await client.get_task(GetTaskRequest(id=event.task.id))
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert task.artifacts[0].name == "findings"


# --- raw JSON-RPC: both method generations and the A2A-Version header -------------------------------


@pytest.mark.parametrize(("method", "version", "message", "completed"), [
    ("message/send", None, V03_MESSAGE, "completed"),
    ("message/send", "0.3", V03_MESSAGE, "completed"),
    ("SendMessage", "1.0", V10_MESSAGE, "TASK_STATE_COMPLETED"),
])
def test_raw_send_in_both_generations(agent: Service, method: str, version: str | None,
                                      message: dict[str, Any], completed: str) -> None:
    response = rpc(agent, method, {"message": message}, version=version, request_id=41)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == 41
    assert "error" not in body
    task = body["result"] if method == "message/send" else body["result"]["task"]
    assert task["status"]["state"] == completed
    assert task["artifacts"][0]["parts"][0]["text"].startswith(f"research-agent findings on '{QUESTION}'")


@pytest.mark.parametrize(("method", "version", "message", "states_seen"), [
    ("message/stream", None, V03_MESSAGE, ["submitted", "working", "completed"]),
    ("SendStreamingMessage", "1.0", V10_MESSAGE,
     ["TASK_STATE_SUBMITTED", "TASK_STATE_WORKING", "TASK_STATE_COMPLETED"]),
])
def test_raw_stream_in_both_generations(agent: Service, method: str, version: str | None,
                                        message: dict[str, Any], states_seen: list[str]) -> None:
    events = sse_events(agent, method, {"message": message}, version=version)
    assert all(event["id"] == "s-1" and "result" in event for event in events)
    seen = []
    for event in events:
        result = event["result"]
        for holder in (result, result.get("task"), result.get("statusUpdate")):
            if isinstance(holder, dict) and "status" in holder:
                seen.append(holder["status"]["state"])
    assert seen == states_seen
    assert len(events) == 6  # task, working, three artifact chunks, completed


@pytest.mark.parametrize(("method", "version", "message"), [
    ("SendMessage", None, V10_MESSAGE),
    ("SendMessage", "0.3", V10_MESSAGE),
    ("SendStreamingMessage", None, V10_MESSAGE),
])
def test_v10_method_without_v10_header_gets_version_not_supported(agent: Service, method: str,
                                                                  version: str | None,
                                                                  message: dict[str, Any]) -> None:
    response = rpc(agent, method, {"message": message}, version=version)
    error = response.json()["error"]
    assert error["code"] == -32009
    assert "version" in error["message"].lower()


def test_legacy_method_with_v10_header_is_refused(agent: Service) -> None:
    error = rpc(agent, "message/send", {"message": V03_MESSAGE}, version="1.0").json()["error"]
    assert error["code"] == -32603  # the v0.3 adapter maps "version not supported" to a v0.3 code
    assert "version" in error["message"].lower()


# --- bad JSON-RPC input -----------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "headers", "code"), [
    (b"{not json", {}, -32700),
    (b"\xff\xfe\x00garbage", {}, -32700),
    (b"[]", {}, -32600),
    (b'[{"jsonrpc": "2.0", "id": 1, "method": "message/send"}]', {}, -32600),
    (b'{"jsonrpc": "2.0", "id": 1}', {}, -32600),
    (b'{"jsonrpc": "2.0", "id": 1, "method": ["message/send"]}', {}, -32600),
    (b'{"jsonrpc": "2.0", "id": {"x": 1}, "method": "message/send", "params": {}}', {}, -32600),
    (b'"just a string"', {}, -32600),
    (b'{"jsonrpc": "1.0", "id": 1, "method": "SendMessage", "params": {}}', {"A2A-Version": "1.0"}, -32600),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "tasks/explode", "params": {}}', {}, -32601),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {}}', {"A2A-Version": "1.0"}, -32602),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": 5}}',
     {"A2A-Version": "1.0"}, -32602),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {}}', {}, -32600),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "nope"}}',
     {"A2A-Version": "1.0"}, -32001),
])
def test_bad_jsonrpc_bodies_get_jsonrpc_errors_and_server_keeps_serving(
        agent: Service, content: bytes, headers: dict[str, str], code: int) -> None:
    response = httpx.post(f"{agent.url}/", content=content,
                          headers={"content-type": "application/json", **headers}, timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert body["jsonrpc"] == "2.0"
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    assert rpc(agent, "message/send", {"message": V03_MESSAGE}).json()["result"]["status"]["state"] == "completed"


def test_oversized_body_is_refused_without_reading_it_into_the_agent(agent: Service) -> None:
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "message/send",
                      "params": {"message": {**V03_MESSAGE, "parts": [{"kind": "text", "text": "x" * (2 << 20)}]}}})
    error = httpx.post(f"{agent.url}/", content=big, timeout=10).json()["error"]
    assert error["code"] == -32600
    assert "too large" in error["message"]


def test_message_without_text_is_rejected_as_a_task_state(agent: Service) -> None:
    message = {**V03_MESSAGE, "parts": [{"kind": "data", "data": {"a": 1}}]}
    task = rpc(agent, "message/send", {"message": message}).json()["result"]
    assert task["status"]["state"] == "rejected"
    assert "no text part" in task["status"]["message"]["parts"][0]["text"]


# --- faults -----------------------------------------------------------------------------------------


async def timed_send(agent: Service, test_id: str | None) -> float:
    started = time.perf_counter()
    events = await collect(agent, test_id=test_id, streaming=False)
    assert events[-1].task.status.state == TaskState.TASK_STATE_COMPLETED
    return time.perf_counter() - started


async def test_latency_fault_slows_scoped_requests_only(agent: Service, test_id: str) -> None:
    add_fault(agent, {"type": "latency", "attributes": {"latency_ms": 300}, "scope": {"test_id": test_id}})
    assert await timed_send(agent, test_id) >= 0.28
    assert await timed_send(agent, "someone-else") < 0.25
    started = time.perf_counter()
    rpc(agent, "message/send", {"message": V03_MESSAGE}, test_id=test_id)
    assert time.perf_counter() - started >= 0.28


async def test_latency_fault_scoped_by_method(agent: Service, test_id: str) -> None:
    add_fault(agent, {"type": "latency", "attributes": {"latency_ms": 300},
                      "scope": {"test_id": test_id, "method": "message/stream"}})
    started = time.perf_counter()
    sse_events(agent, "message/stream", {"message": V03_MESSAGE}, test_id=test_id)
    assert time.perf_counter() - started >= 0.28
    started = time.perf_counter()
    rpc(agent, "message/send", {"message": V03_MESSAGE}, test_id=test_id)
    assert time.perf_counter() - started < 0.25


@pytest.mark.parametrize("streaming", [False, True])
async def test_error_fault_is_seen_by_sdk_client(agent: Service, test_id: str, streaming: bool) -> None:
    fault = add_fault(agent, {"type": "error", "attributes": {"status": 503, "rate": 1.0},
                              "scope": {"test_id": test_id}})
    with pytest.raises(A2AClientError, match="503"):
        await collect(agent, test_id=test_id, streaming=streaming)
    before = metric(agent, "mock_a2a_requests_total", method="SendMessage", outcome="injected_error")
    raw = rpc(agent, "SendMessage", {"message": V10_MESSAGE}, version="1.0", test_id=test_id, request_id=7)
    assert raw.status_code == 503
    assert raw.headers["retry-after"] == "1"
    assert raw.json()["id"] == 7
    assert fault["id"] in raw.json()["error"]["message"]
    assert metric(agent, "mock_a2a_requests_total", method="SendMessage", outcome="injected_error") == before + 1
    assert states(await collect(agent, test_id="unaffected", streaming=streaming))[-1] == \
        TaskState.TASK_STATE_COMPLETED


def test_error_fault_rate_zero_never_fires(agent: Service, test_id: str) -> None:
    add_fault(agent, {"type": "error", "attributes": {"status": 500, "rate": 0}, "scope": {"test_id": test_id}})
    codes = {rpc(agent, "message/send", {"message": V03_MESSAGE}, test_id=test_id).status_code for _ in range(5)}
    assert codes == {200}


async def test_fail_task_fault_ends_task_failed_with_reason(agent: Service, test_id: str) -> None:
    add_fault(agent, {"type": "fail_task", "attributes": {"reason": "upstream index unavailable"},
                      "scope": {"test_id": test_id}})
    before = metric(agent, "mock_a2a_tasks_total", state="failed")
    blocking = await collect(agent, test_id=test_id, streaming=False)
    assert blocking[-1].task.status.state == TaskState.TASK_STATE_FAILED
    assert get_message_text(blocking[-1].task.status.message) == "upstream index unavailable"
    streamed = await collect(agent, test_id=test_id)
    assert states(streamed) == [TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING,
                                TaskState.TASK_STATE_FAILED]
    assert metric(agent, "mock_a2a_tasks_total", state="failed") == before + 2
    assert metric(agent, "mock_a2a_faults_applied_total", type="fail_task") >= 2


async def test_stall_fault_holds_task_working_until_removed_and_others_flow(agent: Service, test_id: str) -> None:
    fault = add_fault(agent, {"type": "stall", "scope": {"test_id": test_id}})
    seen: list[StreamResponse] = []

    async with sdk_client(agent, test_id=test_id) as client:

        async def consume() -> None:
            async for event in client.send_message(request_for()):
                seen.append(event)

        stalled = asyncio.create_task(consume())
        await eventually(lambda: TaskState.TASK_STATE_WORKING in states(seen))
        await asyncio.sleep(0.3)
        assert states(seen) == [TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING]
        assert metric(agent, "mock_a2a_active_streams") >= 1
        assert metric(agent, "mock_a2a_active_tasks") >= 1
        # another caller and a broken request are unaffected while this stream hangs
        assert states(await collect(agent, test_id="other"))[-1] == TaskState.TASK_STATE_COMPLETED
        async with httpx.AsyncClient(base_url=agent.url, timeout=5) as http:
            assert "error" in (await http.post("/", content=b"{")).json()
            assert not stalled.done()
            assert (await http.delete(f"/_control/faults/{fault['id']}")).status_code == 200
        await asyncio.wait_for(stalled, timeout=5)
    assert states(seen)[-1] == TaskState.TASK_STATE_COMPLETED


def test_stalled_task_can_be_canceled(agent: Service, test_id: str) -> None:
    add_fault(agent, {"type": "stall", "scope": {"test_id": test_id}})
    before = metric(agent, "mock_a2a_tasks_total", state="canceled")
    started = rpc(agent, "SendMessage", {"message": V10_MESSAGE, "configuration": {"returnImmediately": True}},
                  version="1.0", test_id=test_id).json()["result"]["task"]
    assert started["status"]["state"] in ("TASK_STATE_SUBMITTED", "TASK_STATE_WORKING")
    canceled = rpc(agent, "CancelTask", {"id": started["id"]}, version="1.0").json()["result"]
    assert canceled["status"]["state"] == "TASK_STATE_CANCELED"
    again = rpc(agent, "tasks/get", {"id": started["id"]}).json()["result"]
    assert again["status"]["state"] == "canceled"
    assert metric(agent, "mock_a2a_tasks_total", state="canceled") == before + 1


async def test_fault_ttl_expiry(agent: Service, test_id: str) -> None:
    fault = add_fault(agent, {"type": "latency", "attributes": {"latency_ms": 400}, "ttl_s": 0.5,
                              "scope": {"test_id": test_id}})
    assert fault["ttl_s"] == 0.5
    assert await timed_send(agent, test_id) >= 0.38
    await asyncio.sleep(1.0)
    async with httpx.AsyncClient(base_url=agent.url, timeout=5) as http:
        listed = (await http.get("/_control/faults")).json()["faults"]
    assert fault["id"] not in {f["id"] for f in listed}
    assert await timed_send(agent, test_id) < 0.3


def test_delete_fault_by_id_and_all(agent: Service, test_id: str) -> None:
    slow = add_fault(agent, {"type": "latency", "attributes": {"latency_ms": 300}, "scope": {"test_id": test_id}})
    failing = add_fault(agent, {"type": "error", "attributes": {"status": 502}, "scope": {"test_id": test_id}})
    assert rpc(agent, "message/send", {"message": V03_MESSAGE}, test_id=test_id).status_code == 502

    deleted = httpx.delete(f"{agent.url}/_control/faults/{failing['id']}", timeout=5)
    assert deleted.json() == {"deleted": [failing["id"]]}
    assert [f["id"] for f in httpx.get(f"{agent.url}/_control/faults", timeout=5).json()["faults"]] == [slow["id"]]
    assert rpc(agent, "message/send", {"message": V03_MESSAGE}, test_id=test_id).status_code == 200
    missing = httpx.delete(f"{agent.url}/_control/faults/{failing['id']}", timeout=5)
    assert missing.status_code == 404
    assert "no active fault" in missing.json()["error"]["message"]

    add_fault(agent, {"type": "stall"})
    cleared = httpx.delete(f"{agent.url}/_control/faults", timeout=5).json()["deleted"]
    assert slow["id"] in cleared
    assert len(cleared) == 2
    assert httpx.get(f"{agent.url}/_control/faults", timeout=5).json() == {"faults": []}
    started = time.perf_counter()
    assert rpc(agent, "message/send", {"message": V03_MESSAGE}, test_id=test_id).status_code == 200
    assert time.perf_counter() - started < 0.25


@pytest.mark.parametrize(("spec", "fragment"), [
    (b"{oops", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    ({"type": "meteor"}, "unknown fault type 'meteor'"),
    ({"attributes": {"latency_ms": 10}}, "type: Field required"),
    ({"type": "latency", "attributes": {"latency_ms": -5}}, "attributes.latency_ms"),
    ({"type": "latency", "attributes": {"latency_ms": 5, "jitter_ms": -1}}, "attributes.jitter_ms"),
    ({"type": "latency", "attributes": {"latency_ms": 5, "typo": 1}}, "attributes.typo"),
    ({"type": "error", "attributes": {"rate": 1.5}}, "attributes.rate"),
    ({"type": "error", "attributes": {"status": 200}}, "attributes.status"),
    ({"type": "fail_task", "attributes": {"rate": -0.1}}, "attributes.rate"),
    ({"type": "fail_task", "attributes": {"reason": ""}}, "attributes.reason"),
    ({"type": "stall", "attributes": {"seconds": 3}}, "attributes.seconds"),
    ({"type": "latency", "attributes": {"latency_ms": 5}, "ttl_s": 0}, "ttl_s"),
    ({"type": "latency", "attributes": {"latency_ms": 5}, "ttl_s": -3}, "ttl_s"),
    ({"type": "latency", "attributes": {"latency_ms": 5}, "scope": {"tenant": "x"}}, "unknown scope key"),
])
def test_bad_fault_inputs_are_400_with_clear_message(agent: Service, spec: Any, fragment: str) -> None:
    if isinstance(spec, bytes):
        response = httpx.post(f"{agent.url}/_control/faults", content=spec, timeout=5)
    else:
        response = httpx.post(f"{agent.url}/_control/faults", json=spec, timeout=5)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_fault"
    assert fragment in error["message"]
    assert httpx.get(f"{agent.url}/_control/faults", timeout=5).json() == {"faults": []}


def test_fault_types_and_metrics_are_exposed(agent: Service, test_id: str) -> None:
    described = httpx.get(f"{agent.url}/_control/fault-types", timeout=5).json()
    assert {t["type"] for t in described["fault_types"]} == {"latency", "error", "fail_task", "stall"}
    assert described["scope_keys"] == ["method", "test_id"]
    add_fault(agent, {"type": "stall", "scope": {"test_id": test_id}})
    assert metric(agent, "mock_active_faults", service="a2a", type="stall") == 1
    rpc(agent, "message/send", {"message": V03_MESSAGE})
    text = httpx.get(f"{agent.url}/metrics", timeout=5).text
    assert 'mock_a2a_task_duration_seconds_count{state="completed"}' in text
    assert metric(agent, "mock_a2a_requests_total", method="message/send", outcome="ok") >= 1
    assert metric(agent, "mock_a2a_stored_tasks") >= 1
    assert "process_resident_memory_bytes" in text


# --- process lifecycle ------------------------------------------------------------------------------


@pytest.fixture
async def open_stream(launch: Callable[..., Service]) -> AsyncIterator[tuple[Service, asyncio.Task[Any]]]:
    """A second agent with one message/stream hanging on a stall fault."""
    own = launch("mock", "a2a", "--processing-ms", "5", "--agent-name", "sigterm-agent")
    add_fault(own, {"type": "stall"})
    async with sdk_client(own) as client:

        async def consume() -> list[StreamResponse]:
            return [event async for event in client.send_message(request_for())]

        stream = asyncio.create_task(consume())
        await eventually(lambda: metric(own, "mock_a2a_active_tasks") >= 1)
        yield own, stream
        stream.cancel()
        await asyncio.gather(stream, return_exceptions=True)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_stop_signal_exits_cleanly_even_with_an_open_stream(
        open_stream: tuple[Service, asyncio.Task[Any]], sig: signal.Signals) -> None:
    own, stream = open_stream
    async with httpx.AsyncClient(timeout=5) as http:
        card = (await http.get(f"{own.url}/.well-known/agent-card.json")).json()
    assert card["name"] == "sigterm-agent"
    assert metric(own, "mock_a2a_active_tasks") == 1
    assert not stream.done()
    started = time.perf_counter()
    code = await asyncio.to_thread(own.stop, sig)
    assert time.perf_counter() - started < 8
    log = own.log_text()
    assert '"event": "a2a_mock_drained"' in log
    assert "Traceback" not in log
    assert code == 0, log
    assert '"event": "stopped"' in log
