"""The reference backend's HTTP surface: AG-UI over SSE (two transports), metrics, health."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mocks.agent_backend.agent import AgentRunner, Delegation, ToolSet, Turn
from mocks.agent_backend.db import Database, DatabaseUnavailable
from mocks.agent_backend.journal import RunJournal
from mocks.agent_backend.lifecycle import Lifecycle
from mocks.agent_backend.llm import LLMClient
from mocks.agent_backend.metrics import BackendMetrics
from mocks.agent_backend.requests import BadRequest, UserMessageTurn, check_thread_id, parse_run_input
from mocks.agent_backend.settings import BackendSettings, Defect
from mocks.agent_backend.streams import EventQueue, ThreadStreams
from mocks.common.control import read_json_object
from mocks.common.metrics import metrics_route
from mocks.common.server import health_route
from mocks.common.streaming import EventStreamResponse

log = structlog.get_logger("agent-backend")
CONNECTED = b": connected\n\n"

ToolsFactory = Callable[[BackendSettings, BackendMetrics], ToolSet | None]
DelegationFactory = Callable[[BackendSettings, BackendMetrics], Delegation | None]


def error(status: int, message: str) -> JSONResponse:
    """The backend's error shape: ``{"error": {"status": N, "message": "..."}}``."""
    return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)


@dataclass
class Backend:
    """Everything a request handler needs."""

    settings: BackendSettings
    metrics: BackendMetrics
    streams: ThreadStreams
    lifecycle: Lifecycle
    journal: RunJournal
    runner: AgentRunner | None = None
    database: Database | None = None

    def ready_runner(self) -> AgentRunner:
        if self.runner is None:
            raise BadRequest(503, "the backend is still starting")
        if self.lifecycle.draining:
            raise BadRequest(503, "the backend is shutting down; retry on another instance")
        return self.runner

    async def open_session_stream(self, request: Request) -> Response:
        """``GET /ag-ui/events?thread_id=T``: the thread's long-lived event stream."""
        thread_id = check_thread_id(request.query_params.get("thread_id"))
        self.ready_runner()
        queue = self.streams.open(thread_id)
        return EventStreamResponse(self._relay(queue, "session", on_close=lambda: self.streams.close(thread_id, queue)))

    async def post_turn(self, request: Request) -> Response:
        """``POST /ag-ui/events``: a ``user_message`` turn for a thread with an open stream → 202."""
        turn_input = UserMessageTurn.parse(await _json_body(request), self.settings.max_content_bytes)
        runner = self.ready_runner()
        if not self.streams.has_stream(turn_input.thread_id):
            if self.streams.known(turn_input.thread_id) or await self._thread_has_history(turn_input.thread_id):
                raise BadRequest(409, f"thread {turn_input.thread_id!r} has no open stream; open "
                                      f"GET /ag-ui/events?thread_id={turn_input.thread_id} first")
            raise BadRequest(404, f"unknown thread {turn_input.thread_id!r}; open "
                                  f"GET /ag-ui/events?thread_id={turn_input.thread_id} to start it")
        turn = Turn(turn_input.thread_id, f"run-{uuid.uuid4().hex}", "session",
                    [{"role": "user", "content": turn_input.content}], actor=turn_input.user)
        self.lifecycle.start_run(runner.run(turn, self.streams.publisher(turn.thread_id)))
        return JSONResponse({"run_id": turn.run_id, "thread_id": turn.thread_id}, status_code=202)

    async def run_standard(self, request: Request) -> Response:
        """``POST /ag-ui/run``: a ``RunAgentInput``, answered with the SSE stream of that run."""
        run_input, messages = parse_run_input(await _json_body(request), self.settings.max_content_bytes)
        runner = self.ready_runner()
        self.streams.remember(run_input.thread_id)
        queue = self.streams.new_queue()
        self.streams.track_run_queue(queue, active=True)
        turn = Turn(run_input.thread_id, run_input.run_id, "run", messages[-1:], history=messages[:-1],
                    actor=request.headers.get("x-user-id", "anonymous"))

        def publish(data: bytes) -> None:
            if not queue.put(data):
                self.metrics.sse_slow_consumers_dropped.inc()

        task = self.lifecycle.start_run(runner.run(turn, publish), on_done=queue.close)

        def closed() -> None:
            self.streams.track_run_queue(queue, active=False)
            if not task.done():
                task.cancel()  # the client went away: stop working for nobody

        return EventStreamResponse(self._relay(queue, "run", on_close=closed))

    async def _relay(self, queue: EventQueue, transport: str, on_close: Callable[[], None]) -> AsyncIterator[bytes]:
        gauge = self.metrics.sse_connections.labels(transport)
        gauge.inc()
        try:
            yield CONNECTED
            async for data in queue.events(self.settings.heartbeat_s):
                yield data
        finally:
            gauge.dec()
            on_close()

    async def _thread_has_history(self, thread_id: str) -> bool:
        if self.database is None:
            return False
        try:
            return await self.database.thread_exists(thread_id)
        except DatabaseUnavailable:
            return False

    async def ready(self, _request: Request) -> JSONResponse:
        """``/readyz``: ready only when the database answers."""
        if self.database is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        try:
            await asyncio.wait_for(self.database.ping(), 2.0)
        except (DatabaseUnavailable, TimeoutError) as failure:
            return JSONResponse({"status": "not_ready", "reason": str(failure) or "database timeout"},
                                status_code=503)
        return JSONResponse({"status": "ready"})

    async def debug(self, _request: Request) -> JSONResponse:
        """``/metrics-debug``: a JSON summary of the same figures as ``/metrics``."""
        return JSONResponse(debug_summary(self))


