"""The official ``toxiproxy-python`` client (unchanged) against the embedded server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from harness.proxy import BackgroundProxyServer
from tests.proxy.support import EchoServer, Peer
from tests.support import free_port


@pytest.fixture
def toxiproxy(proxy_server: BackgroundProxyServer, api: httpx.Client) -> Iterator[Toxiproxy]:
    client = Toxiproxy()
    client.update_api_consumer("127.0.0.1", proxy_server.port)
    yield client
    APIConsumer.host, APIConsumer.port = "127.0.0.1", 8474


def port_of(proxy) -> int:
    return int(proxy.listen.rsplit(":", 1)[1])


def test_running_version_and_create(toxiproxy: Toxiproxy, echo: EchoServer) -> None:
    assert toxiproxy.running()
    assert toxiproxy.version() == b'{"version": "2.12.0"}\n'
    proxy = toxiproxy.create(upstream=echo.address, name="py")
    assert proxy.listen.startswith("127.0.0.1:")
    assert proxy.enabled is True
    assert set(toxiproxy.proxies()) == {"py"}
    assert toxiproxy.get_proxy("py").upstream == echo.address
    with pytest.raises(ProxyExists):
        toxiproxy.create(upstream=echo.address, name="py")
    with Peer.connect(port_of(proxy)) as peer:
        assert peer.roundtrip_ms() < 100


def test_create_disabled_echoes_listen(toxiproxy: Toxiproxy, echo: EchoServer) -> None:
    listen = f"127.0.0.1:{free_port()}"
    proxy = toxiproxy.create(upstream=echo.address, name="off", listen=listen, enabled=False)
    assert (proxy.listen, proxy.enabled) == (listen, False)


def test_toxics_through_the_client(toxiproxy: Toxiproxy, echo: EchoServer) -> None:
    proxy = toxiproxy.create(upstream=echo.address, name="tox")
    proxy.add_toxic(type="latency", attributes={"latency": 123})
    toxic = proxy.get_toxic("latency_downstream")
    assert toxic.attributes["latency"] == 123
    assert toxic.stream == "downstream"
    with Peer.connect(port_of(proxy)) as peer:
        assert peer.roundtrip_ms() >= 118
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="latency", name="floaty", attributes={"latency": 100.0})
    with pytest.raises(ProxyExists):  # the client maps every 409 to ProxyExists
        proxy.add_toxic(type="latency", attributes={"latency": 1})
    assert proxy.destroy_toxic("latency_downstream") is True
    assert proxy.toxics() == {}
    with pytest.raises(NotFound):
        proxy.destroy_toxic("latency_downstream")


def test_down_and_reset(toxiproxy: Toxiproxy, echo: EchoServer) -> None:
    proxy = toxiproxy.create(upstream=echo.address, name="down")
    listen = proxy.listen
    proxy.add_toxic(type="timeout", attributes={"timeout": 0})
    with proxy.down():
        assert toxiproxy.get_proxy("down").enabled is False
        with pytest.raises(ConnectionRefusedError):
            Peer.connect(port_of(proxy))
    assert toxiproxy.get_proxy("down").enabled is True
    assert toxiproxy.get_proxy("down").listen == listen
    assert "timeout_downstream" in proxy.toxics()
    proxy.disable()
    assert toxiproxy.reset() is True
    assert toxiproxy.get_proxy("down").enabled is True
    assert proxy.toxics() == {}


def test_client_side_populate_and_destroy(toxiproxy: Toxiproxy, echo: EchoServer) -> None:
    listen = f"127.0.0.1:{free_port()}"
    created = toxiproxy.populate([{"name": "pop", "upstream": echo.address, "listen": listen}])
    assert [proxy.name for proxy in created] == ["pop"]
    assert toxiproxy.populate([{"name": "pop", "upstream": echo.address, "listen": listen}]) == []
    assert toxiproxy.destroy(toxiproxy.get_proxy("pop")) is True
    assert toxiproxy.get_proxy("pop") is None
    toxiproxy.create(upstream=echo.address, name="a")
    toxiproxy.create(upstream=echo.address, name="b")
    toxiproxy.destroy_all()
    assert toxiproxy.proxies() == {}
