"""Every endpoint over raw HTTP: bodies, status codes, headers and error texts of Toxiproxy 2.12."""

from __future__ import annotations

import json
import time

import httpx

from tests.proxy.support import EchoServer, Peer, add_toxic, create_proxy, listen_port
from tests.support import free_port


def error_of(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["status"] == response.status_code
    return response.status_code, body["error"]


def test_version_is_json_with_trailing_newline(api: httpx.Client) -> None:
    response = api.get("/version")
    assert response.status_code == 200
    assert response.content == b'{"version": "2.12.0"}\n'
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    assert len(response.headers["x-toxiproxy-request-id"]) == 20


def test_unknown_path_wrong_method_and_browser(api: httpx.Client) -> None:
    missing = api.get("/nope")
    assert (missing.status_code, missing.content) == (404, b"404 page not found\n")
    assert "x-toxiproxy-request-id" not in missing.headers
    assert api.get("/proxies/").status_code == 404
    wrong = api.put("/proxies")
    assert (wrong.status_code, wrong.content) == (405, b"")
    browser = api.get("/proxies", headers={"User-Agent": "Mozilla/5.0 (X11)"})
    assert (browser.status_code, browser.content) == (403, b"User agent not allowed\n")
    assert api.get("/proxies", headers={"User-Agent": "curl/8.0"}).status_code == 200


def test_metrics_route_exists_only_with_flag(api: httpx.Client, echo: EchoServer) -> None:
    port = create_proxy(api, "metered", echo.address)
    with Peer.connect(port) as peer:
        peer.roundtrip_ms(b"12345")
    text = ""
    for _ in range(50):  # counters are added when the connection ends
        text = api.get("/metrics").text
        if 'proxy="metered"' in text:
            break
        time.sleep(0.05)
    assert 'toxiproxy_proxy_sent_bytes_total{direction="upstream"' in text
    assert 'proxy="metered"' in text


def test_proxy_create_get_list_delete(api: httpx.Client, echo: EchoServer) -> None:
    assert api.get("/proxies").json() == {}
    created = api.post("/proxies", json={"name": "db", "listen": "localhost:0", "upstream": echo.address})
    assert created.status_code == 201
    assert created.headers["content-type"] == "application/json"
    body = created.json()
    assert list(body) == ["name", "listen", "upstream", "enabled", "Logger", "toxics"]
    assert body["listen"].startswith("127.0.0.1:")
    assert listen_port(body) > 0
    assert (body["enabled"], body["toxics"], body["upstream"]) == (True, [], echo.address)
    assert not created.content.endswith(b"\n")
    assert api.get("/proxies/db").json() == body
    assert api.get("/proxies").json() == {"db": body}
    assert api.delete("/proxies/db").status_code == 204
    assert error_of(api.get("/proxies/db")) == (404, "proxy not found")
    assert error_of(api.delete("/proxies/db")) == (404, "proxy not found")


def test_proxy_create_errors(api: httpx.Client, echo: EchoServer) -> None:
    missing_name = api.post("/proxies", json={"upstream": echo.address})
    assert error_of(missing_name) == (400, "missing required field: name")
    assert missing_name.headers["content-type"] == "text/plain; charset=utf-8"
    assert missing_name.content.endswith(b"}\n")
    assert error_of(api.post("/proxies", json={"name": "x"})) == (400, "missing required field: upstream")
    assert error_of(api.post("/proxies", content=b"")) == (400, "bad request body: EOF")
    create_proxy(api, "dup", echo.address)
    assert error_of(api.post("/proxies", json={"name": "dup", "upstream": "1.2.3.4:5"})) == \
        (409, "proxy already exists")
    assert api.get("/proxies/dup").json()["upstream"] == echo.address


def test_proxy_create_port_conflict_is_500_and_not_added(api: httpx.Client, echo: EchoServer) -> None:
    port = create_proxy(api, "first", echo.address)
    status, message = error_of(api.post("/proxies", json={"name": "second", "listen": f"127.0.0.1:{port}",
                                                          "upstream": echo.address}))
    assert status == 500
    assert message == f"listen tcp 127.0.0.1:{port}: bind: address already in use"
    assert "second" not in api.get("/proxies").json()
    status, message = error_of(api.post("/proxies", json={"name": "bad", "listen": "local373",
                                                          "upstream": echo.address}))
    assert (status, message) == (500, "listen tcp: address local373: missing port in address")


def test_create_disabled_keeps_listen_string(api: httpx.Client, echo: EchoServer) -> None:
    port = free_port()
    body = api.post("/proxies", json={"name": "off", "listen": f"localhost:{port}", "upstream": echo.address,
                                      "enabled": False}).json()
    assert (body["listen"], body["enabled"]) == (f"localhost:{port}", False)
    enabled = api.patch("/proxies/off", json={"enabled": True}).json()
    assert (enabled["listen"], enabled["enabled"]) == (f"127.0.0.1:{port}", True)
    with Peer.connect(port) as peer:
        assert peer.roundtrip_ms() < 1000


def test_proxy_update_post_and_patch(api: httpx.Client, echo: EchoServer) -> None:
    port = create_proxy(api, "upd", echo.address)
    disabled = api.post("/proxies/upd", json={"enabled": False})
    assert disabled.status_code == 200
    assert disabled.json()["enabled"] is False
    assert disabled.json()["listen"] == f"127.0.0.1:{port}"
    enabled = api.patch("/proxies/upd", json={"enabled": True})
    assert enabled.json()["enabled"] is True
    assert enabled.json()["listen"] == f"127.0.0.1:{port}"
    new_port = free_port()
    moved = api.patch("/proxies/upd", json={"listen": f"127.0.0.1:{new_port}"}).json()
    assert moved["listen"] == f"127.0.0.1:{new_port}"
    assert moved["enabled"] is True
    with Peer.connect(new_port) as peer:
        assert peer.roundtrip_ms() < 1000
    same = api.patch("/proxies/upd", json={"listen": f"localhost:{new_port}", "name": "ignored"}).json()
    assert same["listen"] == f"127.0.0.1:{new_port}"
    assert same["name"] == "upd"
    assert error_of(api.patch("/proxies/upd", json={"listen": "local373"})) == \
        (500, "address local373: missing port in address")
    assert error_of(api.patch("/proxies/nope", json={})) == (404, "proxy not found")
    assert error_of(api.patch("/proxies/upd", content=b"{")) == (400, "bad request body: unexpected EOF")


def test_toxic_crud(api: httpx.Client, echo: EchoServer) -> None:
    create_proxy(api, "tox", echo.address)
    created = api.post("/proxies/tox/toxics", json={"type": "latency", "attributes": {"latency": 10}})
    assert created.status_code == 200
    assert created.content == (b'{"attributes":{"latency":10,"jitter":0},"name":"latency_downstream",'
                               b'"type":"latency","stream":"downstream","toxicity":1}')
    add_toxic(api, "tox", "bandwidth", stream="UPSTREAM", toxicity=0.5, attributes={"rate": 100})
    listed = api.get("/proxies/tox/toxics").json()
    assert [toxic["name"] for toxic in listed] == ["bandwidth_UPSTREAM", "latency_downstream"]
    assert listed[0]["stream"] == "UPSTREAM"
    assert listed[0]["toxicity"] == 0.5
    assert api.get("/proxies/tox").json()["toxics"] == listed
    shown = api.get("/proxies/tox/toxics/latency_downstream").json()
    assert shown["attributes"] == {"latency": 10, "jitter": 0}
    updated = api.patch("/proxies/tox/toxics/latency_downstream",
                        json={"attributes": {"jitter": 3}, "toxicity": 0.25, "type": "ignored"}).json()
    assert updated["attributes"] == {"latency": 10, "jitter": 3}
    assert (updated["toxicity"], updated["type"]) == (0.25, "latency")
    assert api.post("/proxies/tox/toxics/latency_downstream", json={}).json()["toxicity"] == 0.25
    assert api.delete("/proxies/tox/toxics/latency_downstream").status_code == 204
    assert error_of(api.get("/proxies/tox/toxics/latency_downstream")) == (404, "toxic not found")
    assert error_of(api.delete("/proxies/tox/toxics/latency_downstream")) == (404, "toxic not found")
    assert error_of(api.patch("/proxies/tox/toxics/nope", json={})) == (404, "toxic not found")
    assert error_of(api.get("/proxies/none/toxics")) == (404, "proxy not found")
    assert error_of(api.post("/proxies/none/toxics", content=b"garbage")) == (404, "proxy not found")


def test_toxic_create_errors_in_real_order(api: httpx.Client, echo: EchoServer) -> None:
    create_proxy(api, "err", echo.address)
    assert error_of(api.post("/proxies/err/toxics", json={"type": "nope", "stream": "sideways"})) == \
        (400, "stream was invalid, can be either upstream or downstream")
    assert error_of(api.post("/proxies/err/toxics", json={"type": "latency", "stream": ""}))[0] == 400
    assert error_of(api.post("/proxies/err/toxics", json={"type": "nope"})) == (400, "invalid toxic type")
    assert error_of(api.post("/proxies/err/toxics", json={})) == (400, "invalid toxic type")
    add_toxic(api, "err", "latency", name="same")
    assert error_of(api.post("/proxies/err/toxics", json={"type": "timeout", "name": "same",
                                                          "stream": "upstream"})) == (409, "toxic already exists")
    add_toxic(api, "err", "noop")
    assert error_of(api.post("/proxies/err/toxics", json={"type": "noop"})) == (409, "toxic already exists")
    noop = api.get("/proxies/err/toxics/noop_downstream").json()
    assert noop["attributes"] == {}


def test_toxic_defaults_and_case_insensitive_keys(api: httpx.Client, echo: EchoServer) -> None:
    create_proxy(api, "keys", echo.address)
    body = api.post("/proxies/keys/toxics", content=json.dumps(
        {"Type": "slicer", "NAME": "s", "attributes": {"Average_Size": 10, "delay": None}})).json()
    assert body["name"] == "s"
    assert body["type"] == "slicer"
    assert body["attributes"] == {"average_size": 10, "size_variation": 0, "delay": 0}
    nulls = add_toxic(api, "keys", "limit_data", attributes=None, toxicity=None)
    assert nulls["attributes"] == {"bytes": 0}
    assert nulls["toxicity"] == 1


def test_populate(api: httpx.Client, echo: EchoServer) -> None:
    first, second = free_port(), free_port()
    body = [{"name": "p1", "listen": f"127.0.0.1:{first}", "upstream": echo.address},
            {"name": "p2", "listen": f"127.0.0.1:{second}", "upstream": echo.address, "enabled": False}]
    response = api.post("/populate", json=body)
    assert response.status_code == 201
    proxies = response.json()["proxies"]
    assert [(p["name"], p["enabled"]) for p in proxies] == [("p1", True), ("p2", False)]
    add_toxic(api, "p1", "latency", attributes={"latency": 5})
    with Peer.connect(first) as kept:
        again = api.post("/populate", json=[{"name": "p1", "listen": f"localhost:{first}",
                                              "upstream": echo.address}]).json()
        assert again["proxies"][0]["toxics"][0]["name"] == "latency_downstream"
        assert kept.roundtrip_ms() >= 4  # same proxy: connection and toxic kept
        replaced = api.post("/populate", json=[{"name": "p1", "listen": f"127.0.0.1:{first}",
                                                 "upstream": "127.0.0.1:1"}]).json()
        assert replaced["proxies"][0]["toxics"] == []
        assert kept.read_until_closed() == b""  # the old proxy's connection is dropped
    assert set(api.get("/proxies").json()) == {"p1", "p2"}
    empty = api.post("/populate", json=[])
    assert (empty.status_code, empty.content) == (201, b'{"proxies":null}')


def test_populate_errors(api: httpx.Client, echo: EchoServer) -> None:
    missing = api.post("/populate", json=[{"name": "ok", "upstream": echo.address}, {"upstream": "x:1"}])
    assert missing.status_code == 400
    assert missing.headers["content-type"] == "application/json"
    assert missing.content == b'{"error":"missing required field: name at proxy 2","status":400,"proxies":null}'
    assert "ok" not in api.get("/proxies").json()
    port = create_proxy(api, "holder", echo.address)
    partial = api.post("/populate", json=[{"name": "a1", "listen": "127.0.0.1:0", "upstream": echo.address},
                                          {"name": "a2", "listen": f"127.0.0.1:{port}", "upstream": echo.address},
                                          {"name": "a3", "listen": "127.0.0.1:0", "upstream": echo.address}])
    assert partial.status_code == 500
    body = partial.json()
    assert "address already in use" in body["error"]
    assert [proxy["name"] for proxy in body["proxies"]] == ["a1"]
    assert "a3" not in api.get("/proxies").json()
    bad = api.post("/populate", json={"name": "x"})
    assert bad.status_code == 400
    assert bad.json()["proxies"] is None


def test_reset_enables_and_clears(api: httpx.Client, echo: EchoServer) -> None:
    port = create_proxy(api, "r", echo.address)
    add_toxic(api, "r", "latency", attributes={"latency": 100})
    api.patch("/proxies/r", json={"enabled": False})
    reset = api.post("/reset")
    assert (reset.status_code, reset.content) == (204, b"")
    proxy = api.get("/proxies/r").json()
    assert (proxy["enabled"], proxy["toxics"], proxy["listen"]) == (True, [], f"127.0.0.1:{port}")
    with Peer.connect(port) as peer:
        assert peer.roundtrip_ms() < 90
