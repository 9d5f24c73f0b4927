"""Faults on the stand-ins through their shared fault API (``/_control/faults``)."""

from __future__ import annotations

import os
from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed

from harness.faults.ledger import LedgerEntry
from harness.faults.record import ledger_for, record_fault
from harness.faults.undo import undo_all
from harness.targets import target_url
from harness.values import positive_seconds

SERVICES = ("openai", "a2a", "tools", "weather")
TIMEOUT_S = 10.0

__all__ = ["inject_service_fault", "remove_service_faults"]


def _headers(secrets: dict[str, Any] | None) -> dict[str, str]:
    token = (secrets or {}).get("mock_control_token") or os.environ.get("MOCK_CONTROL_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def inject_service_fault(service: str, fault_type: str, attributes: dict[str, Any] | None = None,
                         ttl_s: float = 60.0, scope: dict[str, str] | None = None,
                         configuration: dict[str, Any] | None = None,
                         secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Inject a fault into a stand-in (``openai``, ``a2a``, ``tools`` or ``weather``) for ``ttl_s`` seconds.

    The fault ends by itself when its TTL passes; it is written to the run's fault ledger so rollbacks
    and ``harness cleanup`` can remove it earlier. Returns the fault as the stand-in reports it.
    """
    if service not in SERVICES:
        raise ActivityFailed(f"unknown service {service!r}; faults can go to: {', '.join(SERVICES)}")
    ttl_s = positive_seconds("ttl_s", ttl_s)
    url = target_url(configuration, service)
    body = {"type": fault_type, "attributes": attributes or {}, "ttl_s": ttl_s, "scope": scope or {},
            "name": "harness"}
    headers = _headers(secrets)
    try:
        response = httpx.post(f"{url}/_control/faults", json=body, headers=headers, timeout=TIMEOUT_S)
    except httpx.HTTPError as error:
        raise ActivityFailed(f"cannot reach the {service} fault API at {url}: {error}") from error
    if response.status_code != 201:
        raise ActivityFailed(f"the {service} stand-in refused the fault ({response.status_code}): "
                             f"{_message(response)}")
    fault = response.json()
    entry = record_fault(configuration, kind=f"{service}:{fault_type}", target=url,
                         description=f"{fault_type} on {service} {attributes or {}}",
                         undo={"kind": "mock_fault", "url": url, "fault_id": fault["id"], "headers": headers},
                         ttl_s=ttl_s, details={"fault": fault})
    return {"ledger_id": entry.id, "service": service, "fault": fault}


def remove_service_faults(service: str | None = None, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Remove the faults this run injected into the stand-ins (one service, or all of them)."""
    def selected(entry: LedgerEntry) -> bool:
        return entry.undo.get("kind") == "mock_fault" and (not service or entry.kind.startswith(f"{service}:"))

    removed, failed = undo_all(ledger_for(configuration), "rollback", selected)
    if failed:
        raise ActivityFailed("some faults could not be removed (they still end at their TTL): " + "; ".join(failed))
    return {"removed": removed}


def _message(response: httpx.Response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:300]
