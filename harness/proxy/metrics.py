"""``/metrics`` (off unless asked for): Toxiproxy's per-proxy byte counters, added when a connection ends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from harness.proxy.proxy import Proxy

LABELS = ("direction", "proxy", "listener", "upstream")


class ProxyMetrics:
    """``toxiproxy_proxy_received_bytes_total`` and ``toxiproxy_proxy_sent_bytes_total`` in a private registry."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.received = Counter("toxiproxy_proxy_received_bytes_total", "Bytes read from the link's source",
                                LABELS, registry=self.registry)
        self.sent = Counter("toxiproxy_proxy_sent_bytes_total", "Bytes written to the link's destination",
                            LABELS, registry=self.registry)

    def link_closed(self, proxy: Proxy, direction: str, received: int, sent: int) -> None:
        labels = (direction, proxy.name, proxy.listen, proxy.upstream)
        self.received.labels(*labels).inc(received)
        self.sent.labels(*labels).inc(sent)

    def render(self) -> bytes:
        return generate_latest(self.registry)
