"""Where load may go and how much of it: loopback by default, other hosts only when the operator lists them.

Every knob that could make load unbounded has a ceiling here: users, spawn rate and duration.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

ALLOWED_HOSTS_ENV = "HARNESS_ALLOWED_HOSTS"
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})

MAX_USERS = 20_000
MAX_SPAWN_RATE = 2_000.0
MAX_RUN_TIME_S = 72 * 3600.0
MAX_WORKERS = 64

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)?")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, None: 1.0}


class TargetNotAllowed(ValueError):
    """The load target is neither loopback nor listed by the operator."""


class OutOfBounds(ValueError):
    """A user count, spawn rate or duration is outside what the harness allows."""


@dataclass(frozen=True)
class Target:
    """A checked load target: scheme, host and port of an allowed HTTP server."""

    scheme: str
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def allowed_hosts(extra: Iterable[str] | str | None = None) -> frozenset[str]:
    """The operator's allowed hosts: ``extra`` (a list or comma-separated) plus ``$HARNESS_ALLOWED_HOSTS``."""
    names: list[str] = []
    for source in (extra, os.environ.get(ALLOWED_HOSTS_ENV, "")):
        if not source:
            continue
        items = source.split(",") if isinstance(source, str) else [p for s in source for p in s.split(",")]
        names.extend(item.strip().lower() for item in items if item.strip())
    return frozenset(names)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and any 127.0.0.0/8 or ::1 address."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_target(url: str, allowed: Iterable[str] | str | None = None) -> Target:
    """Parse ``url`` and return it as a :class:`Target`, or raise :class:`TargetNotAllowed` saying how to allow it."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetNotAllowed(f"load target {url!r} is not an http(s) URL; give one like http://127.0.0.1:17080")
    if parts.scheme == "https":
        raise TargetNotAllowed(f"load target {url!r}: https is not supported by the SSE reader; use http "
                               "(put a TLS-terminating proxy in front if the backend needs TLS)")
    host = parts.hostname.lower()
    if not is_loopback(host) and host not in allowed_hosts(allowed):
        raise TargetNotAllowed(
            f"load target {url!r} is not on loopback and not an allowed host; load goes only to 127.0.0.1/localhost "
            f"unless you list the host: --allow-host {host} (or {ALLOWED_HOSTS_ENV}={host})")
    try:
        port = parts.port or 80
    except ValueError as error:
        raise TargetNotAllowed(f"load target {url!r}: {error}") from None
    return Target(parts.scheme, host, port)


def parse_duration(text: str | float | int) -> float:
    """Seconds in ``"90"``, ``"90s"``, ``"10m"``, ``"1h30m"``, ``"250ms"`` (or a number of seconds)."""
    if isinstance(text, int | float):
        return float(text)
    value = text.strip().lower()
    total, position = 0.0, 0
    for match in _DURATION.finditer(value):
        if match.start() != position or (match.group(2) is None and match.end() != len(value)):
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not value or position != len(value):
        raise OutOfBounds(f"duration {text!r} is not like 60s, 10m, 2h or 1h30m")
    return total


def check_bounds(users: int, spawn_rate: float, run_time_s: float, workers: int = 0) -> None:
    """Raise :class:`OutOfBounds` unless every figure is within the harness's ceilings."""
    checks = [
        (1 <= users <= MAX_USERS, f"users must be 1..{MAX_USERS}, got {users}"),
        (0 < spawn_rate <= MAX_SPAWN_RATE, f"spawn rate must be > 0 and <= {MAX_SPAWN_RATE:g}/s, got {spawn_rate:g}"),
        (0 < run_time_s <= MAX_RUN_TIME_S,
         f"run time must be > 0 and <= {MAX_RUN_TIME_S / 3600:g}h, got {run_time_s:g}s"),
        (0 <= workers <= MAX_WORKERS, f"workers must be 0..{MAX_WORKERS}, got {workers}"),
    ]
    for ok, message in checks:
        if not ok:
            raise OutOfBounds(message)
