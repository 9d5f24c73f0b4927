"""Fault actions against real stand-ins, the embedded Toxiproxy server and PostgreSQL; ledger and watchdog."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from chaoslib.exceptions import ActivityFailed

from harness.faults import db, llm, network, services
from harness.faults.ledger import FaultLedger
from harness.proxy.server import BackgroundProxyServer
from harness.stack.postgres import LocalPostgres
from tests.support import Service, free_port


@pytest.fixture(scope="module")
def openai_stub(launch: Callable[..., Service]) -> Service:
    return launch("mock", "openai")


@pytest.fixture(scope="module")
def toxiproxy() -> Iterator[str]:
    with BackgroundProxyServer("127.0.0.1", free_port()) as server:
        httpx.post(f"{server.url}/proxies", json={"name": "a2a", "listen": f"127.0.0.1:{free_port()}",
                                                  "upstream": "127.0.0.1:9"}).raise_for_status()
        yield server.url


@pytest.fixture
def configuration(tmp_path: Path, openai_stub: Service, toxiproxy: str) -> dict:
    return {"run_dir": str(tmp_path), "openai_url": openai_stub.url, "toxiproxy_url": toxiproxy}


def test_llm_fault_is_injected_recorded_and_removed(configuration: dict, openai_stub: Service) -> None:
    result = llm.slow_first_token(250, ttl_s=30, configuration=configuration)
    active = httpx.get(f"{openai_stub.url}/_control/faults").json()["faults"]
    assert [f["id"] for f in active] == [result["fault"]["id"]]
    assert active[0]["attributes"]["ttft_ms"] == 250
    ledger = FaultLedger(Path(configuration["run_dir"]))
    assert [e.kind for e in ledger.active()] == ["openai:latency"]
    llm.remove_llm_faults(configuration)
    assert httpx.get(f"{openai_stub.url}/_control/faults").json()["faults"] == []
    assert ledger.active() == []


def test_every_llm_fault_shape_is_accepted_by_the_stub(configuration: dict, openai_stub: Service) -> None:
    for action, kwargs in ((llm.slow_llm_stream, {"tokens_per_s": 20}), (llm.llm_rate_limit, {"rpm": 60}),
                           (llm.llm_rate_limit, {"rate": 0.5, "retry_after_s": 2}), (llm.llm_server_errors, {}),
                           (llm.stall_llm_stream, {}), (llm.disconnect_llm_stream, {"after_chunks": 2})):
        action(**kwargs, ttl_s=30, configuration=configuration)
    kinds = sorted(f["type"] for f in httpx.get(f"{openai_stub.url}/_control/faults").json()["faults"])
    assert kinds == ["disconnect", "error", "rate_limit", "rate_limit", "slow_stream", "stall"]
    services.remove_service_faults(configuration=configuration)
    assert httpx.get(f"{openai_stub.url}/_control/faults").json()["faults"] == []


def test_settings_given_as_strings_work_as_with_var(configuration: dict, toxiproxy: str) -> None:
    llm.slow_first_token("250", ttl_s="30", configuration=configuration)
    network.add_latency("a2a", "300", ttl_s="30", configuration=configuration)
    assert [e.kind for e in FaultLedger(Path(configuration["run_dir"])).active()] == ["openai:latency",
                                                                                      "toxic:latency"]
    services.remove_service_faults(configuration=configuration)
    network.remove_network_faults(configuration=configuration)
    with pytest.raises(ActivityFailed, match="ttl_s must be a number"):
        llm.slow_first_token(100, ttl_s="soon", configuration=configuration)


def test_bad_fault_inputs_are_clear_activity_failures(configuration: dict) -> None:
    with pytest.raises(ActivityFailed, match="unknown service 'redis'"):
        services.inject_service_fault("redis", "latency", configuration=configuration)
    with pytest.raises(ActivityFailed, match="ttl_s must be a positive"):
        llm.slow_first_token(100, ttl_s=0, configuration=configuration)
    with pytest.raises(ActivityFailed, match=r"refused the fault \(400\).*ttft_ms"):
        llm.slow_first_token(-5, configuration=configuration)
    with pytest.raises(ActivityFailed, match="cannot reach the openai fault API"):
        llm.slow_first_token(100, configuration={**configuration, "openai_url": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(ActivityFailed, match=r"no proxy named 'nope'.*known: a2a"):
        network.add_latency("nope", 100, configuration=configuration)
    with pytest.raises(ActivityFailed, match="stream must be upstream or downstream"):
        network.add_toxic("a2a", "latency", {"latency": 1}, stream="sideways", configuration=configuration)
    with pytest.raises(ActivityFailed, match="refused the latency toxic"):
        network.add_toxic("a2a", "latency", {"latency": "slow"}, configuration=configuration)
    assert FaultLedger(Path(configuration["run_dir"])).entries() == []


def test_toxic_gets_a_server_side_ttl_and_is_undone_by_rollback(configuration: dict, toxiproxy: str) -> None:
    added = network.add_latency("a2a", 300, jitter_ms=10, ttl_s=30, configuration=configuration)
    toxics = httpx.get(f"{toxiproxy}/proxies/a2a/toxics").json()
    assert [(t["name"], t["attributes"]["latency"], t["ttl_s"]) for t in toxics] == [(added["toxic"], 300, 30.0)]
    network.remove_network_faults(configuration=configuration)
    assert httpx.get(f"{toxiproxy}/proxies/a2a/toxics").json() == []


def test_watchdog_reenables_a_proxy_down_after_its_time(configuration: dict, toxiproxy: str) -> None:
    network.proxy_down("a2a", 1.0, configuration=configuration)
    assert httpx.get(f"{toxiproxy}/proxies/a2a").json()["enabled"] is False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not httpx.get(f"{toxiproxy}/proxies/a2a").json()["enabled"]:
        time.sleep(0.1)
    assert httpx.get(f"{toxiproxy}/proxies/a2a").json()["enabled"] is True
    ledger = FaultLedger(Path(configuration["run_dir"]))
    deadline = time.monotonic() + 5
    while ledger.unremoved() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ledger.unremoved() == []
    assert "enabled again" in (Path(configuration["run_dir"]) / "watchdog.log").read_text()


async def test_terminate_backend_connections_kills_only_matching(postgres: LocalPostgres, tmp_path: Path) -> None:
    prefix = f"test-victim-{tmp_path.name}-"  # other tests' backends share this server: touch only ours
    victim = await asyncpg.connect(postgres.url, server_settings={"application_name": f"{prefix}4242"})
    bystander = await asyncpg.connect(postgres.url, server_settings={"application_name": "someone-else"})
    configuration = {"postgres_url": postgres.url, "run_dir": str(tmp_path)}
    result = await asyncio.to_thread(db.terminate_backend_connections, prefix, configuration=configuration)
    assert result["terminated"] == 1
    await asyncio.sleep(0.2)
    assert victim.is_closed()
    assert await bystander.fetchval("SELECT 1") == 1
    await bystander.close()
    entries = FaultLedger(tmp_path).entries()
    assert [e.kind for e in entries] == ["db:pg_terminate_backend"]
    assert FaultLedger(tmp_path).unremoved() == []


def test_drop_db_connections_resets_the_route(configuration: dict, toxiproxy: str) -> None:
    with pytest.raises(ActivityFailed, match="mode must be reset_peer or down"):
        db.drop_db_connections("explode", configuration=configuration)
    db.drop_db_connections("reset_peer", 20, proxy="a2a", configuration=configuration)
    listen = httpx.get(f"{toxiproxy}/proxies/a2a").json()["listen"]
    assert [t["type"] for t in httpx.get(f"{toxiproxy}/proxies/a2a/toxics").json()] == ["reset_peer"]
    host, port = listen.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=2) as conn:
        conn.sendall(b"x")
        conn.settimeout(2)
        try:
            data = conn.recv(10)
        except ConnectionResetError:
            data = None
    assert not data
    network.remove_network_faults("a2a", configuration)
