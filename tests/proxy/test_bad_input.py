"""Bad input gets the real server's errors; the server never dies and open connections are unaffected."""

from __future__ import annotations

import socket

import httpx
import pytest

from harness.proxy import BackgroundProxyServer
from tests.proxy.support import EchoServer, Peer, add_toxic, create_proxy

INT_ERROR = ("bad request body: json: cannot unmarshal {word} into Go struct field "
             "LatencyToxic.attributes.latency of type int64")


@pytest.mark.parametrize(("value", "word"), [(100.5, "number 100.5"), (100.0, "number 100.0"),
                                             ("100", "string"), (True, "bool"), (2**63, "number 9223372036854775808")])
def test_non_integer_attributes_are_rejected(api: httpx.Client, echo: EchoServer, value: object,
                                             word: str) -> None:
    create_proxy(api, "ints", echo.address)
    response = api.post("/proxies/ints/toxics", json={"type": "latency", "attributes": {"latency": value}})
    assert response.status_code == 400
    assert response.json() == {"error": INT_ERROR.format(word=word), "status": 400}
    assert api.get("/proxies/ints/toxics").json() == []


def test_exponent_number_rejected(api: httpx.Client, echo: EchoServer) -> None:
    create_proxy(api, "exp", echo.address)
    response = api.post("/proxies/exp/toxics", content=b'{"type":"latency","attributes":{"latency":1e3}}')
    assert response.json()["error"] == INT_ERROR.format(word="number 1e3")


def test_invalid_json_and_wrong_types(api: httpx.Client, echo: EchoServer) -> None:
    create_proxy(api, "json", echo.address)
    cases = {
        b"{not json": "bad request body: invalid character 'n' looking for beginning of object key string",
        b'{"name": 5, "upstream": "x:1"}':
            "bad request body: json: cannot unmarshal number into Go struct field Proxy.name of type string",
        b'{"name": "n", "upstream": "x:1", "enabled": "yes"}':
            "bad request body: json: cannot unmarshal string into Go struct field Proxy.enabled of type bool",
        b"[]": "bad request body: json: cannot unmarshal array into Go value of type toxiproxy.Proxy",
    }
    for body, message in cases.items():
        response = api.post("/proxies", content=body)
        assert (response.status_code, response.json()["error"]) == (400, message), body
    toxicity = api.post("/proxies/json/toxics", json={"type": "latency", "toxicity": "high"})
    assert toxicity.json()["error"] == ("bad request body: json: cannot unmarshal string into Go struct field "
                                        "ToxicWrapper.toxicity of type float32")
    update = api.patch("/proxies/json/toxics/x", json={"attributes": {"latency": 1.5}})
    assert update.status_code == 404  # toxic lookup comes before the body
    add_toxic(api, "json", "latency", attributes={"latency": 7})
    update = api.patch("/proxies/json/toxics/latency_downstream", json={"attributes": {"latency": 1.5}})
    assert update.status_code == 400
    assert api.get("/proxies/json/toxics/latency_downstream").json()["attributes"]["latency"] == 7


@pytest.mark.parametrize(("toxic_type", "attributes"), [
    ("bandwidth", {"rate": -1}),
    ("slicer", {}),
    ("slicer", {"average_size": 10, "size_variation": 10}),
    ("slicer", {"average_size": 10, "size_variation": -1}),
])
def test_go_crash_values_are_400(api: httpx.Client, echo: EchoServer, toxic_type: str, attributes: dict) -> None:
    create_proxy(api, "crash", echo.address)
    response = api.post("/proxies/crash/toxics", json={"type": toxic_type, "attributes": attributes})
    assert response.status_code == 400
    assert response.json()["error"].startswith("bad request body: ")


def test_server_survives_garbage_and_connections_continue(api: httpx.Client, echo: EchoServer,
                                                          proxy_server: BackgroundProxyServer) -> None:
    port = create_proxy(api, "survive", echo.address)
    with Peer.connect(port) as peer:
        peer.roundtrip_ms()
        with socket.create_connection(("127.0.0.1", proxy_server.port), timeout=5) as raw:
            raw.sendall(b"\x00\x01garbage\r\n\r\n")
            assert raw.recv(100).startswith(b"HTTP/1.1 400")
        for body in (b"\xff\xfe", b"[[[[", b'{"type":', b"null", b"12"):
            assert api.post("/proxies/survive/toxics", content=body).status_code == 400
        assert api.post("/proxies", content=b"null").status_code == 400
        assert peer.roundtrip_ms() < 100
    assert api.get("/version").status_code == 200
