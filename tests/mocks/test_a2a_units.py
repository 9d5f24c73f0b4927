"""In-process checks of the A2A mock's parts: bounded task store, answer text, settings, fault helpers."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from a2a.server.context import ServerCallContext
from a2a.types.a2a_pb2 import Task, TaskState, TaskStatus

from mocks.a2a.app import A2ASettings, create_app
from mocks.a2a.faults import A2A_FAULTS, FailTaskAttributes
from mocks.a2a.findings import MAX_TOPIC_CHARS, research_findings
from mocks.a2a.sdk_logs import ClientErrorFilter
from mocks.a2a.store import BoundedTaskStore
from mocks.common.faults import FaultBoard, FaultError, LatencyAttributes


def task(task_id: str, state: int) -> Task:
    return Task(id=task_id, context_id="c", status=TaskStatus(state=state))


async def test_store_evicts_oldest_finished_tasks_but_never_running_ones() -> None:
    store = BoundedTaskStore(max_finished=3)
    context = ServerCallContext()
    await store.save(task("running", TaskState.TASK_STATE_WORKING), context)
    for index in range(6):
        await store.save(task(f"done-{index}", TaskState.TASK_STATE_COMPLETED), context)
    assert len(store) == 4
    assert await store.get("running", context) is not None
    assert [await store.get(f"done-{i}", context) is not None for i in range(6)] == [False] * 3 + [True] * 3
    await store.save(task("running", TaskState.TASK_STATE_FAILED), context)
    assert await store.get("done-3", context) is None
    assert len(store) == 3


async def test_store_keeps_owners_apart_and_deletes() -> None:
    store = BoundedTaskStore(max_finished=10)
    await store.save(task("t1", TaskState.TASK_STATE_COMPLETED), ServerCallContext())
    assert await store.get("t1", ServerCallContext()) is not None
    await store.delete("t1", ServerCallContext())
    assert await store.get("t1", ServerCallContext()) is None
    assert len(store) == 0


def test_store_refuses_a_zero_limit() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BoundedTaskStore(max_finished=0)


async def test_memory_stays_bounded_under_many_tasks() -> None:
    app = create_app(A2ASettings(processing_ms=0, max_finished_tasks=20))
    body = {"jsonrpc": "2.0", "method": "message/send",
            "params": {"message": {"role": "user", "parts": [{"kind": "text", "text": "q"}]}}}
    task_ids = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a2a") as client:
        for index in range(60):
            message = {**body["params"]["message"], "messageId": f"m-{index}"}
            reply = await client.post("/", json={**body, "id": index, "params": {"message": message}})
            assert reply.json()["result"]["status"]["state"] == "completed"
            task_ids.append(reply.json()["result"]["id"])
        oldest = await client.post("/", json={"jsonrpc": "2.0", "id": "g1", "method": "tasks/get",
                                              "params": {"id": task_ids[0]}})
        newest = await client.post("/", json={"jsonrpc": "2.0", "id": "g2", "method": "tasks/get",
                                              "params": {"id": task_ids[-1]}})
        metrics = (await client.get("/metrics")).text
    assert len(app.state.store) == 20
    assert "mock_a2a_stored_tasks 20.0" in metrics
    assert oldest.json()["error"]["code"] == -32001
    assert newest.json()["result"]["status"]["state"] == "completed"


def test_findings_are_deterministic_and_bounded() -> None:
    first = research_findings("research-agent", "why  is the\nsky blue?")
    assert first == research_findings("research-agent", "why is the sky blue?")
    assert first[0].startswith("research-agent findings on 'why is the sky blue?':")
    assert len(first) == 3
    assert first != research_findings("research-agent", "why is grass green?")
    long = research_findings("x", "word " * 1000)[0]
    quoted = long.split(" findings on '", 1)[1].split("':", 1)[0]
    assert len(quoted) == MAX_TOPIC_CHARS
    assert quoted.endswith("...")


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="processing_ms"):
        A2ASettings(processing_ms=-1)
    with pytest.raises(ValueError, match="default_fault_ttl_s"):
        A2ASettings(default_fault_ttl_s=0)
    with pytest.raises(ValueError, match="agent_name"):
        A2ASettings(agent_name="  ")
    assert A2ASettings(public_url="http://h:1/").rpc_url == "http://h:1/"


def test_latency_with_jitter_stays_in_range_and_never_negative() -> None:
    draws = [LatencyAttributes(latency_ms=100, jitter_ms=20).draw_delay_s() for _ in range(200)]
    assert all(0.08 <= d <= 0.12 for d in draws)
    assert len(set(draws)) > 1
    assert min(LatencyAttributes(latency_ms=5, jitter_ms=50).draw_delay_s() for _ in range(200)) == 0.0


def test_catalog_validates_a2a_specific_attributes() -> None:
    board = FaultBoard(A2A_FAULTS)
    fault = board.add({"type": "fail_task", "attributes": {"reason": "boom", "rate": 0.5}})
    assert isinstance(fault.attributes, FailTaskAttributes)
    assert fault.attributes.reason == "boom"
    with pytest.raises(FaultError, match=r"attributes\.reason"):
        board.add({"type": "fail_task", "attributes": {"reason": "x" * 501}})
    with pytest.raises(FaultError, match="unknown scope key"):
        board.add({"type": "stall", "scope": {"user": "u"}})
    assert board.first("stall", {"test_id": "a", "method": "message/send"}) is None


@pytest.mark.parametrize(("message", "level", "kept"), [
    ("Request Error (ID: %s): Code=%s", logging.WARNING, False),
    ("Request Error (ID: %s): Code=%s", logging.ERROR, True),
    ("Failed to validate base JSON-RPC request for v0.3", logging.ERROR, False),
    ("Version mismatch: actual='%s'", logging.WARNING, False),
    ("Unhandled exception", logging.ERROR, True),
])
def test_sdk_log_filter_drops_client_errors_only(message: str, level: int, kept: bool) -> None:
    record = logging.LogRecord("a2a", level, __file__, 1, message, None, None)
    assert ClientErrorFilter().filter(record) is kept


async def test_begin_shutdown_ends_stall_faults_on_the_loop() -> None:
    app = create_app(A2ASettings())
    board = app.state.board
    fault = board.add({"type": "stall"})
    waiter = asyncio.create_task(board.wait_until_ended(fault))
    app.state.begin_shutdown()
    await asyncio.wait_for(waiter, timeout=1)
    assert board.active() == []


def test_begin_shutdown_without_a_loop_clears_at_once() -> None:
    app = create_app(A2ASettings())
    app.state.board.add({"type": "stall"})
    app.state.begin_shutdown()
    assert app.state.board.active() == []
