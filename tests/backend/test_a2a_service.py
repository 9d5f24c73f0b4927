"""The backend's A2A delegation, in-process, against the A2A mock running as a real process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from mocks.agent_backend.a2a_service import A2ACommunicationService, fallback_name
from mocks.agent_backend.metrics import BackendMetrics
from tests.support import Service, free_port

TASK = "How do heat pumps behave below -20 C?"


@pytest.fixture(scope="module")
def agent(launch: Callable[..., Service]) -> Service:
    return launch("mock", "a2a", "--processing-ms", "20")


@pytest.fixture(autouse=True)
def _faults_cleared(agent: Service) -> Iterator[None]:
    yield
    httpx.delete(f"{agent.url}/_control/faults", timeout=5).raise_for_status()


@pytest.fixture
def metrics() -> BackendMetrics:
    return BackendMetrics.create()


@pytest.fixture
async def service(agent: Service, metrics: BackendMetrics) -> AsyncIterator[A2ACommunicationService]:
    started = A2ACommunicationService([agent.url], metrics)
    await started.start()
    yield started
    await started.close()


def add_fault(agent: Service, spec: dict[str, Any]) -> None:
    response = httpx.post(f"{agent.url}/_control/faults", json={"ttl_s": 20, **spec}, timeout=5)
    assert response.status_code == 201, response.text


def observations(metrics: BackendMetrics, agent: str, outcome: str) -> float:
    """How many delegations ``metrics`` observed for ``agent`` with ``outcome``."""
    value = metrics.registry.get_sample_value("agent_a2a_call_duration_seconds_count",
                                              {"agent": agent, "outcome": outcome})
    return value or 0.0


def all_observations(metrics: BackendMetrics) -> float:
    family = next(f for f in metrics.registry.collect() if f.name == "agent_a2a_call_duration_seconds")
    return sum(s.value for s in family.samples if s.name.endswith("_count"))


async def test_start_resolves_the_card_name(service: A2ACommunicationService) -> None:
    assert service.agent_names() == ["research-agent"]


async def test_delegate_returns_the_agents_findings(service: A2ACommunicationService,
                                                   metrics: BackendMetrics) -> None:
    outcome = await service.delegate("research-agent", TASK, 5.0)
    assert not outcome.is_error, outcome.text
    assert outcome.text.startswith(f"research-agent findings on '{TASK}':")
    again = await service.delegate("research-agent", TASK, None)
    assert again == outcome
    assert observations(metrics, "research-agent", "ok") == 2


async def test_latency_beyond_the_deadline_times_out(agent: Service, service: A2ACommunicationService,
                                                     metrics: BackendMetrics) -> None:
    add_fault(agent, {"type": "latency", "attributes": {"latency_ms": 3000}})
    started = time.perf_counter()
    outcome = await service.delegate("research-agent", TASK, 0.5)
    elapsed = time.perf_counter() - started
    assert outcome.is_error
    assert "timed out" in outcome.text
    assert "research-agent" in outcome.text
    assert 0.45 <= elapsed < 2.0
    assert observations(metrics, "research-agent", "timeout") == 1
    assert all_observations(metrics) == 1


async def test_no_timeout_keeps_waiting_and_observes_nothing(agent: Service, service: A2ACommunicationService,
                                                             metrics: BackendMetrics) -> None:
    add_fault(agent, {"type": "latency", "attributes": {"latency_ms": 3000}})
    pending = asyncio.create_task(service.delegate("research-agent", TASK, None))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(pending), timeout=1.5)
    assert not pending.done()
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    assert all_observations(metrics) == 0


async def test_http_error_fault_is_an_error_outcome(agent: Service, service: A2ACommunicationService,
                                                    metrics: BackendMetrics) -> None:
    add_fault(agent, {"type": "error", "attributes": {"status": 503}})
    outcome = await service.delegate("research-agent", TASK, 5.0)
    assert outcome.is_error
    assert outcome.text.startswith("error: delegation to research-agent failed: HTTP 503")
    assert "injected fault" in outcome.text
    assert observations(metrics, "research-agent", "error") == 1


async def test_failed_task_is_an_error_outcome_with_the_reason(agent: Service, service: A2ACommunicationService,
                                                               metrics: BackendMetrics) -> None:
    add_fault(agent, {"type": "fail_task", "attributes": {"reason": "upstream index unavailable"}})
    outcome = await service.delegate("research-agent", TASK, 5.0)
    assert outcome.is_error
    assert "research-agent" in outcome.text
    assert "failed: upstream index unavailable" in outcome.text
    assert observations(metrics, "research-agent", "error") == 1


async def test_unreachable_agent_does_not_break_start_and_fails_fast(agent: Service,
                                                                     metrics: BackendMetrics) -> None:
    port = free_port()
    dead_url = f"http://127.0.0.1:{port}"
    service = A2ACommunicationService([dead_url, agent.url], metrics, card_attempts=2)
    try:
        await service.start()
        dead_name = fallback_name(dead_url)
        assert service.agent_names() == [dead_name, "research-agent"]
        assert dead_name == f"127.0.0.1:{port}"
        started = time.perf_counter()
        outcome = await service.delegate(dead_name, TASK, 5.0)
        assert time.perf_counter() - started < 1.0
        assert outcome.is_error
        assert f"delegation to {dead_name} failed" in outcome.text
        assert "unreachable" in outcome.text
        assert observations(metrics, dead_name, "error") == 1
        assert not (await service.delegate("research-agent", TASK, 5.0)).is_error
    finally:
        await service.close()


async def test_card_is_fetched_lazily_once_the_agent_is_up(launch: Callable[..., Service],
                                                           metrics: BackendMetrics) -> None:
    port = free_port()
    service = A2ACommunicationService([f"http://127.0.0.1:{port}"], metrics, card_attempts=1, card_retry_s=0.0)
    try:
        await service.start()
        early_name = service.agent_names()[0]
        assert early_name == f"127.0.0.1:{port}"
        refused = await service.delegate(early_name, TASK, 5.0)
        assert refused.is_error
        assert "unreachable" in refused.text
        late = launch("mock", "a2a", "--processing-ms", "5", "--agent-name", "late-agent", port=port)
        outcome = await service.delegate(early_name, TASK, 5.0)
        assert not outcome.is_error, outcome.text
        assert outcome.text.startswith("late-agent findings")
        assert service.agent_names() == ["late-agent"]
        assert observations(metrics, "late-agent", "ok") == 1
        late.stop()
    finally:
        await service.close()


async def test_unknown_agent_lists_the_known_ones(service: A2ACommunicationService,
                                                  metrics: BackendMetrics) -> None:
    outcome = await service.delegate("nobody-agent", TASK, 5.0)
    assert outcome.is_error
    assert "'nobody-agent'" in outcome.text
    assert "known agents: research-agent" in outcome.text
    assert all_observations(metrics) == 0