def debug_summary(backend: Backend) -> dict[str, Any]:
    """Current gauges, counters and histogram summaries, plus the recent runs."""
    figures: dict[str, Any] = {}
    for family in backend.metrics.registry.collect():
        for sample in family.samples:
            if sample.name.endswith(("_bucket", "_created")):
                continue
            key = sample.name + ("{" + ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items())) + "}"
                                 if sample.labels else "")
            figures[key] = sample.value
    return {"defects": sorted(backend.settings.defects), "audit_log": backend.settings.audit_log,
            "draining": backend.lifecycle.draining, "active_runs": backend.lifecycle.active_runs(),
            "retained_runs": backend.journal.retained_runs(), "recent_runs": backend.journal.recent(),
            "metrics": figures}


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        return await read_json_object(request)
    except ValueError as failure:
        raise BadRequest(400, str(failure)) from None


def _handles_bad_requests(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except BadRequest as failure:
            return error(failure.status, str(failure))

    return wrapped


class HTTPMetrics:
    """ASGI middleware: request latency by route, method and status (to the response start for streams)."""

    def __init__(self, app: ASGIApp, backend: Backend, routes: set[str]) -> None:
        self.app = app
        self.backend = backend
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        route = scope["path"] if scope["path"] in self.routes else "other"

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.backend.metrics.http_seconds.labels(route, scope["method"], str(message["status"])).observe(
                    time.perf_counter() - started)
            await send(message)

        await self.app(scope, receive, timed_send)


def create_app(settings: BackendSettings, *, tools_factory: ToolsFactory | None = None,
               delegation_factory: DelegationFactory | None = None) -> Starlette:
    """Build the backend. Dependencies connect in the lifespan; a database that cannot be reached fails start-up."""
    metrics = BackendMetrics.create()
    queue_size = 0 if settings.has(Defect.UNBOUNDED_SSE_QUEUE) else settings.sse_queue_size
    streams = ThreadStreams(queue_size, metrics)
    backend = Backend(settings, metrics, streams, Lifecycle(streams, settings.shutdown_grace_s),
                      RunJournal(leak=settings.has(Defect.MEMORY_LEAK)))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        backend.lifecycle.loop = asyncio.get_running_loop()
        database = await Database.connect(settings.database_url, metrics, pool_size=settings.db_pool_size,
                                          timeout_s=settings.db_timeout_s,
                                          recovering=not settings.has(Defect.DB_POOL_NO_RECOVERY))
        llm = LLMClient(settings.openai_base_url, settings.openai_api_key, settings.model, metrics,
                        timeout_s=settings.llm_timeout_s, max_attempts=settings.llm_max_attempts,
                        retry_storm=settings.has(Defect.RETRY_STORM))
        tools = (tools_factory or _default_tools)(settings, metrics)
        delegation = (delegation_factory or _default_delegation)(settings, metrics)
        for dependency in (tools, delegation):
            if dependency is not None:
                await dependency.start()
        backend.database = database
        backend.runner = AgentRunner(settings, llm, tools, delegation, database, backend.journal, metrics)
        log.info("backend_ready", defects=sorted(settings.defects), audit_log=settings.audit_log,
                 mcp_url=settings.mcp_url, a2a_urls=list(settings.a2a_urls))
        try:
            yield
        finally:
            await backend.lifecycle.drain()
            for closable in (tools, delegation, llm):
                if closable is not None:
                    with contextlib.suppress(Exception):
                        await closable.close()
            await database.close()

    routes = [
        Route("/ag-ui/events", _handles_bad_requests(backend.open_session_stream), methods=["GET"]),
        Route("/ag-ui/events", _handles_bad_requests(backend.post_turn), methods=["POST"]),
        Route("/ag-ui/run", _handles_bad_requests(backend.run_standard), methods=["POST"]),
        Route("/readyz", backend.ready, methods=["GET"]),
        Route("/metrics-debug", backend.debug, methods=["GET"]),
        metrics_route(metrics.registry),
        health_route(),
    ]

    async def not_found(request: Request, _exc: Exception) -> JSONResponse:
        return error(404, f"no route {request.method} {request.url.path}")

    async def not_allowed(request: Request, _exc: Exception) -> JSONResponse:
        return error(405, f"method {request.method} is not allowed on {request.url.path}")

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: not_found, 405: not_allowed})
    app.add_middleware(HTTPMetrics, backend=backend, routes={route.path for route in routes})
    app.state.backend = backend
    return app


def _default_tools(settings: BackendSettings, metrics: BackendMetrics) -> ToolSet | None:
    if not settings.mcp_url:
        return None
    from mocks.agent_backend.mcp_tools import MCPToolSet

    return MCPToolSet(settings.mcp_url, metrics)


def _default_delegation(settings: BackendSettings, metrics: BackendMetrics) -> Delegation | None:
    if not settings.a2a_urls:
        return None
    from mocks.agent_backend.a2a_service import A2ACommunicationService

    return A2ACommunicationService(list(settings.a2a_urls), metrics)
