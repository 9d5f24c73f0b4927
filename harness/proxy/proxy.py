"""A named proxy: its listener, its live connections, and its toxics (which act on those connections)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from harness.proxy.address import LISTEN_BACKLOG, AddressError, bind_listener, resolved_listen
from harness.proxy.connection import ClientEndpoint, Connection
from harness.proxy.errors import TOXIC_NOT_FOUND, ProxyAlreadyStarted, internal
from harness.proxy.toxic import DOWNSTREAM, UPSTREAM, Toxic, ToxicUpdate

if TYPE_CHECKING:
    from harness.proxy.link import Link
    from harness.proxy.metrics import ProxyMetrics

log = structlog.get_logger("proxy")


class ToxicChain:
    """A proxy's toxics in insertion order; every change is applied to the live links at once."""

    def __init__(self, proxy: Proxy) -> None:
        self._proxy = proxy
        self._toxics: dict[str, Toxic] = {}
        self._expiry: dict[str, asyncio.TimerHandle] = {}

    def names(self) -> set[str]:
        return set(self._toxics)

    def get(self, name: str) -> Toxic:
        try:
            return self._toxics[name]
        except KeyError:
            raise TOXIC_NOT_FOUND from None

    def in_direction(self, direction: str) -> list[Toxic]:
        return [toxic for toxic in self._toxics.values() if toxic.direction == direction]

    def ordered(self) -> list[Toxic]:
        """Upstream toxics, then downstream ones, each in insertion order (the real server's listing order)."""
        return self.in_direction(UPSTREAM) + self.in_direction(DOWNSTREAM)

    def add(self, toxic: Toxic) -> None:
        self._toxics[toxic.name] = toxic
        for link in self._proxy.links(toxic.direction):
            link.add_toxic(toxic)
        self._arm_expiry(toxic)
        log.info("toxic added", proxy=self._proxy.name, toxic=toxic.name, type=toxic.kind.type_name,
                 stream=toxic.stream, attributes=toxic.attributes, toxicity=toxic.toxicity, ttl_s=toxic.ttl_s)

    def update(self, toxic: Toxic, change: ToxicUpdate) -> None:
        toxic.attributes = change.attributes
        if change.toxicity is not None:
            toxic.toxicity = change.toxicity
        if change.ttl_s is not None:
            toxic.ttl_s = change.ttl_s or None
            self._arm_expiry(toxic)
        for link in self._proxy.links(toxic.direction):
            link.update_toxic(toxic)
        log.info("toxic updated", proxy=self._proxy.name, toxic=toxic.name, attributes=toxic.attributes,
                 toxicity=toxic.toxicity, ttl_s=toxic.ttl_s)

    def remove(self, name: str, *, reason: str = "removed") -> None:
        toxic = self.get(name)
        del self._toxics[name]
        timer = self._expiry.pop(name, None)
        if timer is not None:
            timer.cancel()
        for link in self._proxy.links(toxic.direction):
            link.remove_toxic(toxic)
        log.info(f"toxic {reason}", proxy=self._proxy.name, toxic=name)

    def clear(self) -> None:
        for toxic in self.ordered():
            self.remove(toxic.name)

    def _arm_expiry(self, toxic: Toxic) -> None:
        timer = self._expiry.pop(toxic.name, None)
        if timer is not None:
            timer.cancel()
        if toxic.ttl_s is not None:
            self._expiry[toxic.name] = asyncio.get_running_loop().call_later(
                toxic.ttl_s, self._expire, toxic)

    def _expire(self, toxic: Toxic) -> None:
        if self._toxics.get(toxic.name) is toxic:
            self._expiry.pop(toxic.name, None)
            self.remove(toxic.name, reason="expired")


class Proxy:
    """Listens on ``listen`` and forwards every accepted connection to ``upstream``."""

    def __init__(self, name: str, listen: str, upstream: str, metrics: ProxyMetrics | None = None) -> None:
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.toxics = ToxicChain(self)
        self._metrics = metrics
        self._server: asyncio.Server | None = None
        self._connections: set[Connection] = set()

    @property
    def enabled(self) -> bool:
        return self._server is not None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "listen": self.listen, "upstream": self.upstream, "enabled": self.enabled,
                "Logger": {}, "toxics": [toxic.as_json() for toxic in self.toxics.ordered()]}

    # --- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and accept; raises ApiError 500 with the OS text when the address cannot be bound."""
        if self._server is not None:
            raise ProxyAlreadyStarted(self.name)
        sock, bound = bind_listener(self.listen)
        loop = asyncio.get_running_loop()
        factory: Callable[[], asyncio.Protocol] = lambda: ClientEndpoint(self)  # noqa: E731
        try:
            self._server = await loop.create_server(factory, sock=sock, backlog=LISTEN_BACKLOG)
        except OSError as error:
            sock.close()
            raise internal(str(error)) from None
        self.listen = bound
        log.info("proxy started", proxy=self.name, listen=self.listen, upstream=self.upstream)

    def stop(self) -> None:
        """Close the listener and every connection at once (held data is discarded). Idempotent."""
        if self._server is None:
            return
        self._server.close()
        self._server = None
        for connection in list(self._connections):
            connection.close()
        log.info("proxy stopped", proxy=self.name, listen=self.listen)

    def differs(self, listen: str, upstream: str) -> bool:
        """Whether ``listen``/``upstream`` name another address (Toxiproxy 2.12's hostname-aware rule)."""
        try:
            resolved = resolved_listen(listen)
        except AddressError as error:
            raise internal(str(error)) from None
        return self.listen != resolved or self.upstream != upstream

    async def update(self, listen: str, upstream: str, enabled: bool) -> None:
        """Apply an update: a changed address restarts the proxy there; ``enabled`` starts or stops it."""
        if self.differs(listen, upstream):
            self.stop()
            self.listen, self.upstream = listen, upstream
        if enabled and not self.enabled:
            await self.start()
        elif not enabled:
            self.stop()

    # --- connections ----------------------------------------------------------------------------------------

    def track(self, connection: Connection) -> None:
        self._connections.add(connection)

    def forget(self, connection: Connection) -> None:
        self._connections.discard(connection)
        if self._metrics is not None:
            for link in connection.links.values():
                self._metrics.link_closed(self, link.direction, link.received, link.sent)

    def links(self, direction: str) -> list[Link]:
        return [connection.links[direction] for connection in self._connections if direction in connection.links]

    @property
    def connection_count(self) -> int:
        return len(self._connections)
