"""The weather HTTP API stub, run as a real process through ``harness mock weather``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import Service


@pytest.fixture(scope="module")
def weather(launch: Callable[..., Service]) -> Service:
    return launch("mock", "weather")


@pytest.fixture
def api(weather: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=weather.url, timeout=10) as client:
        yield client
        client.delete("/_control/faults")


def add_fault(api: httpx.Client, spec: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/_control/faults", json=spec)
    assert response.status_code == 201, response.text
    return response.json()


def without_time(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "observed_at"}


def test_current_weather_is_deterministic(api: httpx.Client) -> None:
    first = api.get("/v1/current", params={"city": "Paris"})
    assert first.status_code == 200
    report = first.json()
    assert set(report) == {"city", "temperature_c", "condition", "humidity", "observed_at"}
    assert report["city"] == "Paris"
    assert -20 <= report["temperature_c"] <= 40
    assert 10 <= report["humidity"] <= 100
    assert report["observed_at"].endswith(":00:00Z")
    again = api.get("/v1/current", params={"city": "  paris "}).json()
    assert without_time(again) == {**without_time(report), "city": "paris"}
    reports = [api.get("/v1/current", params={"city": city}).json() for city in ("Oslo", "Lima", "Cairo")]
    values = {(r["temperature_c"], r["condition"], r["humidity"]) for r in [report, *reports]}
    assert len(values) > 1, "every city has the same weather: the values do not depend on the city"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [({}, "is required"), ({"city": ""}, "must not be empty"), ({"city": "   "}, "must not be empty"),
     ({"city": "x" * 101}, "too long")],
)
def test_bad_city_is_400(api: httpx.Client, params: dict[str, str], fragment: str) -> None:
    response = api.get("/v1/current", params=params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert fragment in error["message"]


def test_unknown_path_and_method_are_json_errors(api: httpx.Client) -> None:
    missing = api.get("/v1/forecast", params={"city": "Paris"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = api.post("/v1/current", params={"city": "Paris"})
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_latency_fault_is_scoped_by_test_id(api: httpx.Client) -> None:
    add_fault(api, {"type": "latency", "attributes": {"latency_ms": 600}, "scope": {"test_id": "slow"}})
    started = time.monotonic()
    assert api.get("/v1/current", params={"city": "Paris"}, headers={"X-Test-Id": "slow"}).status_code == 200
    slow = time.monotonic() - started
    started = time.monotonic()
    assert api.get("/v1/current", params={"city": "Paris"}, headers={"X-Test-Id": "other"}).status_code == 200
    fast = time.monotonic() - started
    assert slow >= 0.55
    assert fast < 0.45


def test_error_fault_answers_status_until_removed(api: httpx.Client) -> None:
    fault = add_fault(api, {"type": "error", "attributes": {"status": 502}, "scope": {"city": "Paris"}})
    failed = api.get("/v1/current", params={"city": "Paris"})
    assert failed.status_code == 502
    assert failed.json()["error"]["code"] == "injected_fault"
    assert api.get("/v1/current", params={"city": "Oslo"}).status_code == 200
    assert api.delete(f"/_control/faults/{fault['id']}").status_code == 200
    assert api.get("/v1/current", params={"city": "Paris"}).status_code == 200


def test_fault_ends_when_ttl_runs_out(api: httpx.Client) -> None:
    add_fault(api, {"type": "error", "attributes": {"status": 503}, "ttl_s": 0.4})
    assert api.get("/v1/current", params={"city": "Paris"}).status_code == 503
    time.sleep(0.6)
    assert api.get("/v1/current", params={"city": "Paris"}).status_code == 200
    assert api.get("/_control/faults").json() == {"faults": []}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"attributes": {}}', "type"),
        (b'{"type": "explode"}', "unknown fault type 'explode'"),
        (b'{"type": "latency", "attributes": {"latency_ms": -5}}', "latency_ms"),
        (b'{"type": "error", "attributes": {"rate": 1.5}}', "rate"),
        (b'{"type": "error", "attributes": {"rate": -0.1}}', "rate"),
        (b'{"type": "error", "ttl_s": 0}', "ttl_s"),
        (b'{"type": "error", "ttl_s": -1}', "ttl_s"),
        (b'{"type": "error", "scope": {"tool": "weather"}}', "unknown scope key"),
    ],
)
def test_bad_fault_is_400(api: httpx.Client, body: bytes, fragment: str) -> None:
    response = api.post("/_control/faults", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]
    assert api.get("/v1/current", params={"city": "Paris"}).status_code == 200


def metric_samples(api: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = api.get("/metrics").text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def test_metrics_count_requests_by_status(api: httpx.Client) -> None:
    before = metric_samples(api)
    api.get("/v1/current", params={"city": "Paris"})
    api.get("/v1/current")
    api.get("/v1/nothing")
    add_fault(api, {"type": "latency", "attributes": {"latency_ms": 1}})
    after = metric_samples(api)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("weather_api_requests_total", status="200") == 1
    assert delta("weather_api_requests_total", status="400") == 1
    assert delta("weather_api_requests_total", status="404") == 1
    assert delta("weather_api_request_duration_seconds_count") == 2
    assert after[("mock_active_faults", (("service", "weather"), ("type", "latency")))] == 1


def test_sigterm_exits_cleanly(launch: Callable[..., Service]) -> None:
    service = launch("mock", "weather")
    assert httpx.get(f"{service.url}/v1/current", params={"city": "Rome"}).status_code == 200
    assert service.stop() == 0
    assert '"stopped"' in service.log_text()
