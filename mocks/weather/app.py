"""The weather HTTP API stub: ``GET /v1/current?city=Paris`` plus the shared fault API and ``/metrics``.

Errors use this API's own shape: ``{"error": {"code": ..., "message": ...}}``. Faults (``latency``,
``error``) apply to the ``/v1/`` API only, scoped by ``test_id`` (the ``X-Test-Id`` header) and
``city``; health, metrics and the control API are never slowed or failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from prometheus_client import Counter, Histogram
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mocks.common.control import control_routes
from mocks.common.faults import (
    DEFAULT_TTL_S,
    ErrorAttributes,
    FaultBoard,
    FaultCatalog,
    FaultType,
    LatencyAttributes,
)
from mocks.common.metrics import metrics_route, new_registry
from mocks.common.server import health_route
from mocks.weather.reports import current_weather, validate_city

SERVICE = "weather"
log = structlog.get_logger("mock-weather")

WEATHER_FAULTS = FaultCatalog(
    [
        FaultType("latency", LatencyAttributes, "delay before the API answers: latency_ms ± jitter_ms"),
        FaultType("error", ErrorAttributes, "HTTP error `status` for a fraction `rate` of API requests"),
    ],
    scope_keys=("test_id", "city"),
)


@dataclass(frozen=True)
class WeatherSettings:
    """How the weather stub runs."""

    control_token: str | None = None
    default_fault_ttl_s: float = DEFAULT_TTL_S


def api_error(status: int, code: str, message: str) -> JSONResponse:
    """An error in this API's shape: ``{"error": {"code": ..., "message": ...}}``."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class WeatherApi:
    """The ``/v1/`` endpoints, their faults and their metrics."""

    def __init__(self, board: FaultBoard, requests: Counter, duration: Histogram) -> None:
        self.board = board
        self.requests = requests
        self.duration = duration

    def observed(self, handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """Wrap an API handler: count it by status and time it."""

        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            response = await handler(request)
            self.requests.labels(status=str(response.status_code)).inc()
            self.duration.observe(time.perf_counter() - started)
            return response

        return endpoint

    async def current(self, request: Request) -> Response:
        """``GET /v1/current?city=<name>``."""
        try:
            city = validate_city(request.query_params.get("city"))
        except ValueError as error:
            return api_error(400, "invalid_request", str(error))
        injected = await self.inject(request, city)
        if injected is not None:
            return injected
        return JSONResponse(current_weather(city))

    async def inject(self, request: Request, city: str | None) -> Response | None:
        """Apply the active faults for this request; returns the injected error response, if any."""
        if not self.board.active():
            return None
        context = {"test_id": request.headers.get("x-test-id"), "city": city}
        latency = self.board.first("latency", context)
        if latency is not None:
            attributes = latency.attributes
            assert isinstance(attributes, LatencyAttributes)
            await asyncio.sleep(attributes.draw_delay_s())
        error = self.board.first("error", context)
        if error is not None:
            attributes = error.attributes
            assert isinstance(attributes, ErrorAttributes)
            if attributes.strikes():
                return api_error(attributes.status, "injected_fault",
                                 f"injected fault {error.id}: HTTP {attributes.status}")
        return None

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """404, 405 and any other routing error, in this API's JSON shape (and counted)."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 404:
            response = api_error(404, "not_found", f"no such endpoint: {request.method} {request.url.path}; "
                                                   "try GET /v1/current?city=Paris")
        elif status == 405:
            response = api_error(405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}")
        else:
            response = api_error(status, "http_error", str(getattr(exc, "detail", "")) or "request failed")
        self.requests.labels(status=str(status)).inc()
        return response

    async def crash(self, request: Request, exc: Exception) -> Response:
        """An unexpected exception: logged with its traceback, answered as a JSON 500."""
        log.error("request_failed", path=request.url.path, exc_info=exc)
        self.requests.labels(status="500").inc()
        return api_error(500, "internal_error", "the weather stub failed unexpectedly; see its log")


def create_app(settings: WeatherSettings | None = None) -> Starlette:
    """The weather stub as an ASGI app."""
    settings = settings or WeatherSettings()
    board = FaultBoard(WEATHER_FAULTS, default_ttl_s=settings.default_fault_ttl_s)
    registry = new_registry(board, SERVICE)
    api = WeatherApi(
        board,
        Counter("weather_api_requests", "Weather API requests by HTTP status", ["status"], registry=registry),
        Histogram("weather_api_request_duration_seconds", "Weather API request duration, injected delay included",
                  registry=registry,
                  buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)),
    )
    routes = [
        health_route(),
        metrics_route(registry),
        *control_routes(board, token=settings.control_token),
        Route("/v1/current", api.observed(api.current), methods=["GET"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: api.http_error, Exception: api.crash})
    log.info("weather_app_ready", fault_types=sorted(WEATHER_FAULTS.types))
    return app
