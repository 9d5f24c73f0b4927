"""The OpenAI stub driven by the official ``openai`` client and raw HTTP over real sockets."""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.mocks.sse import read_stream
from tests.support import Service

CALCULATOR = {"type": "function", "function": {"name": "calculator", "parameters": {
    "type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}
WEATHER = {"type": "function", "function": {"name": "weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
NOTES = {"type": "function", "function": {"name": "notes", "parameters": {
    "type": "object", "properties": {"action": {"type": "string"}, "text": {"type": "string"}},
    "required": ["action"]}}}
DELEGATE = {"type": "function", "function": {"name": "delegate_to_agent", "parameters": {
    "type": "object", "properties": {"agent": {"type": "string"}, "task": {"type": "string"}},
    "required": ["agent", "task"]}}}
ALL_TOOLS = [CALCULATOR, WEATHER, NOTES, DELEGATE]


@pytest.fixture(scope="module")
def stub(launch) -> Service:
    return launch("mock", "openai", "--answer-tokens", "30")


@pytest.fixture
def client(stub: Service) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{stub.url}/v1", api_key="test-key", max_retries=0, timeout=15)


@pytest.fixture(autouse=True)
def no_faults_left(stub: Service) -> Iterator[None]:
    yield
    httpx.delete(f"{stub.url}/_control/faults")


def add_fault(stub: Service, spec: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{stub.url}/_control/faults", json=spec)
    assert response.status_code == 201, response.text
    return response.json()


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def collect_stream(client: openai.OpenAI, messages: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """Run one streamed completion and assemble text, tool calls, finish reason and usage."""
    text, calls, finish, usage = "", {}, None, None
    for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True, **kwargs):
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                entry = calls.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
                entry["id"] = call.id or entry["id"]
                entry["name"] += call.function.name or ""
                entry["arguments"] += call.function.arguments or ""
            finish = choice.finish_reason or finish
    return {"text": text, "calls": list(calls.values()), "finish": finish, "usage": usage}


# --- answers -----------------------------------------------------------------------------------------------

def test_models_list_and_plain_answer_has_configured_length(client: openai.OpenAI) -> None:
    assert "gpt-4o-mini" in [model.id for model in client.models.list().data]
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=user("Tell me something"))
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens == 30
    assert len(completion.choices[0].message.content.split()) == 30


def test_answers_are_deterministic_and_max_tokens_caps(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="gpt-4o-mini", messages=user("same question"))
    second = client.chat.completions.create(model="gpt-4o-mini", messages=user("same question"))
    assert first.choices[0].message.content == second.choices[0].message.content
    capped = client.chat.completions.create(model="gpt-4o-mini", messages=user("same question"), max_tokens=5)
    assert capped.choices[0].finish_reason == "length"
    assert capped.usage.completion_tokens == 5


def test_stream_has_role_content_finish_usage_and_done(stub: Service) -> None:
    record = read_stream(f"{stub.url}/v1/chat/completions", {
        "model": "gpt-4o-mini", "messages": user("hello"), "stream": True,
        "stream_options": {"include_usage": True}})
    chunks = record.chunks()
    assert record.done
    assert record.error is None
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert len({chunk["id"] for chunk in chunks}) == 1
    content = [c["choices"][0]["delta"]["content"] for c in chunks[1:-2]]
    assert len(content) == 30
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 30
    assert all(chunk["usage"] is None for chunk in chunks[:-1])


def test_arithmetic_streams_calculator_call_in_argument_deltas(stub: Service, client: openai.OpenAI) -> None:
    record = read_stream(f"{stub.url}/v1/chat/completions", {
        "model": "gpt-4o-mini", "messages": user("What is 12 * (3 + 4)?"), "tools": ALL_TOOLS, "stream": True})
    deltas = [c["choices"][0]["delta"] for c in record.chunks()]
    assert deltas[0]["tool_calls"][0]["function"] == {"name": "calculator", "arguments": ""}
    pieces = [d["tool_calls"][0]["function"]["arguments"] for d in deltas[1:-1]]
    assert len(pieces) > 1
    assert json.loads("".join(pieces)) == {"expression": "12 * (3 + 4)"}
    assert record.chunks()[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(("text", "tool", "arguments"), [
    ("What's the weather in Lisbon today?", "weather", {"city": "Lisbon"}),
    ("Add a note: buy milk.", "notes", {"action": "add", "text": "buy milk"}),
    ("Show my notes", "notes", {"action": "list"}),
    ("Please delegate this to the research agent: compare GPUs", "delegate_to_agent",
     {"agent": "research-agent", "task": "Please delegate this to the research agent: compare GPUs"}),
])
def test_intents_map_to_their_tools(client: openai.OpenAI, text: str, tool: str,
                                    arguments: dict[str, Any]) -> None:
    result = collect_stream(client, user(text), tools=ALL_TOOLS)
    assert result["finish"] == "tool_calls"
    assert [(c["name"], json.loads(c["arguments"])) for c in result["calls"]] == [(tool, arguments)]


def test_several_intents_become_a_chain_across_turns_then_text(client: openai.OpenAI) -> None:
    messages = user("Compute 2+2, then check the weather in Oslo and ask the research agent about it")
    names = []
    for _ in range(5):
        result = collect_stream(client, messages, tools=ALL_TOOLS)
        if not result["calls"]:
            break
        call = result["calls"][0]
        names.append(call["name"])
        messages += [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": call["id"], "type": "function",
                 "function": {"name": call["name"], "arguments": call["arguments"]}}]},
            {"role": "tool", "tool_call_id": call["id"], "content": f"{call['name']} said fine"}]
    assert names == ["calculator", "weather", "delegate_to_agent"]
    assert result["finish"] == "stop"
    assert "calculator said fine" in result["text"]
    assert "delegate_to_agent said fine" in result["text"]


def test_tool_choice_none_and_forced(client: openai.OpenAI) -> None:
    assert collect_stream(client, user("What is 3+4?"), tools=ALL_TOOLS, tool_choice="none")["calls"] == []
    forced = collect_stream(client, user("hello"), tools=ALL_TOOLS,
                            tool_choice={"type": "function", "function": {"name": "notes"}})
    assert [c["name"] for c in forced["calls"]] == ["notes"]
    non_stream = client.chat.completions.create(model="gpt-4o-mini", messages=user("What is 3+4?"), tools=ALL_TOOLS)
    assert non_stream.choices[0].message.tool_calls[0].function.name == "calculator"
    assert non_stream.choices[0].finish_reason == "tool_calls"


# --- faults --------------------------------------------------------------------------------------------------

def first_chunk_seconds(client: openai.OpenAI, **kwargs: Any) -> float:
    started = time.perf_counter()
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=user("hi"), stream=True, **kwargs)
    next(iter(stream))
    elapsed = time.perf_counter() - started
    stream.close()
    return elapsed


def test_latency_fault_sets_time_to_first_chunk_within_15ms_at_median(stub: Service,
                                                                      client: openai.OpenAI) -> None:
    first_chunk_seconds(client)  # warm the connection pool
    add_fault(stub, {"type": "latency", "attributes": {"ttft_ms": 200}, "ttl_s": 60})
    samples = [first_chunk_seconds(client) for _ in range(15)]
    median_ms = statistics.median(samples) * 1000
    assert 185 <= median_ms <= 215, samples


def test_latency_jitter_spreads_delays(stub: Service, client: openai.OpenAI) -> None:
    add_fault(stub, {"type": "latency", "attributes": {"ttft_ms": 100, "jitter_ms": 80}, "ttl_s": 60})
    samples = [first_chunk_seconds(client) * 1000 for _ in range(12)]
    assert all(15 <= sample <= 400 for sample in samples), samples
    assert max(samples) - min(samples) > 20, samples


@pytest.mark.parametrize("attributes", [{"inter_token_ms": 20}, {"tokens_per_s": 50}])
def test_slow_stream_paces_chunks(stub: Service, attributes: dict[str, float]) -> None:
    add_fault(stub, {"type": "slow_stream", "attributes": attributes, "ttl_s": 60})
    record = read_stream(f"{stub.url}/v1/chat/completions",
                         {"model": "gpt-4o-mini", "messages": user("pace me"), "stream": True})
    gaps = [b - a for a, b in zip(record.arrivals[1:], record.arrivals[2:], strict=False)]
    assert record.done
    assert 0.015 <= statistics.median(gaps) <= 0.040, gaps
    assert record.arrivals[-1] - record.arrivals[0] >= 0.020 * 30 * 0.9


@pytest.mark.parametrize("status", [500, 502, 503])
def test_error_fault_answers_status_in_openai_shape(stub: Service, client: openai.OpenAI, status: int) -> None:
    add_fault(stub, {"type": "error", "attributes": {"status": status, "rate": 1.0}, "ttl_s": 60})
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=user("hi"))
    assert caught.value.status_code == status
    assert "injected fault" in caught.value.body["message"]


def test_error_rate_is_a_fraction(stub: Service) -> None:
    add_fault(stub, {"type": "error", "attributes": {"status": 500, "rate": 0.5}, "ttl_s": 60})
    statuses = [httpx.post(f"{stub.url}/v1/chat/completions",
                           json={"model": "gpt-4o-mini", "messages": user("x")}).status_code for _ in range(200)]
    failures = statuses.count(500)
    assert 60 <= failures <= 140, failures
    assert set(statuses) == {200, 500}


def test_rate_limit_fault_gives_429_with_retry_after(stub: Service, client: openai.OpenAI) -> None:
    add_fault(stub, {"type": "rate_limit", "attributes": {"rate": 1.0, "retry_after_s": 7}, "ttl_s": 60})
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=user("hi"))
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.body["code"] == "rate_limit_exceeded"


