"""One stack for the module: up → status → real turns through the proxies → idempotent up → down."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from harness.stack.rules import rule_names
from harness.stack.wiring import PROXY_NAMES, SCRAPE_JOBS
from tests.backend.agui import SessionStream
from tests.stack.conftest import RunningStack
from tests.stack.support import assert_all_gone, harness, listening, status, step_seconds, timed_turn

REQUIRED = {"backend", "openai", "a2a", "tools", "weather", "postgres", "prometheus", "proxy"}
DELEGATE = "Please ask the research agent to compare heat pumps and gas boilers"
WEATHER = "What is the weather in Lisbon?"
TOXIC_MS = 800


def test_status_reports_every_component_healthy(stack: RunningStack) -> None:
    components = stack.report["components"]
    assert set(components) >= REQUIRED
    assert {name: c["healthy"] for name, c in components.items()} == dict.fromkeys(components, True)
    assert all(components[name]["pid"] for name in REQUIRED)
    assert stack.report["running"] is True
    assert components["backend"]["url"] == f"http://127.0.0.1:{stack.ports.backend}"
    assert components["prometheus"]["url"] == f"http://127.0.0.1:{stack.ports.prometheus}"


def test_status_exit_code_and_human_output(stack: RunningStack) -> None:
    result = harness("stack", "status", "--state-dir", str(stack.state_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "healthy" in result.stdout
    assert f"127.0.0.1:{stack.ports.proxy_a2a} -> 127.0.0.1:{stack.ports.a2a}" in result.stdout


def test_second_up_reports_the_running_stack(stack: RunningStack) -> None:
    result = harness("stack", "up", "--state-dir", str(stack.state_dir), "--port",
                     ",".join(f"{k}={v}" for k, v in stack.ports.as_dict().items()), "--scrape-interval", "1")
    assert result.returncode == 0, result.stderr
    assert "already running" in result.stdout
    again = status(stack.state_dir)
    assert {n: c["pid"] for n, c in again["components"].items()} == \
        {n: c["pid"] for n, c in stack.report["components"].items()}


def test_second_up_with_other_settings_is_refused(stack: RunningStack) -> None:
    result = harness("stack", "up", "--state-dir", str(stack.state_dir), "--defects", "memory_leak", "--port",
                     ",".join(f"{k}={v}" for k, v in stack.ports.as_dict().items()), "--scrape-interval", "1")
    assert result.returncode == 1
    assert "other settings" in result.stderr
    assert "harness stack down" in result.stderr
    assert status(stack.state_dir)["running"] is True


def test_proxies_are_named_and_wired(stack: RunningStack) -> None:
    proxies = httpx.get(f"{stack.proxy_url}/proxies").json()
    assert set(proxies) == set(PROXY_NAMES)
    ports = stack.ports
    expected = {"openai": (ports.proxy_openai, ports.openai), "a2a": (ports.proxy_a2a, ports.a2a),
                "mcp": (ports.proxy_mcp, ports.tools), "weather": (ports.proxy_weather, ports.weather),
                "postgres": (ports.proxy_postgres, ports.postgres)}
    for name, (listen, upstream) in expected.items():
        assert proxies[name]["listen"] == f"127.0.0.1:{listen}"
        assert proxies[name]["upstream"] == f"127.0.0.1:{upstream}"
        assert proxies[name]["enabled"] is True


def _with_latency(stack: RunningStack, proxy: str, content: str) -> tuple[list, list]:
    """A turn without, then with, a latency toxic on ``proxy``; the events of both."""
    stream = SessionStream(stack.backend_url, f"stack-{uuid.uuid4().hex[:8]}")
    try:
        _, plain = timed_turn(stream, content)
        toxic = httpx.post(f"{stack.proxy_url}/proxies/{proxy}/toxics", json={
            "name": "slow", "type": "latency", "stream": "downstream", "attributes": {"latency": TOXIC_MS}})
        assert toxic.status_code == 200, toxic.text
        try:
            _, slowed = timed_turn(stream, content)
        finally:
            httpx.delete(f"{stack.proxy_url}/proxies/{proxy}/toxics/slow")
    finally:
        stream.close()
    return plain, slowed


def test_latency_on_a2a_proxy_shows_in_the_delegation(stack: RunningStack) -> None:
    plain, slowed = _with_latency(stack, "a2a", DELEGATE)
    step = "delegate:research-agent"
    assert slowed[-1][1]["type"] == "RUN_FINISHED"
    before, after = step_seconds(plain, step), step_seconds(slowed, step)
    assert after - before >= TOXIC_MS / 1000 * 0.9, (before, after)


@pytest.mark.parametrize("proxy", ["openai", "weather"])
def test_latency_on_dependency_proxy_slows_the_turn(stack: RunningStack, proxy: str) -> None:
    """The LLM calls go through ``openai``; the MCP weather tool reaches the weather API through ``weather``."""
    plain, slowed = _with_latency(stack, proxy, WEATHER)
    assert [e["type"] for _, e in slowed].count("TOOL_CALL_RESULT") >= 1
    duration = lambda events: events[-1][0] - events[0][0]  # noqa: E731
    assert duration(slowed) - duration(plain) >= TOXIC_MS / 1000 * 0.9


def test_database_goes_through_the_postgres_proxy(stack: RunningStack) -> None:
    ready = f"{stack.backend_url}/readyz"
    assert httpx.get(ready, timeout=5).status_code == 200
    httpx.post(f"{stack.proxy_url}/proxies/postgres", json={"enabled": False}).raise_for_status()
    try:
        assert httpx.get(ready, timeout=10).status_code == 503
    finally:
        httpx.post(f"{stack.proxy_url}/proxies/postgres", json={"enabled": True}).raise_for_status()
    deadline = time.monotonic() + 15
    while httpx.get(ready, timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "backend did not recover after the postgres proxy came back"
        time.sleep(0.2)


def test_prometheus_scrapes_every_component_and_records_the_slis(stack: RunningStack) -> None:
    deadline = time.monotonic() + 20
    while True:
        targets = httpx.get(f"{stack.prometheus_url}/api/v1/targets").json()["data"]["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in targets}
        if health == dict.fromkeys(SCRAPE_JOBS, "up") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert health == dict.fromkeys(SCRAPE_JOBS, "up")
    assert {t["scrapeInterval"] for t in targets} == {"1s"}
    groups = httpx.get(f"{stack.prometheus_url}/api/v1/rules").json()["data"]["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    assert loaded == set(rule_names())
    assert all(rule["health"] != "err" for group in groups for rule in group["rules"])


def test_recording_rule_has_data_after_turns(stack: RunningStack) -> None:
    query = f"{stack.prometheus_url}/api/v1/query"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        result = httpx.get(query, params={"query": "sli:agent_runs:rate1m"}).json()["data"]["result"]
        if any(float(sample["value"][1]) > 0 for sample in result):
            return
        time.sleep(1)
    raise AssertionError("sli:agent_runs:rate1m stayed empty after the turns of this module")


def test_postgres_exporter_reaches_the_database(stack: RunningStack) -> None:
    text = httpx.get(f"http://127.0.0.1:{stack.ports.postgres_exporter}/metrics", timeout=10).text
    assert "\npg_up 1" in text


def test_down_stops_everything_and_removes_the_state(stack: RunningStack) -> None:
    recorded = stack.recorded()
    assert sorted(recorded.running()) == sorted(recorded.pids)
    result = harness("stack", "down", "--state-dir", str(stack.state_dir))
    assert result.returncode == 0, result.stderr
    assert "stopped" in result.stdout
    assert_all_gone(recorded, stack.ports, stack.state_dir)
    assert not stack.state_dir.exists()
    assert not listening(stack.ports.backend)
    again = harness("stack", "down", "--state-dir", str(stack.state_dir))
    assert again.returncode == 0
    assert "no stack recorded" in again.stdout
