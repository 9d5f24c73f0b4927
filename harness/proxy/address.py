"""``host:port`` strings as Go's ``net`` package reads, resolves, binds and prints them."""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass

from harness.proxy.errors import ApiError, internal

LISTEN_BACKLOG = 4096


class AddressError(ValueError):
    """An address that Go's resolver rejects; the message is Go's text (without the ``listen tcp:`` prefix)."""


def split_host_port(address: str) -> tuple[str, str]:
    """Split ``host:port`` like Go's ``net.SplitHostPort`` (``[v6]:port`` included)."""
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise AddressError(f"address {address}: missing ']' in address")
        host, rest = address[1:end], address[end + 1:]
        if not rest.startswith(":"):
            raise AddressError(f"address {address}: missing port in address")
        return host, rest[1:]
    colon = address.rfind(":")
    if colon < 0:
        raise AddressError(f"address {address}: missing port in address")
    host, port = address[:colon], address[colon + 1:]
    if ":" in host:
        raise AddressError(f"address {address}: too many colons in address")
    return host, port


def parse_port(port: str, address: str) -> int:
    if port == "":
        return 0
    if not port.isdigit():
        try:
            return socket.getservbyname(port, "tcp")
        except OSError:
            raise AddressError(f"lookup tcp/{port}: unknown port") from None
    number = int(port)
    if number > 65535:
        raise AddressError(f"address {address}: invalid port")
    return number


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def resolve_ip(host: str) -> str:
    """The IP Go picks for ``host`` (IPv4 first, as Go's resolver does for ``tcp``)."""
    try:
        return str(ipaddress.ip_address(host.split("%")[0]))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise AddressError(f"lookup {host}: no such host") from None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    return str(infos[0][4][0])


def resolved_listen(address: str) -> str:
    """``net.ResolveTCPAddr(address).String()``: the string Toxiproxy compares to decide "differs"."""
    host, port_text = split_host_port(address)
    port = parse_port(port_text, address)
    if host == "":
        return f":{port}"
    return join_host_port(resolve_ip(host), port)


@dataclass(frozen=True)
class BindTarget:
    """Where to bind: family, IP, port, and whether it is the dual-stack wildcard."""

    family: socket.AddressFamily
    ip: str
    port: int
    wildcard: bool


def bind_target(address: str) -> BindTarget:
    host, port_text = split_host_port(address)
    port = parse_port(port_text, address)
    ip = "" if host == "" else resolve_ip(host)
    if ip in ("", "0.0.0.0", "::"):
        return BindTarget(socket.AF_INET6, "::", port, wildcard=True)
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    return BindTarget(family, ip, port, wildcard=False)


def bind_listener(address: str) -> tuple[socket.socket, str]:
    """A listening socket for ``address`` and its bound address as Go prints it.

    Raises :class:`ApiError` 500 with Go's text (``listen tcp 127.0.0.1:3310: bind: address already in use``).
    """
    try:
        target = bind_target(address)
    except AddressError as error:
        raise internal(f"listen tcp: {error}") from None
    try:
        return _bind(target)
    except OSError as error:
        if target.wildcard and error.errno in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):  # no IPv6: IPv4 only
            return _bind(BindTarget(socket.AF_INET, "0.0.0.0", target.port, wildcard=True))
        raise _bind_error(target, error) from None


def _bind(target: BindTarget) -> tuple[socket.socket, str]:
    sock = socket.socket(target.family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if target.family == socket.AF_INET6 and target.wildcard:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((target.ip, target.port))
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    bound_ip, bound_port = sock.getsockname()[:2]
    return sock, join_host_port(bound_ip, bound_port)


def _bind_error(target: BindTarget, error: OSError) -> ApiError:
    reason = (error.strerror or str(error)).strip()
    reason = reason[:1].lower() + reason[1:]
    shown = join_host_port(target.ip, target.port) if not target.wildcard else f":{target.port}"
    return internal(f"listen tcp {shown}: bind: {reason}")