def test_rate_limit_rpm_bucket_and_headers(stub: Service) -> None:
    add_fault(stub, {"type": "rate_limit", "attributes": {"rpm": 3}, "ttl_s": 60})
    responses = [httpx.post(f"{stub.url}/v1/chat/completions",
                            json={"model": "gpt-4o-mini", "messages": user("x")}) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["x-ratelimit-remaining-requests"] for r in responses[:3]] == ["2", "1", "0"]
    assert responses[0].headers["x-ratelimit-limit-requests"] == "3"
    assert 15 <= int(responses[3].headers["retry-after"]) <= 21  # one request refills in 60/3 s


def test_rate_limit_tpm_bucket_counts_prompt_and_completion(stub: Service) -> None:
    add_fault(stub, {"type": "rate_limit", "attributes": {"tpm": 100}, "ttl_s": 60})
    body = {"model": "gpt-4o-mini", "messages": user("x" * 160), "max_tokens": 20}  # 40 + 20 tokens
    first = httpx.post(f"{stub.url}/v1/chat/completions", json=body)
    second = httpx.post(f"{stub.url}/v1/chat/completions", json=body)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-remaining-tokens"] == "40"
    assert second.status_code == 429
    assert second.json()["error"]["type"] == "tokens"


def test_official_client_retries_after_retry_after(stub: Service) -> None:
    fault = add_fault(stub, {"type": "rate_limit", "attributes": {"rate": 1.0, "retry_after_s": 0.3}, "ttl_s": 60})
    retrying = openai.OpenAI(base_url=f"{stub.url}/v1", api_key="k", max_retries=1)
    threading.Timer(0.15, lambda: httpx.delete(f"{stub.url}/_control/faults/{fault['id']}")).start()
    started = time.perf_counter()
    completion = retrying.chat.completions.create(model="gpt-4o-mini", messages=user("hi"))
    assert completion.choices[0].message.content
    assert time.perf_counter() - started >= 0.28


