"""The fault model shared by every mock.

A fault is ``{"type": ..., "attributes": {...}, "ttl_s": N, "scope": {...}}``, the same shape as a
Toxiproxy toxic. Each mock declares the fault types it understands in a :class:`FaultCatalog`; the
:class:`FaultBoard` holds the active faults and forgets each one when its time-to-live passes, so a
fault that nobody removes still ends by itself. A fault lives forever only when asked explicitly
with ``"permanent": true``.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_TTL_S = 300.0
MAX_TTL_S = 7 * 24 * 3600.0


class FaultError(ValueError):
    """A fault specification that cannot be accepted; the message says what to change."""


class StrictAttributes(BaseModel):
    """Base for a fault type's attributes: unknown keys are refused so typos never pass silently."""

    model_config = ConfigDict(extra="forbid")


class NoAttributes(StrictAttributes):
    """For fault types that take no attributes."""


def jittered_delay_s(base_ms: float, jitter_ms: float) -> float:
    """One delay drawn uniformly from ``base_ms ± jitter_ms``, in seconds, never negative."""
    jitter = random.uniform(-jitter_ms, jitter_ms) if jitter_ms else 0.0
    return max(0.0, base_ms + jitter) / 1000.0


def chance(rate: float) -> bool:
    """True for a fraction ``rate`` (0..1) of calls; always at 1."""
    return rate >= 1.0 or random.random() < rate


class LatencyAttributes(StrictAttributes):
    """Delay before the response starts: ``latency_ms`` plus a uniform ``± jitter_ms``."""

    latency_ms: float = Field(ge=0, le=600_000)
    jitter_ms: float = Field(default=0, ge=0, le=600_000)

    def draw_delay_s(self) -> float:
        """One delay for one request, in seconds."""
        return jittered_delay_s(self.latency_ms, self.jitter_ms)


class ErrorAttributes(StrictAttributes):
    """Answer with an HTTP error ``status`` for a fraction ``rate`` of requests."""

    status: int = Field(default=503, ge=400, le=599)
    rate: float = Field(default=1.0, ge=0, le=1)

    def strikes(self) -> bool:
        """Whether this request gets the error (drawn against ``rate``)."""
        return chance(self.rate)


@dataclass(frozen=True)
class FaultType:
    """One kind of fault a mock can inject, with the model that validates its attributes."""

    name: str
    attributes: type[StrictAttributes]
    description: str

    def describe(self) -> dict[str, Any]:
        """JSON description for ``GET /_control/fault-types``."""
        return {"type": self.name, "description": self.description,
                "attributes": self.attributes.model_json_schema().get("properties", {})}


class FaultRequest(BaseModel):
    """The body of ``POST /_control/faults``."""

    model_config = ConfigDict(extra="forbid")

    type: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    ttl_s: float | None = Field(default=None, gt=0, le=MAX_TTL_S)
    permanent: bool = False
    scope: dict[str, str] = Field(default_factory=dict)
    name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _ttl_or_permanent(self) -> FaultRequest:
        if self.permanent and self.ttl_s is not None:
            raise ValueError("give either ttl_s or permanent=true, not both")
        return self


class FaultCatalog:
    """The fault types and scope keys one mock understands."""

    def __init__(self, types: Iterable[FaultType], scope_keys: Iterable[str] = ("test_id",)) -> None:
        self.types = {fault_type.name: fault_type for fault_type in types}
        self.scope_keys = frozenset(scope_keys)

    def describe(self) -> dict[str, Any]:
        """JSON description of every fault type and the scope keys."""
        return {"fault_types": [t.describe() for t in self.types.values()], "scope_keys": sorted(self.scope_keys)}


@dataclass
class Fault:
    """An active fault. ``expires_at`` is a wall-clock epoch, or None for a permanent fault."""

    id: str
    type: str
    attributes: StrictAttributes
    scope: dict[str, str]
    created_at: float
    expires_at: float | None
    name: str | None = None
    ended: asyncio.Event | None = field(default=None, repr=False)

    def applies_to(self, context: Mapping[str, str | None]) -> bool:
        """True when every scope key of this fault matches the request's context."""
        return all(context.get(key) == value for key, value in self.scope.items())

    def remaining_s(self, now: float) -> float | None:
        """Seconds left before expiry (None when permanent)."""
        return None if self.expires_at is None else max(0.0, self.expires_at - now)

    def to_json(self, now: float) -> dict[str, Any]:
        """The fault as the control API shows it."""
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "attributes": self.attributes.model_dump(),
            "scope": self.scope,
            "created_at": _iso(self.created_at),
            "expires_at": None if self.expires_at is None else _iso(self.expires_at),
            "ttl_s": None if self.expires_at is None else round(self.expires_at - self.created_at, 3),
            "remaining_s": None if self.expires_at is None else round(self.remaining_s(now) or 0.0, 3),
        }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def format_validation_error(error: ValidationError, prefix: str = "") -> str:
    """Turn pydantic's error list into one readable sentence per problem."""
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        where = f"{prefix}{location}" if location else prefix.rstrip(".") or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


