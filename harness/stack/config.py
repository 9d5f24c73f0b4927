"""What a stack is asked to be: its directory, ports, backend switches and where PostgreSQL lives."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from harness.stack.errors import StackError
from harness.stack.ports import HOST, StackPorts

PROMETHEUS_ENV = "HARNESS_PROMETHEUS_BIN"
EXPORTER_ENV = "HARNESS_POSTGRES_EXPORTER_BIN"
INSTALL_HINT = ("install it with `sudo bash scripts/install-system-packages.sh` (Debian/Ubuntu: apt-get install "
                "{package}); elsewhere download it from {download} and put it on PATH or set {env}")
MIN_SCRAPE_S, MAX_SCRAPE_S = 1.0, 5.0


@dataclass(frozen=True)
class Binary:
    """An external program the stack runs, how to find it and how to get it."""

    label: str
    names: tuple[str, ...]
    env: str
    package: str
    download: str

    def find(self) -> str | None:
        """``$env`` if set (must exist), else the first of ``names`` on PATH."""
        configured = os.environ.get(self.env)
        if configured:
            return configured if shutil.which(configured) else None
        return next(filter(None, map(shutil.which, self.names)), None)

    def require(self) -> str:
        """The path of the program, or a :class:`StackError` saying how to install it."""
        found = self.find()
        if found is None:
            where = f"${self.env}={os.environ[self.env]!r} is not an executable" if os.environ.get(self.env) else (
                f"`{self.names[0]}` is not on PATH")
            raise StackError(f"{self.label} binary not found ({where}); "
                             + INSTALL_HINT.format(package=self.package, download=self.download, env=self.env))
        return found


PROMETHEUS = Binary("Prometheus server", ("prometheus",), PROMETHEUS_ENV, "prometheus",
                    "https://prometheus.io/download/")
POSTGRES_EXPORTER = Binary("postgres_exporter", ("prometheus-postgres-exporter", "postgres_exporter"),
                           EXPORTER_ENV, "prometheus-postgres-exporter",
                           "https://github.com/prometheus-community/postgres_exporter/releases")


@dataclass(frozen=True)
class StackConfig:
    """Settings of one local stack. ``database_url`` set: use that PostgreSQL instead of the embedded one."""

    state_dir: Path
    ports: StackPorts = field(default_factory=StackPorts)
    defects: tuple[str, ...] = ()
    audit_log: bool = True
    database_url: str | None = None
    scrape_interval_s: float = 2.0
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if not MIN_SCRAPE_S <= self.scrape_interval_s <= MAX_SCRAPE_S:
            raise StackError(f"scrape interval {self.scrape_interval_s}s is outside "
                             f"{MIN_SCRAPE_S:g}..{MAX_SCRAPE_S:g}s")
        if self.database_url is not None:
            target = urlsplit(self.database_url)
            if target.scheme not in ("postgres", "postgresql") or not target.hostname:
                raise StackError(f"database URL {redact_url(self.database_url)!r} is not a postgresql://host[:port]/db "
                                 "URL")

    @property
    def embedded_postgres(self) -> bool:
        return self.database_url is None

    def settings(self) -> dict[str, Any]:
        """What a running stack must match for a second ``up`` to reuse it."""
        return {"defects": sorted(self.defects), "audit_log": self.audit_log,
                "database_url": redact_url(self.database_url) if self.database_url else None,
                "ports": self.ports.as_dict(), "scrape_interval_s": self.scrape_interval_s}

    def direct_database_url(self) -> str:
        """The database itself (not through the proxy): the embedded server, or the given URL."""
        return self.database_url or f"postgresql://postgres@{HOST}:{self.ports.postgres}/postgres"

    def database_upstream(self) -> str:
        """``host:port`` of the database, the upstream of the ``postgres`` proxy."""
        target = urlsplit(self.direct_database_url())
        return f"{target.hostname}:{target.port or 5432}"

    def proxied_database_url(self) -> str:
        """The database URL the backend uses: same user, password and database, host and port of the proxy."""
        return with_host_port(self.direct_database_url(), HOST, self.ports.proxy_postgres)


def with_host_port(url: str, host: str, port: int) -> str:
    """``url`` with its host and port replaced, credentials kept."""
    target = urlsplit(url)
    credentials = target.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{host}:{port}" if credentials else f"{host}:{port}"
    return urlunsplit(target._replace(netloc=netloc))


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for logs, errors and status output)."""
    target = urlsplit(url)
    if target.password is None:
        return url
    credentials, _, address = target.netloc.rpartition("@")
    user = credentials.partition(":")[0]
    return urlunsplit(target._replace(netloc=f"{user}:***@{address}"))