def test_disconnect_cuts_stream_after_n_chunks(stub: Service, client: openai.OpenAI) -> None:
    add_fault(stub, {"type": "disconnect", "attributes": {"after_chunks": 4}, "ttl_s": 60})
    record = read_stream(f"{stub.url}/v1/chat/completions",
                         {"model": "gpt-4o-mini", "messages": user("hi"), "stream": True})
    assert len(record.events) == 4
    assert isinstance(record.error, httpx.RemoteProtocolError)
    with pytest.raises(openai.APIConnectionError):
        collect_stream(client, user("hi"))


def test_stall_holds_stream_open_until_fault_is_removed(stub: Service) -> None:
    fault = add_fault(stub, {"type": "stall", "attributes": {"after_chunks": 2}, "ttl_s": 60})
    threading.Timer(1.0, lambda: httpx.delete(f"{stub.url}/_control/faults/{fault['id']}")).start()
    record = read_stream(f"{stub.url}/v1/chat/completions",
                         {"model": "gpt-4o-mini", "messages": user("hi"), "stream": True})
    assert record.done
    assert record.arrivals[1] < 0.5
    assert record.arrivals[2] >= 0.9


def test_stall_times_out_a_reading_client(stub: Service) -> None:
    add_fault(stub, {"type": "stall", "attributes": {"after_chunks": 1}, "ttl_s": 30})
    record = read_stream(f"{stub.url}/v1/chat/completions",
                         {"model": "gpt-4o-mini", "messages": user("hi"), "stream": True}, timeout=0.5)
    assert len(record.events) == 1
    assert isinstance(record.error, httpx.ReadTimeout)
    metrics = httpx.get(f"{stub.url}/metrics").text
    deadline = time.monotonic() + 5
    while "mock_openai_active_streams 1.0" in metrics and time.monotonic() < deadline:
        time.sleep(0.1)
        metrics = httpx.get(f"{stub.url}/metrics").text
    assert "mock_openai_active_streams 0.0" in metrics  # the server let go of the abandoned stream


