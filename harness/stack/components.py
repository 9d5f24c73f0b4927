"""The stack's processes: for each one its command line, URL, health check and the ports it binds."""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.stack.config import POSTGRES_EXPORTER, PROMETHEUS, StackConfig, redact_url
from harness.stack.ports import HOST
from harness.stack.prometheus import command as prometheus_command
from harness.stack.wiring import proxied_url


@dataclass(frozen=True)
class Layout:
    """Where things go inside the state directory."""

    root: Path

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def prometheus(self) -> Path:
        return self.root / "prometheus"

    @property
    def postgres_data(self) -> Path:
        return self.root / "postgres" / "data"

    @property
    def proxies_file(self) -> Path:
        return self.root / "proxies.json"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def created(self) -> list[Path]:
        """Everything ``up`` creates here (``down`` removes it)."""
        return [self.logs, self.prometheus, self.root / "postgres", self.proxies_file]


@dataclass(frozen=True)
class ProcessSpec:
    """One process to start: ``health_url`` is ``http://...`` (must answer 200) or ``tcp://host:port``."""

    name: str
    command: list[str]
    url: str
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    stop_signal: int = signal.SIGTERM


def _http(port: int, path: str = "") -> str:
    return f"http://{HOST}:{port}{path}"


def _harness(*args: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", *args]


def stand_ins(config: StackConfig, layout: Layout) -> list[ProcessSpec]:
    """The fault proxy and the four dependency stand-ins (none needs another to start)."""
    ports = config.ports

    def mock(kind: str, port: int, *extra: str) -> ProcessSpec:
        return ProcessSpec(kind, _harness("mock", kind, "--host", HOST, "--port", str(port), *extra), _http(port),
                           _http(port, "/healthz"))

    return [
        ProcessSpec("proxy", _harness("proxy", "serve", "--host", HOST, "--port", str(ports.proxy), "--config",
                                      str(layout.proxies_file), "--metrics"),
                    _http(ports.proxy), _http(ports.proxy, "/version")),
        mock("weather", ports.weather),
        mock("openai", ports.openai),
        mock("a2a", ports.a2a),
        mock("tools", ports.tools, "--weather-url", proxied_url(config, "weather")),
    ]


def prometheus(config: StackConfig, layout: Layout, config_file: Path) -> ProcessSpec:
    """The real Prometheus server (binary found on PATH or via ``$HARNESS_PROMETHEUS_BIN``)."""
    port = config.ports.prometheus
    return ProcessSpec("prometheus", prometheus_command(PROMETHEUS.require(), config_file,
                                                        layout.prometheus / "data", port),
                       _http(port), _http(port, "/-/ready"))


def postgres_exporter(config: StackConfig) -> ProcessSpec:
    """postgres_exporter, connected straight to the database (DB faults must not blind the DB metrics)."""
    port = config.ports.postgres_exporter
    url = config.direct_database_url()
    if "sslmode=" not in url:
        url += ("&" if "?" in url else "?") + "sslmode=disable"
    return ProcessSpec("postgres_exporter", [POSTGRES_EXPORTER.require(), f"--web.listen-address={HOST}:{port}",
                                             "--log.format=json"],
                       _http(port), _http(port, "/"), env={"DATA_SOURCE_NAME": url})


def backend(config: StackConfig) -> ProcessSpec:
    """The reference backend, every dependency reached through its named proxy."""
    port = config.ports.backend
    command = _harness("backend", "--host", HOST, "--port", str(port),
                       "--database-url", config.proxied_database_url(),
                       "--openai-base-url", proxied_url(config, "openai", "/v1"),
                       "--mcp-url", proxied_url(config, "mcp", "/mcp"),
                       "--a2a-url", proxied_url(config, "a2a"),
                       "--audit-log", "on" if config.audit_log else "off")
    if config.defects:
        command += ["--defects", ",".join(config.defects)]
    return ProcessSpec("backend", command, _http(port), _http(port, "/readyz"))


def postgres_url(config: StackConfig) -> str:
    """The database URL shown in status output (password masked)."""
    return redact_url(config.direct_database_url())


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """Our environment plus ``extra``, unbuffered output so logs are current."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
