"""A small HTTP/1.1 server (h11 over asyncio streams) with full control of status lines, headers and bodies,
so that responses match Go's ``net/http`` byte for byte where clients could notice."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import unquote

import h11
import structlog

log = structlog.get_logger("proxy.api")

READ_TIMEOUT_S = 15.0
IDLE_TIMEOUT_S = 60.0
MAX_BODY_BYTES = 16 * 1024 * 1024
READ_SIZE = 65536


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Request], Awaitable[Response]]


class HttpServer:
    """Serve ``handler`` on ``host:port`` until :meth:`close`."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self, host: str, port: int) -> int:
        """Listen (raises OSError when the port is taken) and return the bound port."""
        self._server = await asyncio.start_server(self._on_client, host, port, reuse_address=True)
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in self._connections.values():
            writer.transport.abort()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=5)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, h11.ProtocolError):
            pass
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        while True:
            request = await self._read_request(conn, reader, writer)
            if request is None:
                return
            response = await self._handle(request)
            await _send(conn, writer, response)
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _handle(self, request: Request) -> Response:
        try:
            return await self._handler(request)
        except Exception:
            log.exception("api handler failed", method=request.method, path=request.path)
            return Response(500, b"Internal Server Error\n", "text/plain; charset=utf-8")

    async def _read_request(self, conn: h11.Connection, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> Request | None:
        request: Request | None = None
        body = bytearray()
        first = True
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:
                await _send_bad_request(conn, writer)
                return None
            if event is h11.NEED_DATA:
                timeout = IDLE_TIMEOUT_S if first and request is None else READ_TIMEOUT_S
                data = await asyncio.wait_for(reader.read(READ_SIZE), timeout)
                conn.receive_data(data)
                first = False
                continue
            if isinstance(event, h11.Request):
                target = event.target.decode("latin-1").split("?", 1)[0]
                request = Request(event.method.decode("ascii").upper(), unquote(target),
                                  {name.decode("latin-1").lower(): value.decode("latin-1")
                                   for name, value in event.headers})
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_BODY_BYTES:
                    return None
            elif isinstance(event, h11.EndOfMessage):
                assert request is not None
                request.body = bytes(body)
                return request
            else:  # ConnectionClosed or PAUSED
                return None


async def _send(conn: h11.Connection, writer: asyncio.StreamWriter, response: Response) -> None:
    headers = [("Date", formatdate(usegmt=True)), *response.headers]
    if response.content_type is not None:
        headers.append(("Content-Type", response.content_type))
    if response.status not in (204, 304):
        headers.append(("Content-Length", str(len(response.body))))
    writer.write(conn.send(h11.Response(status_code=response.status, headers=headers,
                                        reason=_reason(response.status))))
    if response.body:
        writer.write(conn.send(h11.Data(data=response.body)))
    writer.write(conn.send(h11.EndOfMessage()))
    await writer.drain()


async def _send_bad_request(conn: h11.Connection, writer: asyncio.StreamWriter) -> None:
    if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    body = b"400 Bad Request"
    writer.write(conn.send(h11.Response(status_code=400, reason=b"Bad Request", headers=[
        ("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close"),
        ("Content-Length", str(len(body)))])))
    writer.write(conn.send(h11.Data(data=body)))
    writer.write(conn.send(h11.EndOfMessage()))
    await writer.drain()


REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 500: "Internal Server Error",
           503: "Service Unavailable"}


def _reason(status: int) -> bytes:
    return REASONS.get(status, "").encode()