def test_truncate_tool_call_and_omit_done(stub: Service, client: openai.OpenAI) -> None:
    add_fault(stub, {"type": "truncate_tool_call", "ttl_s": 60})
    result = collect_stream(client, user("What is 6*7?"), tools=ALL_TOOLS)
    with pytest.raises(json.JSONDecodeError):
        json.loads(result["calls"][0]["arguments"])
    add_fault(stub, {"type": "omit_done", "ttl_s": 60})
    record = read_stream(f"{stub.url}/v1/chat/completions",
                         {"model": "gpt-4o-mini", "messages": user("hi"), "stream": True})
    assert record.error is None
    assert not record.done
    assert record.chunks()[-1]["choices"][0]["finish_reason"] == "stop"


def test_fault_scoped_by_model_and_test_id(stub: Service, client: openai.OpenAI) -> None:
    add_fault(stub, {"type": "error", "attributes": {"status": 503}, "scope": {"model": "gpt-4o"}, "ttl_s": 60})
    add_fault(stub, {"type": "error", "attributes": {"status": 502}, "scope": {"test_id": "t-1"}, "ttl_s": 60})
    assert client.chat.completions.create(model="gpt-4o-mini", messages=user("a")).choices
    with pytest.raises(openai.APIStatusError) as by_model:
        client.chat.completions.create(model="gpt-4o", messages=user("a"))
    with pytest.raises(openai.APIStatusError) as by_test:
        client.chat.completions.create(model="gpt-4o-mini", messages=user("a"), extra_headers={"X-Test-Id": "t-1"})
    assert (by_model.value.status_code, by_test.value.status_code) == (503, 502)


# --- the control API -----------------------------------------------------------------------------------------

def test_fault_expires_by_itself(stub: Service, client: openai.OpenAI) -> None:
    fault = add_fault(stub, {"type": "error", "attributes": {"status": 500}, "ttl_s": 0.5})
    assert fault["ttl_s"] == 0.5
    assert fault["expires_at"].endswith("Z")
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o-mini", messages=user("a"))
    time.sleep(0.7)
    assert httpx.get(f"{stub.url}/_control/faults").json() == {"faults": []}
    assert client.chat.completions.create(model="gpt-4o-mini", messages=user("a")).choices


def test_default_ttl_and_explicit_permanent(stub: Service) -> None:
    default = add_fault(stub, {"type": "omit_done"})
    permanent = add_fault(stub, {"type": "omit_done", "permanent": True})
    assert default["ttl_s"] == 300.0
    assert 299 <= default["remaining_s"] <= 300
    assert permanent["expires_at"] is None
    assert permanent["ttl_s"] is None


def test_delete_one_and_all(stub: Service) -> None:
    first = add_fault(stub, {"type": "omit_done", "ttl_s": 60})
    second = add_fault(stub, {"type": "latency", "attributes": {"ttft_ms": 1}, "ttl_s": 60})
    assert httpx.delete(f"{stub.url}/_control/faults/{first['id']}").json() == {"deleted": [first["id"]]}
    assert [f["id"] for f in httpx.get(f"{stub.url}/_control/faults").json()["faults"]] == [second["id"]]
    missing = httpx.delete(f"{stub.url}/_control/faults/{first['id']}")
    assert missing.status_code == 404
    assert "no active fault" in missing.json()["error"]["message"]
    assert httpx.delete(f"{stub.url}/_control/faults").json() == {"deleted": [second["id"]]}
    types = httpx.get(f"{stub.url}/_control/fault-types").json()
    assert {t["type"] for t in types["fault_types"]} >= {"latency", "slow_stream", "error", "rate_limit",
                                                          "disconnect", "stall", "truncate_tool_call", "omit_done"}


