"""Helpers for the proxy tests: an upstream echo server and a blocking TCP peer with timings."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from dataclasses import dataclass

import httpx

IO_TIMEOUT_S = 5.0


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.accepted += 1  # type: ignore[attr-defined]
        while True:
            try:
                data = self.request.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.request.sendall(data)


class EchoServer(socketserver.ThreadingTCPServer):
    """Echoes every byte back; counts accepted connections."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.accepted = 0
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def listen_port(proxy_json: dict) -> int:
    return int(proxy_json["listen"].rsplit(":", 1)[1])


def create_proxy(api: httpx.Client, name: str, upstream: str, **extra: object) -> int:
    """Create a proxy on a random loopback port; returns that port."""
    response = api.post("/proxies", json={"name": name, "listen": "127.0.0.1:0", "upstream": upstream, **extra})
    assert response.status_code == 201, response.text
    return listen_port(response.json())


def add_toxic(api: httpx.Client, proxy: str, toxic_type: str, **body: object) -> dict:
    response = api.post(f"/proxies/{proxy}/toxics", json={"type": toxic_type, **body})
    assert response.status_code == 200, response.text
    return response.json()


@dataclass
class Peer:
    """A blocking client socket to a proxy."""

    sock: socket.socket

    @classmethod
    def connect(cls, port: int) -> Peer:
        sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock)

    def recv_exact(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            piece = self.sock.recv(size - len(data))
            if not piece:
                raise EOFError(f"EOF after {len(data)} of {size} bytes")
            data += piece
        return bytes(data)

    def roundtrip_ms(self, message: bytes = b"ping") -> float:
        """Send ``message``, wait for the echo; milliseconds taken."""
        started = time.perf_counter()
        self.sock.sendall(message)
        assert self.recv_exact(len(message)) == message
        return (time.perf_counter() - started) * 1000

    def read_until_closed(self) -> bytes:
        """Everything until EOF (a reset raises ConnectionResetError)."""
        data = bytearray()
        while piece := self.sock.recv(65536):
            data += piece
        return bytes(data)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
