"""Run an ASGI app with uvicorn the way every service of the harness runs: uvloop, httptools,
structlog, no access log on the hot path, and a clean exit on SIGTERM or SIGINT."""

from __future__ import annotations

import errno
import importlib.util
import socket
from collections.abc import Callable
from typing import Any

import structlog
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

GRACEFUL_SHUTDOWN_S = 5


class PortInUseError(RuntimeError):
    """The port a service should listen on is taken."""


def check_port_free(host: str, port: int, component: str) -> None:
    """Raise :class:`PortInUseError` naming ``component`` when ``host:port`` cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(f"{component}: port {port} on {host} is already in use; "
                                     f"stop what holds it or choose another --port") from None
            raise PortInUseError(f"{component}: cannot listen on {host}:{port} ({error.strerror})") from None


def health_route() -> Route:
    """``GET /healthz`` answering ``{"status": "ok"}``."""

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Route("/healthz", healthz, methods=["GET"])


class _Server(uvicorn.Server):
    """uvicorn's server, telling the app the moment a stop signal arrives (before connections drain).

    uvicorn re-raises a caught SIGTERM/SIGINT after its graceful shutdown, so the process would end
    "killed by signal"; a stop we asked for is a clean exit, so the signal is not re-raised.
    """

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self._on_exit is not None and not self.should_exit:
            self._on_exit()
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def serve(app: Any, *, host: str, port: int, component: str, on_exit: Callable[[], None] | None = None,
          graceful_s: float = GRACEFUL_SHUTDOWN_S) -> None:
    """Serve ``app`` until SIGTERM/SIGINT; ``on_exit`` runs at the signal, open streams get ``graceful_s``."""
    log = structlog.get_logger(component)
    check_port_free(host, port, component)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=graceful_s,
        backlog=4096,
        limit_concurrency=None,
    )
    log.info("listening", host=host, port=port, url=f"http://{host}:{port}")
    _Server(config, on_exit).run()
    log.info("stopped", host=host, port=port)
