"""The stack's TCP ports: a 17xxx block by default (clear of common services), each one configurable."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace

from harness.stack.errors import StackError
from mocks.common.server import PortInUseError, check_port_free

HOST = "127.0.0.1"
PORTS_ENV = "HARNESS_STACK_PORTS"


@dataclass(frozen=True)
class StackPorts:
    """Every port the stack listens on. ``proxy_*`` are the fault proxy's listeners in front of a dependency."""

    backend: int = 17080
    openai: int = 17081
    a2a: int = 17082
    tools: int = 17083
    weather: int = 17084
    postgres: int = 17432
    proxy: int = 17474
    proxy_openai: int = 17181
    proxy_a2a: int = 17182
    proxy_mcp: int = 17183
    proxy_weather: int = 17184
    proxy_postgres: int = 17185
    prometheus: int = 17090
    postgres_exporter: int = 17187

    @classmethod
    def names(cls) -> list[str]:
        """The names accepted by :meth:`with_overrides` (``backend``, ``proxy_a2a``, ...)."""
        return [f.name for f in fields(cls)]

    def as_dict(self) -> dict[str, int]:
        """``{name: port}`` for every port."""
        return {name: getattr(self, name) for name in self.names()}

    def with_overrides(self, overrides: Mapping[str, int | str]) -> StackPorts:
        """A copy with some ports changed; an unknown name or a port outside 1..65535 is a :class:`StackError`."""
        changes: dict[str, int] = {}
        for name, value in overrides.items():
            key = name.strip().replace("-", "_")
            if key not in self.names():
                raise StackError(f"unknown port name {name!r}; known: {', '.join(self.names())}")
            try:
                port = int(value)
            except (TypeError, ValueError):
                raise StackError(f"port {name}={value!r} is not a number") from None
            if not 1 <= port <= 65535:
                raise StackError(f"port {name}={port} is outside 1..65535")
            changes[key] = port
        ports = replace(self, **changes)
        ports.check_distinct()
        return ports

    def check_distinct(self) -> None:
        """Two components on one port is a configuration error, found before anything starts."""
        seen: dict[int, str] = {}
        for name, port in self.as_dict().items():
            if port in seen:
                raise StackError(f"port {port} is given to both {seen[port]} and {name}; give each its own port")
            seen[port] = name

    def taken(self, names: Iterable[str] | None = None) -> list[str]:
        """One message per port (among ``names``, default all) that cannot be bound on 127.0.0.1."""
        problems = []
        for name in names if names is not None else self.names():
            try:
                check_port_free(HOST, getattr(self, name), name)
            except PortInUseError as error:
                problems.append(str(error).replace("--port", f"port (--port {name}=N)"))
        return problems


def parse_port_options(values: Iterable[str]) -> dict[str, str]:
    """``["backend=18000", "proxy_a2a=18001"]`` (or one comma-separated string) → ``{name: port}``."""
    overrides: dict[str, str] = {}
    for value in values:
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, sep, port = item.partition("=")
            if not sep or not name.strip() or not port.strip():
                raise StackError(f"bad port setting {item!r}: write NAME=PORT, e.g. backend=18080")
            overrides[name.strip()] = port.strip()
    return overrides


def ports_from(options: Iterable[str] = (), env: Mapping[str, str] | None = None) -> StackPorts:
    """The defaults, then ``HARNESS_STACK_PORTS`` (``name=port,...``), then ``options`` (same form)."""
    environment = os.environ if env is None else env
    overrides = parse_port_options([environment.get(PORTS_ENV, ""), *options])
    return StackPorts().with_overrides(overrides)
