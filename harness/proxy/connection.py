"""A proxied TCP connection: the client socket, the upstream socket, and the two links between them."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import TYPE_CHECKING, cast

import structlog

from harness.proxy.address import AddressError, parse_port, split_host_port
from harness.proxy.link import Link
from harness.proxy.toxic import DOWNSTREAM, UPSTREAM

if TYPE_CHECKING:
    from harness.proxy.proxy import Proxy

log = structlog.get_logger("proxy")

LINGER_ZERO = struct.pack("ii", 1, 0)


class Endpoint(asyncio.Protocol):
    """One socket of a connection: what it reads feeds one link, and it is the destination of the other."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.transport: asyncio.Transport | None = None
        self.reads: Link | None = None
        self.writes: Link | None = None
        self.lost = False
        self._early: list[bytes] = []
        self._early_eof = False

    def attach(self, reads: Link, writes: Link) -> None:
        """Connect this socket to its links, handing over anything read before they existed."""
        self.reads, self.writes = reads, writes
        for data in self._early:
            reads.feed(data)
        self._early.clear()
        if self._early_eof or self.lost:
            reads.feed_eof()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses

    def data_received(self, data: bytes) -> None:
        if self.reads is not None:
            self.reads.feed(data)
        else:
            self._early.append(data)

    def eof_received(self) -> bool:
        if self.reads is not None:
            self.reads.feed_eof()
        else:
            self._early_eof = True
        return True  # keep the socket open for writing until the other link has drained

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.reads is not None:
            self.reads.feed_eof()
        if self.writes is not None:
            self.writes.dest_lost()
        self.connection.endpoint_lost()

    def pause_writing(self) -> None:
        if self.writes is not None:
            self.writes.set_dest_full(True)

    def resume_writing(self) -> None:
        if self.writes is not None:
            self.writes.set_dest_full(False)

    def abort(self, *, reset: bool = False) -> None:
        """Close the socket now, discarding what is buffered; with ``reset`` the peer gets a TCP RST."""
        if self.transport is None or self.lost:
            return
        if reset:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ZERO)
        self.transport.abort()


class ClientEndpoint(Endpoint):
    """The accepted client socket: it starts the connection (and the upstream dial) when it is made."""

    def __init__(self, proxy: Proxy) -> None:
        super().__init__(Connection(proxy, self))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.connection.start()


class Connection:
    """Dials the upstream for an accepted client, then runs the two links until both sockets are closed."""

    def __init__(self, proxy: Proxy, client: Endpoint) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = Endpoint(self)
        self.links: dict[str, Link] = {}
        self._dial: asyncio.Task[None] | None = None
        self._dialing = True
        self._ended = False

    def start(self) -> None:
        assert self.client.transport is not None
        self.client.transport.pause_reading()
        self.proxy.track(self)
        self._dial = asyncio.get_running_loop().create_task(self._connect_upstream())

    async def _connect_upstream(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            host, port_text = split_host_port(self.proxy.upstream)
            port = parse_port(port_text, self.proxy.upstream)
            await loop.create_connection(lambda: self.upstream, host or None, port)
        except (OSError, AddressError) as error:
            log.warning("upstream dial failed", proxy=self.proxy.name, upstream=self.proxy.upstream,
                        error=str(error))
            self.client.abort()
        else:
            if self.client.lost:
                self.upstream.abort()
            else:
                self._link_up()
        finally:
            self._dialing = False
            self.endpoint_lost()

    def _link_up(self) -> None:
        toxics = self.proxy.toxics
        self.links[UPSTREAM] = Link(UPSTREAM, self.client, self.upstream, toxics.in_direction(UPSTREAM),
                                    self.reset)
        self.links[DOWNSTREAM] = Link(DOWNSTREAM, self.upstream, self.client, toxics.in_direction(DOWNSTREAM),
                                      self.reset)
        self.client.attach(reads=self.links[UPSTREAM], writes=self.links[DOWNSTREAM])
        self.upstream.attach(reads=self.links[DOWNSTREAM], writes=self.links[UPSTREAM])
        assert self.client.transport is not None
        self.client.transport.resume_reading()

    def close(self) -> None:
        """Drop the connection at once (proxy disabled, deleted or re-addressed)."""
        self._abort(reset=False)

    def reset(self) -> None:
        """Reset both sockets (reset_peer)."""
        self._abort(reset=True)

    def _abort(self, *, reset: bool) -> None:
        if self._dial is not None and not self._dial.done():
            self._dial.cancel()
        for link in self.links.values():
            link.shutdown()
        self.client.abort(reset=reset)
        self.upstream.abort(reset=reset)

    def endpoint_lost(self) -> None:
        """Called as each socket closes; once both are gone the proxy forgets the connection."""
        upstream_gone = self.upstream.lost or self.upstream.transport is None
        if self._ended or self._dialing or not self.client.lost or not upstream_gone:
            return
        self._ended = True
        self.proxy.forget(self)
