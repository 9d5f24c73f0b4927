"""Toxiproxy-API-compatible TCP fault proxy: the embedded default for machines without Docker or Go.

``harness proxy serve`` runs it like ``toxiproxy-server``; :class:`ProxyServer` (async) and
:class:`BackgroundProxyServer` (own thread) run it in-process. See ``docs/proxy.md``.
"""

from harness.proxy.server import BackgroundProxyServer, PortInUseError, ProxyServer

__all__ = ["BackgroundProxyServer", "PortInUseError", "ProxyServer"]