class FaultBoard:
    """The active faults of one mock. Expired faults are dropped on every read."""

    def __init__(self, catalog: FaultCatalog, *, default_ttl_s: float = DEFAULT_TTL_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.catalog = catalog
        self.default_ttl_s = default_ttl_s
        self._clock = clock
        self._faults: dict[str, Fault] = {}
        self._ids = itertools.count(1)

    def add(self, spec: Mapping[str, Any]) -> Fault:
        """Validate ``spec`` and activate it; raises :class:`FaultError` with a helpful message."""
        try:
            request = FaultRequest.model_validate(spec)
        except ValidationError as error:
            raise FaultError(format_validation_error(error)) from None
        fault_type = self.catalog.types.get(request.type)
        if fault_type is None:
            known = ", ".join(sorted(self.catalog.types))
            raise FaultError(f"unknown fault type {request.type!r}; this service knows: {known}")
        unknown_scope = set(request.scope) - self.catalog.scope_keys
        if unknown_scope:
            raise FaultError(f"unknown scope key(s) {sorted(unknown_scope)}; "
                             f"allowed: {sorted(self.catalog.scope_keys)}")
        try:
            attributes = fault_type.attributes.model_validate(request.attributes)
        except ValidationError as error:
            raise FaultError(format_validation_error(error, "attributes.")) from None
        now = self._clock()
        ttl_s = request.ttl_s if request.ttl_s is not None else self.default_ttl_s
        fault = Fault(
            id=f"{request.type}-{next(self._ids)}",
            type=request.type,
            attributes=attributes,
            scope=request.scope,
            created_at=now,
            expires_at=None if request.permanent else now + ttl_s,
            name=request.name,
        )
        self._faults[fault.id] = fault
        return fault

    def remove(self, fault_id: str) -> Fault | None:
        """Remove one fault; returns it, or None when no such fault is active."""
        self._purge()
        fault = self._faults.pop(fault_id, None)
        if fault is not None:
            _signal_end(fault)
        return fault

    def clear(self) -> int:
        """Remove every fault; returns how many were active."""
        self._purge()
        removed = list(self._faults.values())
        self._faults.clear()
        for fault in removed:
            _signal_end(fault)
        return len(removed)

    def active(self, context: Mapping[str, str | None] | None = None) -> list[Fault]:
        """Active faults, optionally only those whose scope matches ``context``."""
        self._purge()
        faults = list(self._faults.values())
        if context is None:
            return faults
        return [fault for fault in faults if fault.applies_to(context)]

    def first(self, fault_type: str, context: Mapping[str, str | None]) -> Fault | None:
        """The oldest active fault of ``fault_type`` that applies to ``context``."""
        if not self._faults:
            return None
        return next((f for f in self.active(context) if f.type == fault_type), None)

    def is_active(self, fault: Fault) -> bool:
        """True while ``fault`` is neither removed nor expired."""
        self._purge()
        return self._faults.get(fault.id) is fault

    async def wait_until_ended(self, fault: Fault) -> None:
        """Return when ``fault`` is removed or expires (used by faults that hold a stream open)."""
        if fault.ended is None:
            fault.ended = asyncio.Event()
        while self.is_active(fault):
            remaining = fault.remaining_s(self._clock())
            try:
                await asyncio.wait_for(fault.ended.wait(), timeout=None if remaining is None else remaining + 0.01)
            except TimeoutError:
                continue

    def now(self) -> float:
        """The board's clock."""
        return self._clock()

    def _purge(self) -> None:
        now = self._clock()
        expired = [fid for fid, f in self._faults.items() if f.expires_at is not None and f.expires_at <= now]
        for fault_id in expired:
            _signal_end(self._faults.pop(fault_id))


def _signal_end(fault: Fault) -> None:
    if fault.ended is not None:
        fault.ended.set()
