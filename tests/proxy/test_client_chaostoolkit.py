"""``chaostoolkit-toxiproxy`` actions and probes (unchanged) against the embedded server."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
from chaostoxi.proxy import actions as proxy_actions
from chaostoxi.proxy import probes as proxy_probes
from chaostoxi.toxic import actions as toxic_actions

from harness.proxy import BackgroundProxyServer
from tests.proxy.support import EchoServer, Peer


@pytest.fixture
def configuration(proxy_server: BackgroundProxyServer, api: httpx.Client) -> dict[str, Any]:
    return {"toxiproxy_host": "127.0.0.1", "toxiproxy_port": proxy_server.port}


def upstream_parts(echo: EchoServer) -> tuple[str, int]:
    host, port = echo.address.rsplit(":", 1)
    return host, int(port)


def test_proxy_lifecycle(configuration: dict[str, Any], echo: EchoServer) -> None:
    host, port = upstream_parts(echo)
    assert proxy_actions.create_proxy("ctk", host, port, listen_host="127.0.0.1", configuration=configuration)
    listen_port = int(configuration["ctk_PORT"])
    assert os.environ["ctk_PORT"] == str(listen_port)  # noqa: SIM112 (the name the library writes)
    assert proxy_probes.proxy_exist("ctk", configuration=configuration)
    assert proxy_probes.get_proxy_attribute("ctk", "upstream", configuration=configuration) == echo.address
    with Peer.connect(listen_port) as peer:
        assert peer.roundtrip_ms() < 100
    proxy_actions.disable_proxy("ctk", configuration=configuration)
    assert proxy_probes.get_proxy_attribute("ctk", "enabled", configuration=configuration) is False
    proxy_actions.enable_proxy("ctk", configuration=configuration)
    assert proxy_probes.get_proxy_attribute("ctk", "enabled", configuration=configuration) is True
    assert proxy_actions.reset(configuration=configuration) is True
    proxy_actions.delete_proxy("ctk", configuration=configuration)
    assert not proxy_probes.proxy_exist("ctk", configuration=configuration)


def test_wildcard_listen_port_is_parsed(configuration: dict[str, Any], echo: EchoServer) -> None:
    host, port = upstream_parts(echo)
    assert proxy_actions.create_proxy("wild", host, port, configuration=configuration)  # listen 0.0.0.0:0
    listen = proxy_probes.get_proxy_attribute("wild", "listen", configuration=configuration)
    assert listen.endswith(f":{configuration['wild_PORT']}")
    with Peer.connect(int(configuration["wild_PORT"])) as peer:
        assert peer.roundtrip_ms() < 100


def test_toxic_helpers(configuration: dict[str, Any], echo: EchoServer, api: httpx.Client) -> None:
    host, port = upstream_parts(echo)
    proxy_actions.create_proxy("ctx", host, port, listen_host="127.0.0.1", configuration=configuration)
    listen_port = int(configuration["ctx_PORT"])
    assert toxic_actions.create_latency_toxic("ctx", "slow", 120, 0, configuration=configuration)
    with Peer.connect(listen_port) as peer:
        assert peer.roundtrip_ms() >= 115
    helpers = [
        (toxic_actions.create_bandwith_degradation_toxic, ("bw", 1000)),
        (toxic_actions.create_slow_connection_close_toxic, ("sc", 10)),
        (toxic_actions.create_timeout_toxic, ("to", 5000)),
        (toxic_actions.create_slicer_toxic, ("sl", 100, 10, 5)),
        (toxic_actions.create_limiter_toxic, ("lim", 1000)),
    ]
    for helper, args in helpers:
        assert helper("ctx", *args, configuration=configuration), helper.__name__
    assert toxic_actions.create_toxic("ctx", "rp", "reset_peer", attributes={"timeout": 10},
                                      configuration=configuration)
    assert toxic_actions.create_toxic("ctx", "nul", "noop", attributes=None, configuration=configuration)
    names = [toxic["name"] for toxic in api.get("/proxies/ctx/toxics").json()]
    assert names == ["slow", "bw", "sc", "to", "sl", "lim", "rp", "nul"]
    assert api.get("/proxies/ctx/toxics/bw").json()["attributes"] == {"rate": 1000}
    for name in names:
        assert toxic_actions.delete_toxic("ctx", name, configuration=configuration)
    with pytest.raises(TypeError):  # the client's own behaviour on an error response
        toxic_actions.create_latency_toxic("ctx", "floaty", 100.5, 0, configuration=configuration)
