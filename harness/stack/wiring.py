"""The named fault proxies in front of every dependency of the backend, and the scrape targets.

The backend reaches each dependency only through a proxy of the embedded Toxiproxy server, named so that
experiments can address it: ``openai``, ``a2a``, ``mcp``, ``weather`` and ``postgres``. The MCP tool server
reaches the weather API through the ``weather`` proxy too.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.stack.config import StackConfig
from harness.stack.ports import HOST


@dataclass(frozen=True)
class ProxyRoute:
    """One proxy: its Toxiproxy name, its listen port's name and the port name of the service behind it."""

    name: str
    listen_port: str
    upstream_port: str


ROUTES = (
    ProxyRoute("openai", "proxy_openai", "openai"),
    ProxyRoute("a2a", "proxy_a2a", "a2a"),
    ProxyRoute("mcp", "proxy_mcp", "tools"),
    ProxyRoute("weather", "proxy_weather", "weather"),
    ProxyRoute("postgres", "proxy_postgres", "postgres"),
)
PROXY_NAMES = tuple(route.name for route in ROUTES)

# Prometheus job name → port name of what it scrapes (``/metrics`` on each).
SCRAPE_JOBS = {"backend": "backend", "openai": "openai", "a2a": "a2a", "tools": "tools", "weather": "weather",
               "proxy": "proxy", "postgres": "postgres_exporter", "prometheus": "prometheus"}


def proxy_definitions(config: StackConfig) -> list[dict[str, str]]:
    """The proxies in Toxiproxy's ``/populate`` format (``name``, ``listen``, ``upstream``, ``enabled``)."""
    ports = config.ports
    definitions = []
    for route in ROUTES:
        upstream = (config.database_upstream() if route.name == "postgres"
                    else f"{HOST}:{getattr(ports, route.upstream_port)}")
        definitions.append({"name": route.name, "listen": f"{HOST}:{getattr(ports, route.listen_port)}",
                            "upstream": upstream, "enabled": True})
    return definitions


def proxied_url(config: StackConfig, proxy: str, path: str = "") -> str:
    """``http://127.0.0.1:<listen port of proxy>`` + ``path``."""
    route = next(route for route in ROUTES if route.name == proxy)
    return f"http://{HOST}:{getattr(config.ports, route.listen_port)}{path}"
