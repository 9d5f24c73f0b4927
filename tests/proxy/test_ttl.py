"""The TTL extension: a toxic with ``ttl_s`` removes itself; clients that don't send it see nothing new."""

from __future__ import annotations

import time

import httpx

from tests.proxy.support import EchoServer, Peer, add_toxic, create_proxy


def test_toxic_expires_and_its_effect_ends(api: httpx.Client, echo: EchoServer) -> None:
    port = create_proxy(api, "ttl", echo.address)
    toxic = add_toxic(api, "ttl", "latency", attributes={"latency": 200}, ttl_s=0.5)
    assert toxic["ttl_s"] == 0.5
    with Peer.connect(port) as peer:
        assert peer.roundtrip_ms() >= 190
        deadline = time.monotonic() + 5
        while api.get("/proxies/ttl/toxics").json() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert api.get("/proxies/ttl/toxics").json() == []
        assert peer.roundtrip_ms() < 100


def test_ttl_absent_unless_set_and_renewed_or_cleared_on_update(api: httpx.Client, echo: EchoServer) -> None:
    create_proxy(api, "ttl2", echo.address)
    assert "ttl_s" not in add_toxic(api, "ttl2", "noop")
    add_toxic(api, "ttl2", "latency", ttl_s=0.4)
    renewed = api.patch("/proxies/ttl2/toxics/latency_downstream", json={"ttl_s": 0})
    assert "ttl_s" not in renewed.json()
    time.sleep(0.6)
    assert [toxic["name"] for toxic in api.get("/proxies/ttl2/toxics").json()] == \
        ["noop_downstream", "latency_downstream"]
    assert api.patch("/proxies/ttl2/toxics/noop_downstream", json={"ttl_s": 0.2}).json()["ttl_s"] == 0.2
    time.sleep(0.6)
    assert [toxic["name"] for toxic in api.get("/proxies/ttl2/toxics").json()] == ["latency_downstream"]


def test_bad_ttl_is_400(api: httpx.Client, echo: EchoServer) -> None:
    create_proxy(api, "ttl3", echo.address)
    for bad in (-1, 0, "60"):
        response = api.post("/proxies/ttl3/toxics", json={"type": "noop", "ttl_s": bad})
        assert response.status_code == 400, bad
    assert api.get("/proxies/ttl3/toxics").json() == []
