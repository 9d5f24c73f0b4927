"""Assembly of the A2A mock: agent card, JSON-RPC (A2A 1.0 and 0.3), fault control API, health, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

import structlog
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from starlette.applications import Starlette
from starlette.routing import Route

from mocks.a2a.agent import ResearchAgentExecutor
from mocks.a2a.card import build_agent_card
from mocks.a2a.faults import A2A_FAULTS
from mocks.a2a.metrics import A2AMetrics
from mocks.a2a.rpc import RpcEndpoint
from mocks.a2a.sdk_logs import quiet_sdk_client_errors
from mocks.a2a.store import BoundedTaskStore
from mocks.common.control import control_routes
from mocks.common.faults import FaultBoard
from mocks.common.metrics import metrics_route, new_registry
from mocks.common.server import health_route

log = structlog.get_logger("mock-a2a")

RPC_PATH = "/"


@dataclass
class A2ASettings:
    """How the A2A mock behaves; ``public_url`` is the base URL written into the agent card."""

    processing_ms: float = 50.0
    agent_name: str = "research-agent"
    public_url: str = "http://127.0.0.1:18082"
    control_token: str | None = None
    default_fault_ttl_s: float = 300.0
    max_finished_tasks: int = 5000

    def __post_init__(self) -> None:
        if self.processing_ms < 0:
            raise ValueError(f"processing_ms must be >= 0, not {self.processing_ms}")
        if self.default_fault_ttl_s <= 0:
            raise ValueError(f"default_fault_ttl_s must be > 0, not {self.default_fault_ttl_s}")
        if not self.agent_name.strip():
            raise ValueError("agent_name must not be empty")

    @property
    def rpc_url(self) -> str:
        """The JSON-RPC endpoint announced in the card."""
        return self.public_url.rstrip("/") + RPC_PATH


def _release_stalled_tasks(board: FaultBoard) -> None:
    """At a stop signal: end every fault so stalled tasks finish instead of holding the shutdown.

    Safe to call from a signal handler: the board is cleared on the event loop when one is running.
    """
    try:
        asyncio.get_running_loop().call_soon_threadsafe(board.clear)
    except RuntimeError:
        board.clear()


def create_app(settings: A2ASettings) -> Starlette:
    """The ASGI app; ``app.state`` exposes ``board``, ``registry``, ``metrics`` and ``store`` to tests,
    and ``begin_shutdown`` for ``serve(..., on_exit=...)`` (releases stalled tasks at the stop signal)."""
    quiet_sdk_client_errors()
    board = FaultBoard(A2A_FAULTS, default_ttl_s=settings.default_fault_ttl_s)
    registry = new_registry(board, "a2a")
    metrics = A2AMetrics.register(registry)
    store = BoundedTaskStore(settings.max_finished_tasks)
    metrics.stored_tasks.set_function(lambda: len(store))
    card = build_agent_card(settings.agent_name, settings.rpc_url)
    executor = ResearchAgentExecutor(agent_name=settings.agent_name, processing_s=settings.processing_ms / 1000,
                                     board=board, metrics=metrics)
    handler = DefaultRequestHandler(agent_executor=executor, task_store=store, agent_card=card)
    rpc = RpcEndpoint(JsonRpcDispatcher(handler, enable_v0_3_compat=True), board, metrics)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        log.info("a2a_mock_ready", agent_name=settings.agent_name, rpc_url=settings.rpc_url,
                 processing_ms=settings.processing_ms, fault_types=sorted(A2A_FAULTS.types))
        yield
        cleared = board.clear()
        await handler.aclose()
        log.info("a2a_mock_drained", faults_cleared=cleared)

    routes = [
        *create_agent_card_routes(card),
        Route(RPC_PATH, rpc.handle, methods=["POST"]),
        health_route(),
        metrics_route(registry),
        *control_routes(board, token=settings.control_token),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.begin_shutdown = partial(_release_stalled_tasks, board)
    app.state.board = board
    app.state.registry = registry
    app.state.metrics = metrics
    app.state.store = store
    return app
