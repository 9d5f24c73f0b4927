"""All proxies of a server, with the collection-wide operations: create, populate, reset, delete."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import structlog

from harness.proxy.errors import MISSING_FIELD, PROXY_ALREADY_EXISTS, PROXY_NOT_FOUND, ApiError, ProxyAlreadyStarted
from harness.proxy.jsonbody import GoObject, GoStruct, json_type_word
from harness.proxy.metrics import ProxyMetrics
from harness.proxy.proxy import Proxy

log = structlog.get_logger("proxy")

PROXY_FIELDS = GoStruct("Proxy", {"name": "string", "listen": "string", "upstream": "string", "enabled": "bool"})


@dataclass(frozen=True)
class ProxySpec:
    """A proxy as a create or populate body describes it."""

    name: str
    listen: str
    upstream: str
    enabled: bool

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> ProxySpec:
        return cls(fields.get("name", ""), fields.get("listen", ""), fields.get("upstream", ""),
                   fields.get("enabled", True))

    def missing_field(self) -> str | None:
        if not self.name:
            return "name"
        if not self.upstream:
            return "upstream"
        return None


class PopulateError(Exception):
    """A populate that stopped: the error and the proxies created or kept before it."""

    def __init__(self, error: ApiError, proxies: list[Proxy]) -> None:
        super().__init__(error.message)
        self.error = error
        self.proxies = proxies


def populate_specs(body: Any) -> list[ProxySpec]:
    """Decode and validate a populate body (all elements are checked before anything is created)."""
    if body is None:
        return []
    if not isinstance(body, list):
        raise ApiError(f"bad request body: json: cannot unmarshal {json_type_word(body)} into Go value of type "
                       "[]struct { toxiproxy.Proxy; Enabled *bool \"json:\\\"enabled\\\"\" }", 400)
    specs = []
    for index, item in enumerate(body, start=1):
        if item is not None and not isinstance(item, GoObject):
            raise ApiError(f"bad request body: json: cannot unmarshal {json_type_word(item)} into Go value of "
                           "type struct { toxiproxy.Proxy; Enabled *bool \"json:\\\"enabled\\\"\" }", 400)
        spec = ProxySpec.from_fields(PROXY_FIELDS.decode(item))
        missing = spec.missing_field()
        if missing:
            raise MISSING_FIELD.joined(f"{missing} at proxy {index}")
        specs.append(spec)
    return specs


class ProxyCollection:
    """Proxies by name."""

    def __init__(self, metrics: ProxyMetrics | None = None) -> None:
        self._proxies: dict[str, Proxy] = {}
        self._metrics = metrics

    def all(self) -> dict[str, Proxy]:
        return dict(sorted(self._proxies.items()))

    def get(self, name: str) -> Proxy:
        try:
            return self._proxies[name]
        except KeyError:
            raise PROXY_NOT_FOUND from None

    def _new(self, spec: ProxySpec) -> Proxy:
        return Proxy(spec.name, spec.listen, spec.upstream, self._metrics)

    async def create(self, spec: ProxySpec) -> Proxy:
        missing = spec.missing_field()
        if missing:
            raise MISSING_FIELD.joined(missing)
        if spec.name in self._proxies:
            raise PROXY_ALREADY_EXISTS
        proxy = self._new(spec)
        if spec.enabled:
            await proxy.start()
        self._proxies[spec.name] = proxy
        return proxy

    async def populate(self, specs: list[ProxySpec]) -> list[Proxy]:
        """Create, keep (same address) or replace (different address) each proxy in order; stop at the first error."""
        done: list[Proxy] = []
        for spec in specs:
            try:
                done.append(await self._add_or_replace(spec))
            except ApiError as error:
                raise PopulateError(error, done) from None
        return done

    async def _add_or_replace(self, spec: ProxySpec) -> Proxy:
        existing = self._proxies.get(spec.name)
        if existing is not None:
            if not existing.differs(spec.listen, spec.upstream):
                return existing
            existing.stop()
        proxy = self._new(spec)
        if spec.enabled:
            await proxy.start()
        self._proxies[spec.name] = proxy
        return proxy

    def remove(self, name: str) -> None:
        proxy = self.get(name)
        proxy.stop()
        proxy.toxics.clear()
        del self._proxies[name]
        log.info("proxy deleted", proxy=name)

    async def reset(self) -> None:
        """Enable every proxy and remove all toxics (a start error other than "already started" stops it)."""
        for proxy in list(self.all().values()):
            with contextlib.suppress(ProxyAlreadyStarted):
                await proxy.start()
            proxy.toxics.clear()

    def clear(self) -> None:
        for name in list(self._proxies):
            self.remove(name)
