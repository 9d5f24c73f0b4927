"""Full conversations through the reference backend over both AG-UI transports, with real dependencies."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import asyncpg
import httpx
import pytest

from tests.backend.agui import SessionStream, run_standard, types
from tests.support import Service


def thread() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def check_run_shape(events: list[dict]) -> None:
    """RUN_STARTED first, RUN_FINISHED last, every text and tool call opened and closed in order."""
    names = types(events)
    assert names[0] == "RUN_STARTED"
    assert names[-1] == "RUN_FINISHED", events[-1]
    open_calls: set[str] = set()
    for event in events:
        if event["type"] == "TOOL_CALL_START":
            open_calls.add(event["toolCallId"])
        elif event["type"] in ("TOOL_CALL_ARGS", "TOOL_CALL_END"):
            assert event["toolCallId"] in open_calls
    assert names.count("TEXT_MESSAGE_START") == names.count("TEXT_MESSAGE_END")
    assert names.count("TOOL_CALL_START") == names.count("TOOL_CALL_END") == names.count("TOOL_CALL_RESULT")


async def test_session_conversation_keeps_history_and_audit(backend: Service, db: asyncpg.Connection) -> None:
    thread_id = thread()
    stream = SessionStream(backend.url, thread_id)
    first, _ = stream.turn("Hello there, who are you?")
    second, _ = stream.turn("Tell me more please")
    stream.close()
    for events in (first, second):
        check_run_shape(events)
        assert "TEXT_MESSAGE_CONTENT" in types(events)
    assert first[0]["runId"] != second[0]["runId"]
    rows = await db.fetch("SELECT run_id, seq, role FROM agent_messages WHERE thread_id = $1 ORDER BY id", thread_id)
    assert [row["role"] for row in rows] == ["user", "assistant", "user", "assistant"]
    audit = await db.fetch("SELECT action, actor, detail FROM agent_audit_log WHERE thread_id = $1", thread_id)
    assert [row["action"] for row in audit] == ["run_finished", "run_finished"]
    assert "Hello there" in audit[0]["detail"]


async def test_tool_chain_runs_each_tool_over_mcp(backend: Service, db: asyncpg.Connection) -> None:
    thread_id = thread()
    stream = SessionStream(backend.url, thread_id)
    events, _ = stream.turn("What is 12*(3+4)? Then check the weather in Paris and add a note: pack umbrella.")
    stream.close()
    check_run_shape(events)
    starts = [e["toolCallName"] for e in events if e["type"] == "TOOL_CALL_START"]
    assert starts == ["calculator", "weather", "notes"]
    results = [e["content"] for e in events if e["type"] == "TOOL_CALL_RESULT"]
    assert "84" in results[0]
    assert "Paris" in results[1]
    assert types(events)[-2] == "TEXT_MESSAGE_END"
    audit = await db.fetch("SELECT action, detail FROM agent_audit_log WHERE thread_id = $1 ORDER BY id", thread_id)
    assert [row["action"] for row in audit] == ["tool_call", "tool_call", "tool_call", "run_finished"]
    roles = await db.fetch("SELECT role FROM agent_messages WHERE thread_id = $1 ORDER BY id", thread_id)
    assert [r["role"] for r in roles] == ["user", "assistant", "tool", "assistant", "tool", "assistant", "tool",
                                          "assistant"]


async def test_delegation_goes_over_a2a_as_a_visible_step(backend: Service, db: asyncpg.Connection) -> None:
    thread_id = thread()
    stream = SessionStream(backend.url, thread_id)
    events, _ = stream.turn("Please ask the research agent to compare vector databases")
    stream.close()
    check_run_shape(events)
    names = types(events)
    step = names.index("STEP_STARTED")
    assert events[step]["stepName"] == "delegate:research-agent"
    custom = events[names.index("CUSTOM")]
    assert custom["name"] == "a2a_delegation"
    assert custom["value"]["agent"] == "research-agent"
    assert names.index("STEP_FINISHED") > step
    result = next(e for e in events if e["type"] == "TOOL_CALL_RESULT")
    assert "research-agent" in result["content"]
    audit = await db.fetch("SELECT action FROM agent_audit_log WHERE thread_id = $1 ORDER BY id", thread_id)
    assert [row["action"] for row in audit] == ["delegation", "run_finished"]


async def test_standard_run_transport_streams_the_run(backend: Service, db: asyncpg.Connection) -> None:
    thread_id = thread()
    events = run_standard(backend.url, thread_id, "run-std-1", [
        {"id": "u1", "role": "user", "content": "What is 2+2?"}])
    check_run_shape(events)
    assert events[0]["runId"] == "run-std-1"
    assert [e["toolCallName"] for e in events if e["type"] == "TOOL_CALL_START"] == ["calculator"]
    count = await db.fetchval("SELECT count(*) FROM agent_messages WHERE thread_id = $1", thread_id)
    assert count == 4  # user, assistant tool call, tool result, assistant answer


def test_session_stream_sends_heartbeats(backend: Service) -> None:
    stream = SessionStream(backend.url, thread())
    time.sleep(2.3)
    stream.close()
    assert sum(comment.startswith(": heartbeat") for comment in stream.comments) >= 2


def test_metrics_and_debug_summary(backend: Service) -> None:
    stream = SessionStream(backend.url, thread())
    stream.turn("What is 1+1?")
    stream.close()
    metrics = httpx.get(f"{backend.url}/metrics").text
    for name in ("agent_http_request_duration_seconds_bucket", "agent_sse_connections",
                 "agent_time_to_first_event_seconds_count", "agent_llm_request_duration_seconds_count",
                 'agent_tool_call_duration_seconds_count{outcome="ok",tool="calculator"}',
                 "agent_db_pool_in_use", "agent_db_pool_waiting", "agent_db_query_duration_seconds_count",
                 "agent_audit_write_duration_seconds_count", "process_resident_memory_bytes",
                 "process_cpu_seconds_total"):
        assert name in metrics, name
    debug = httpx.get(f"{backend.url}/metrics-debug").json()
    assert debug["defects"] == []
    assert debug["recent_runs"][-1]["outcome"] == "finished"
    assert debug["metrics"]["process_resident_memory_bytes"] > 10_000_000
    assert httpx.get(f"{backend.url}/readyz").json() == {"status": "ready"}


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), [
    ("POST", "/ag-ui/events", b"{broken", 400, "not valid JSON"),
    ("POST", "/ag-ui/events", b'{"type": "ping", "thread_id": "a", "content": "x"}', 400, "user_message"),
    ("POST", "/ag-ui/events", b'{"type": "user_message", "thread_id": "a"}', 400, "content"),
    ("POST", "/ag-ui/events", b'{"type": "user_message", "thread_id": "a b", "content": "x"}', 400, "thread_id"),
    ("POST", "/ag-ui/events", b'{"type": "user_message", "thread_id": "a", "content": "x", "x": 1}', 400,
     "unknown field"),
    ("POST", "/ag-ui/events", b'{"type": "user_message", "thread_id": "never-seen", "content": "x"}', 404,
     "unknown thread"),
    ("POST", "/ag-ui/run", b'{"threadId": "a"}', 422, "runId"),
    ("POST", "/ag-ui/run", b'{"threadId": "a", "runId": "r", "messages": []}', 422, "end with a user message"),
    ("POST", "/ag-ui/run", b"[]", 400, "JSON object"),
    ("GET", "/ag-ui/events", None, 400, "thread_id"),
    ("DELETE", "/ag-ui/events", None, 405, "not allowed"),
])
async def test_bad_input_is_a_clear_4xx_and_writes_nothing(backend: Service, db: asyncpg.Connection, method: str,
                                                           path: str, body: bytes | None, status: int,
                                                           message: str) -> None:
    before = await db.fetchval("SELECT count(*) FROM agent_messages")
    async with httpx.AsyncClient(base_url=backend.url) as client:
        response = await client.request(method, path, content=body)
        assert response.status_code == status
        assert message in response.json()["error"]["message"]
        assert await db.fetchval("SELECT count(*) FROM agent_messages") == before
        assert (await client.get("/healthz")).status_code == 200


def test_oversized_content_is_413(backend: Service) -> None:
    stream = SessionStream(backend.url, thread())
    response = stream.send("x" * 40_000)
    stream.close()
    assert response.status_code == 413
    assert "limit" in response.json()["error"]["message"]


def test_turn_without_open_stream_is_409_for_a_known_thread(backend: Service) -> None:
    thread_id = thread()
    stream = SessionStream(backend.url, thread_id)
    stream.turn("hello")
    stream.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        response = stream.send("hello again")
        if response.status_code == 409:
            break
        time.sleep(0.1)  # the server notices the closed stream on its next write or heartbeat
    assert response.status_code == 409
    assert "no open stream" in response.json()["error"]["message"]


async def test_audit_log_off_writes_history_but_no_audit(start_backend: Callable[..., Service],
                                                         db: asyncpg.Connection) -> None:
    quiet = start_backend("--audit-log", "off")
    thread_id = thread()
    stream = SessionStream(quiet.url, thread_id)
    events, _ = stream.turn("What is 5*5?")
    stream.close()
    quiet.stop()
    assert events[-1]["type"] == "RUN_FINISHED"
    assert await db.fetchval("SELECT count(*) FROM agent_messages WHERE thread_id = $1", thread_id) == 4
    assert await db.fetchval("SELECT count(*) FROM agent_audit_log WHERE thread_id = $1", thread_id) == 0
