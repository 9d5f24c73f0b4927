"""Prometheus metrics for a mock: its own registry, process metrics, active faults and ``/metrics``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mocks.common.faults import FaultBoard


class ActiveFaultsCollector(Collector):
    """``mock_active_faults{type}``: read from the board at scrape time, so it is never stale."""

    def __init__(self, board: FaultBoard, service: str) -> None:
        self.board = board
        self.service = service

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("mock_active_faults", "Faults active on this mock, by type",
                                   labels=["service", "type"])
        counts = Counter(fault.type for fault in self.board.active())
        for fault_type in self.board.catalog.types:
            family.add_metric([self.service, fault_type], counts.get(fault_type, 0))
        yield family


def new_registry(board: FaultBoard, service: str) -> CollectorRegistry:
    """A registry with process, platform and GC metrics plus the active-faults gauge."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(ActiveFaultsCollector(board, service))
    return registry


def metrics_route(registry: CollectorRegistry) -> Route:
    """``GET /metrics`` in the Prometheus text format."""

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics, methods=["GET"])
