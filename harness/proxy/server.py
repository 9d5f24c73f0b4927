"""The embedded server as a library: :class:`ProxyServer` in a running loop, or
:class:`BackgroundProxyServer` on its own thread for synchronous code and tests."""

from __future__ import annotations

import asyncio
import errno
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import structlog

from harness.proxy.api import ToxiproxyApi
from harness.proxy.collection import PopulateError, ProxyCollection, populate_specs
from harness.proxy.errors import ApiError
from harness.proxy.http import HttpServer
from harness.proxy.jsonbody import parse_body
from harness.proxy.metrics import ProxyMetrics

log = structlog.get_logger("proxy")


class PortInUseError(RuntimeError):
    """The API port cannot be bound."""


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when uvloop is installed, else the default asyncio loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class ProxyServer:
    """Toxiproxy-compatible API on ``host:port`` (port 0 picks a free one; see :attr:`port`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8474, *, metrics: bool = False,
                 config: Path | str | None = None) -> None:
        self.host = host
        self.port = port
        self.config = Path(config) if config is not None else None
        self.metrics = ProxyMetrics() if metrics else None
        self.proxies = ProxyCollection(self.metrics)
        self._http = HttpServer(ToxiproxyApi(self.proxies, self.metrics))

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Populate from ``config`` (errors are logged, as toxiproxy-server does), then serve the API."""
        if self.config is not None:
            await self.populate_from_file(self.config)
        try:
            self.port = await self._http.start(self.host, self.port)
        except OSError as error:
            self.proxies.clear()
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(f"port {self.port} on {self.host} is already in use; stop what holds it "
                                     "or choose another --port") from None
            raise PortInUseError(f"cannot listen on {self.host}:{self.port} ({error.strerror})") from None
        log.info("api listening", host=self.host, port=self.port, url=self.url, metrics=self.metrics is not None)

    async def stop(self) -> None:
        """Close the API and every proxy with its connections."""
        await self._http.close()
        self.proxies.clear()
        log.info("api stopped", host=self.host, port=self.port)

    async def populate_from_file(self, path: Path) -> None:
        try:
            specs = populate_specs(parse_body(await asyncio.to_thread(path.read_bytes)))
            created = await self.proxies.populate(specs)
        except OSError as error:
            log.error("cannot read config file", config=str(path), error=str(error))
        except ApiError as error:
            log.error("failed to populate proxies from file", config=str(path), error=error.message)
        except PopulateError as failure:
            log.error("failed to populate proxies from file", config=str(path), error=failure.error.message)
        else:
            log.info("populated proxies from file", config=str(path), proxies=len(created))

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()


class BackgroundProxyServer:
    """A :class:`ProxyServer` running on a daemon thread with its own (uv)loop."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, metrics: bool = False,
                 config: Path | str | None = None) -> None:
        self._args = (host, port, metrics, config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.server: ProxyServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None, "start() first"
        return self.server.url

    @property
    def port(self) -> int:
        assert self.server is not None, "start() first"
        return self.server.port

    def start(self, timeout: float = 10.0) -> Self:
        ready = threading.Event()
        failure: list[BaseException] = []
        self._loop = new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            host, port, metrics, config = self._args
            self.server = ProxyServer(host, port, metrics=metrics, config=config)
            try:
                self._loop.run_until_complete(self.server.start())
            except BaseException as error:
                failure.append(error)
                self._loop.close()
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self.server.stop())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="toxiproxy-embedded", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("embedded proxy server did not start")
        if failure:
            raise failure[0]
        return self

    def call[T](self, coroutine_factory: Callable[[], Coroutine[Any, Any, T]], timeout: float = 10.0) -> T:
        """Run ``coroutine_factory()`` on the server's loop and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine_factory(), self._loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
