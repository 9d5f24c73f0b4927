"""A small HTTP/1.1 client over a plain socket that hands over a response body as its bytes arrive.

Locust's clients buffer streamed bodies (FastHttpUser's ``iter_content`` waits for 1 KB; ``stream=True``
timing stops at the headers), which turns a 200 ms time to first token into 450 ms. Here every ``recv`` is
passed on at once with the ``time.perf_counter()`` stamp of its arrival. Inside Locust the socket module is
gevent's (monkey-patched), so a blocked read yields to other users; elsewhere it is an ordinary socket.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.load.safety import Target

RECV_SIZE = 65536
MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024


class WireError(Exception):
    """A transport failure; ``kind`` is one of the fixed failure kinds (``connect``, ``timeout``, ...)."""

    kind = "other"


class ConnectFailed(WireError):
    kind = "connect"


class ReadTimeout(WireError):
    kind = "timeout"


class StreamBroken(WireError):
    """The connection ended (reset or closed) before the body did."""

    kind = "stream_broken"


class ProtocolError(WireError):
    kind = "protocol"


class HttpStatusError(WireError):
    """A response status other than the one expected; ``kind`` is ``http_4xx``, ``http_429`` or ``http_5xx``."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status
        self.body = body
        self.kind = "http_429" if status == 429 else f"http_{status // 100}xx"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _ChunkedDecoder:
    """Incremental ``Transfer-Encoding: chunked`` decoding; ``done`` after the last (empty) chunk."""

    def __init__(self) -> None:
        self._buf = b""
        self._left = 0  # data bytes left in the current chunk, then its CRLF
        self._crlf = False
        self.done = False

    def feed(self, data: bytes) -> bytes:
        buf = self._buf + data if self._buf else data
        out: list[bytes] = []
        pos, end = 0, len(buf)
        while pos < end and not self.done:
            if self._left:
                take = min(self._left, end - pos)
                out.append(buf[pos:pos + take])
                pos += take
                self._left -= take
                self._crlf = self._left == 0
                continue
            if self._crlf:
                if end - pos < 2:
                    break
                pos += 2
                self._crlf = False
                continue
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                if end - pos > 1024:
                    raise ProtocolError("chunk size line longer than 1 KB")
                break
            try:
                size = int(buf[pos:eol].split(b";", 1)[0], 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size line {buf[pos:eol][:40]!r}") from None
            pos = eol + 2
            if size == 0:
                self.done = True
            self._left = size
        self._buf = buf[pos:] if pos < end else b""
        return b"".join(out) if len(out) != 1 else out[0]


class BodyStream:
    """A response body read as it arrives: ``chunks()`` yields ``(bytes, perf_counter at arrival)``."""

    def __init__(self, connection: Connection, headers: dict[str, str], leftover: bytes) -> None:
        self._connection = connection
        self._leftover = leftover
        self.headers = headers
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self._decoder = _ChunkedDecoder() if self._chunked else None
        length = headers.get("content-length")
        self._left = int(length) if length is not None and not self._chunked else None
        self.complete = False

    def read(self, timeout: float) -> tuple[bytes, float] | None:
        """The next decoded bytes and the ``perf_counter`` of their arrival; ``None`` at the end of the body.

        One call waits at most ``timeout`` seconds for bytes (:class:`ReadTimeout` after that).
        """
        if self.complete:
            return None
        sock = self._connection.sock
        if sock is None:
            raise StreamBroken("connection already closed")
        sock.settimeout(timeout)
        while True:
            if self._leftover:
                pending, stamp, self._leftover = self._leftover, time.perf_counter(), b""
            else:
                try:
                    pending = sock.recv(RECV_SIZE)
                except TimeoutError:
                    raise ReadTimeout(f"no bytes for {timeout:g}s") from None
                except OSError as error:
                    raise StreamBroken(f"connection error: {error}") from None
                stamp = time.perf_counter()
                if not pending:
                    if self._decoder is None and self._left is None:
                        self.complete = True
                        return None
                    raise StreamBroken("connection closed before the end of the body")
            data = self._decode(pending)
            if data:
                return data, stamp
            if self.complete:
                return None

    def chunks(self, timeout: float) -> Iterator[tuple[bytes, float]]:
        """Decoded body bytes as they arrive, until the end of the body."""
        while (item := self.read(timeout)) is not None:
            yield item

    def _decode(self, data: bytes) -> bytes:
        if self._decoder is not None:
            decoded = self._decoder.feed(data)
            self.complete = self._decoder.done
            return decoded
        if self._left is not None:
            decoded = data[:self._left]
            self._left -= len(decoded)
            self.complete = self._left == 0
            return decoded
        return data

    def read_all(self, timeout: float, limit: int = MAX_BODY) -> bytes:
        parts, size = [], 0
        for data, _ in self.chunks(timeout):
            parts.append(data)
            size += len(data)
            if size > limit:
                raise ProtocolError(f"response body over {limit} bytes")
        return b"".join(parts)


class Connection:
    """One HTTP/1.1 connection to an allowed :class:`Target`, opened on first use and kept alive when possible."""

    def __init__(self, target: Target, *, connect_timeout: float = 10.0, read_timeout: float = 60.0) -> None:
        self.target = target
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.sock: socket.socket | None = None  # type: ignore[assignment]
        self._reusable = False

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection((self.target.host, self.target.port), timeout=self.connect_timeout)
        except TimeoutError:
            raise ConnectFailed(f"connect to {self.target.url} timed out after {self.connect_timeout:g}s") from None
        except OSError as error:
            raise ConnectFailed(f"connect to {self.target.url}: {error.strerror or error}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str] | None) -> None:
        if self.sock is None or not self._reusable:
            self.close()
            self.sock = self._connect()
        self._reusable = False
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.target.host}:{self.target.port}",
                 "User-Agent: harness-load/1"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        try:
            self.sock.sendall(head + body if body else head)
        except OSError as error:
            self.close()
            raise StreamBroken(f"send failed: {error}") from None

    def _read_head(self) -> tuple[int, dict[str, str], bytes]:
        assert self.sock is not None
        self.sock.settimeout(self.read_timeout)
        buf = b""
        while b"\r\n\r\n" not in buf:
            try:
                data = self.sock.recv(RECV_SIZE)
            except TimeoutError:
                raise ReadTimeout(f"no response head in {self.read_timeout:g}s") from None
            except OSError as error:
                raise StreamBroken(f"connection error: {error}") from None
            if not data:
                raise StreamBroken("connection closed before the response head")
            buf += data
            if len(buf) > MAX_HEAD:
                raise ProtocolError("response head over 64 KB")
        head, _, rest = buf.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(status_line.split(" ", 2)[1])
        except (IndexError, ValueError):
            raise ProtocolError(f"bad status line {status_line[:60]!r}") from None
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, rest

    def open(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, BodyStream]:
        """Send a request and return its status and body stream (headers read, body not yet)."""
        self._send(method, path, body, headers)
        try:
            status, response_headers, rest = self._read_head()
        except WireError:
            self.close()
            raise
        return status, BodyStream(self, response_headers, rest)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Response:
        """A whole request and response (the body read up to 1 MiB)."""
        status, stream = self.open(method, path, body, headers)
        try:
            data = stream.read_all(self.read_timeout)
        except WireError:
            self.close()
            raise
        self.release(stream)
        return Response(status, stream.headers, data)

    def post_json(self, path: str, payload: Any) -> Response:
        return self.request("POST", path, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def release(self, stream: BodyStream) -> None:
        """Keep the connection for the next request if ``stream`` was read to its end, else close it."""
        self._reusable = stream.complete and stream.headers.get("connection", "").lower() != "close"
        if not self._reusable:
            self.close()

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None
        self._reusable = False
