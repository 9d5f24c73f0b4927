"""Network faults through the Toxiproxy API with the official ``toxiproxy-python`` client.

They work the same against the real Toxiproxy and the embedded one. On the embedded proxy the toxic also
gets its ``ttl_s`` (an extension real Toxiproxy ignores); everywhere, the ledger's watchdog removes it when
its time is up, so a toxic never outlives its TTL even if the harness is killed.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed
from toxiproxy import Toxiproxy
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from harness.faults.ledger import LedgerEntry
from harness.faults.record import ledger_for, record_fault
from harness.faults.undo import undo_all
from harness.targets import host_port, target_url
from harness.values import positive_seconds

__all__ = [
    "add_latency",
    "add_timeout",
    "add_toxic",
    "limit_bandwidth",
    "proxy_down",
    "remove_network_faults",
    "reset_peer",
]

STREAMS = ("upstream", "downstream")


def _proxy(configuration: dict[str, Any] | None, name: str) -> tuple[str, Any]:
    api = target_url(configuration, "toxiproxy")
    server = Toxiproxy()
    server.update_api_consumer(*host_port(api))
    try:
        proxies = server.proxies()
    except Exception as error:  # requests' connection errors, bad JSON
        raise ActivityFailed(f"cannot reach the Toxiproxy API at {api}: {error}") from error
    if name not in proxies:
        raise ActivityFailed(f"no proxy named {name!r} on the Toxiproxy API at {api}; "
                             f"known: {', '.join(sorted(proxies)) or 'none'}")
    return api, proxies[name]


def add_toxic(proxy: str, toxic_type: str, attributes: dict[str, Any] | None = None, stream: str = "downstream",
              toxicity: float = 1.0, ttl_s: float = 60.0,
              configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Add a toxic of ``toxic_type`` to ``proxy`` for ``ttl_s`` seconds; returns the toxic's name and ledger id."""
    if stream not in STREAMS:
        raise ActivityFailed(f"stream must be upstream or downstream (got {stream!r})")
    ttl_s = positive_seconds("ttl_s", ttl_s)
    api, target = _proxy(configuration, proxy)
    name = f"harness_{toxic_type}_{stream}_{uuid.uuid4().hex[:6]}"
    try:
        target.add_toxic(type=toxic_type, stream=stream, toxicity=toxicity, attributes=attributes or {}, name=name)
    except (InvalidToxic, NotFound, ProxyExists) as error:
        raise ActivityFailed(f"Toxiproxy refused the {toxic_type} toxic on {proxy}: {error}") from error
    _arm_ttl(api, proxy, name, ttl_s)
    entry = record_fault(configuration, kind=f"toxic:{toxic_type}", target=f"{api}/proxies/{proxy}",
                         description=f"{toxic_type} {attributes or {}} on {proxy} ({stream})",
                         undo={"kind": "toxic", "api": api, "proxy": proxy, "toxic": name}, ttl_s=ttl_s,
                         details={"stream": stream, "toxicity": toxicity, "attributes": attributes or {}})
    return {"ledger_id": entry.id, "proxy": proxy, "toxic": name, "ttl_s": ttl_s}


def _arm_ttl(api: str, proxy: str, toxic: str, ttl_s: float) -> None:
    """Give the toxic a server-side TTL where the server supports it (real Toxiproxy ignores the key)."""
    with contextlib.suppress(httpx.HTTPError):  # the watchdog still removes it on time
        httpx.post(f"{api}/proxies/{proxy}/toxics/{toxic}", json={"ttl_s": ttl_s}, timeout=5)


def add_latency(proxy: str, latency_ms: int, jitter_ms: int = 0, stream: str = "downstream", ttl_s: float = 60.0,
                configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Delay data through ``proxy`` by ``latency_ms`` ± ``jitter_ms`` for ``ttl_s`` seconds."""
    return add_toxic(proxy, "latency", {"latency": int(latency_ms), "jitter": int(jitter_ms)}, stream,
                     ttl_s=ttl_s, configuration=configuration)


def limit_bandwidth(proxy: str, rate_kb: int, stream: str = "downstream", ttl_s: float = 60.0,
                    configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Limit ``proxy`` to ``rate_kb`` KB/s (1 KB = 1000 B) for ``ttl_s`` seconds."""
    return add_toxic(proxy, "bandwidth", {"rate": int(rate_kb)}, stream, ttl_s=ttl_s, configuration=configuration)


def add_timeout(proxy: str, timeout_ms: int = 0, stream: str = "downstream", ttl_s: float = 60.0,
                configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Stop all data through ``proxy`` and close connections after ``timeout_ms`` (0: hold them open)."""
    return add_toxic(proxy, "timeout", {"timeout": int(timeout_ms)}, stream, ttl_s=ttl_s,
                     configuration=configuration)


def reset_peer(proxy: str, timeout_ms: int = 0, stream: str = "downstream", ttl_s: float = 60.0,
               configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Reset connections through ``proxy`` (TCP RST) after ``timeout_ms``, for ``ttl_s`` seconds."""
    return add_toxic(proxy, "reset_peer", {"timeout": int(timeout_ms)}, stream, ttl_s=ttl_s,
                     configuration=configuration)


def proxy_down(proxy: str, seconds: float, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Disable ``proxy`` (its connections close, new ones are refused) and enable it again after ``seconds``."""
    seconds = positive_seconds("seconds", seconds)
    api, target = _proxy(configuration, proxy)
    target.disable()
    entry = record_fault(configuration, kind="proxy_down", target=f"{api}/proxies/{proxy}",
                         description=f"proxy {proxy} down for {seconds:g}s",
                         undo={"kind": "proxy_down", "api": api, "proxy": proxy}, ttl_s=seconds, details={})
    return {"ledger_id": entry.id, "proxy": proxy, "down_for_s": seconds}


def remove_network_faults(proxy: str | None = None, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Remove this run's toxics and re-enable proxies it disabled (one proxy, or all)."""
    def selected(entry: LedgerEntry) -> bool:
        return entry.undo.get("kind") in ("toxic", "proxy_down") and (not proxy or entry.undo.get("proxy") == proxy)

    removed, failed = undo_all(ledger_for(configuration), "rollback", selected)
    if failed:
        raise ActivityFailed("some network faults could not be removed (the watchdog keeps trying): "
                             + "; ".join(failed))
    return {"removed": removed}