@pytest.mark.parametrize(("spec", "message"), [
    ({"type": "nope"}, "unknown fault type 'nope'"),
    ({"attributes": {}}, "type: Field required"),
    ({"type": "latency", "attributes": {"ttft_ms": -5}}, "attributes.ttft_ms"),
    ({"type": "latency", "attributes": {}}, "attributes.ttft_ms: Field required"),
    ({"type": "error", "attributes": {"rate": 1.5}}, "attributes.rate"),
    ({"type": "rate_limit", "attributes": {"rate": -0.1}}, "attributes.rate"),
    ({"type": "omit_done", "ttl_s": 0}, "ttl_s"),
    ({"type": "omit_done", "ttl_s": -3}, "ttl_s"),
    ({"type": "omit_done", "ttl": 3}, "ttl: Extra inputs are not permitted"),
    ({"type": "omit_done", "ttl_s": 3, "permanent": True}, "not both"),
    ({"type": "slow_stream", "attributes": {"inter_token_ms": 5, "tokens_per_s": 9}}, "exactly one"),
    ({"type": "latency", "attributes": {"ttft_ms": 5, "typo_ms": 1}}, "attributes.typo_ms"),
    ({"type": "omit_done", "scope": {"region": "eu"}}, "unknown scope key"),
])
def test_bad_fault_specs_are_400_with_reason(stub: Service, spec: dict[str, Any], message: str) -> None:
    response = httpx.post(f"{stub.url}/_control/faults", json=spec)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_fault"
    assert message in response.json()["error"]["message"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b""])
def test_malformed_fault_bodies_are_400(stub: Service, raw: bytes) -> None:
    response = httpx.post(f"{stub.url}/_control/faults", content=raw)
    assert response.status_code == 400
    assert response.json()["error"]["message"]


# --- bad chat requests ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "status", "param"), [
    ({"messages": [{"role": "user", "content": "x"}]}, 400, "model"),
    ({"model": "gpt-4o-mini"}, 400, "messages"),
    ({"model": "gpt-4o-mini", "messages": []}, 400, "messages"),
    ({"model": "gpt-4o-mini", "messages": [{"role": "robot", "content": "x"}]}, 400, "messages[0].role"),
    ({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, 400, "max_tokens"),
    ({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "n": 2}, 400, "n"),
    ({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "x"}]},
     400, "tools[0].type"),
    ({"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}, 404, None),
])
def test_bad_chat_requests_get_openai_errors(stub: Service, body: dict[str, Any], status: int,
                                             param: str | None) -> None:
    response = httpx.post(f"{stub.url}/v1/chat/completions", json=body)
    error = response.json()["error"]
    assert response.status_code == status
    assert error["param"] == param
    assert error["message"]
    assert error["type"] == "invalid_request_error"


def test_bad_requests_leave_other_streams_unaffected(stub: Service) -> None:
    add_fault(stub, {"type": "slow_stream", "attributes": {"inter_token_ms": 10}, "ttl_s": 60})
    result: dict[str, Any] = {}
    reader = threading.Thread(target=lambda: result.update(record=read_stream(
        f"{stub.url}/v1/chat/completions", {"model": "gpt-4o-mini", "messages": user("x"), "stream": True})))
    reader.start()
    for raw in (b"{", b"null", b'{"model": 5}', b"\xff\xfe"):
        assert httpx.post(f"{stub.url}/v1/chat/completions", content=raw).status_code == 400
    reader.join(10)
    assert result["record"].done
    assert len(result["record"].chunks()) == 32
    assert httpx.get(f"{stub.url}/healthz").json() == {"status": "ok"}


def test_metrics_count_requests_streams_tokens_and_faults(stub: Service, client: openai.OpenAI) -> None:
    add_fault(stub, {"type": "latency", "attributes": {"ttft_ms": 1}, "ttl_s": 60})
    collect_stream(client, user("count me"))
    metrics = httpx.get(f"{stub.url}/metrics").text
    for name in ('mock_openai_requests_total{route="chat",status="200"}',
                 "mock_openai_time_to_first_chunk_seconds_count",
                 "mock_openai_stream_duration_seconds_count", "mock_openai_tokens_streamed_total",
                 'mock_active_faults{service="openai",type="latency"} 1.0', "process_resident_memory_bytes"):
        assert name in metrics, name
