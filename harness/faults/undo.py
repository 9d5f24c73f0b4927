"""Remove a fault recorded in the ledger. Idempotent: a fault already gone counts as removed."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from harness.faults.ledger import FaultLedger, LedgerEntry

UNDO_TIMEOUT_S = 5.0


class UndoFailed(RuntimeError):
    """The fault could not be removed (its service did not answer); the message says which and why."""


def undo(entry: LedgerEntry) -> str:
    """Remove ``entry``'s fault; returns what was done."""
    plan = entry.undo
    kind = plan.get("kind")
    try:
        if kind == "mock_fault":
            response = httpx.delete(f"{plan['url']}/_control/faults/{plan['fault_id']}", timeout=UNDO_TIMEOUT_S,
                                    headers=plan.get("headers") or {})
            return _gone_or_done(response, f"mock fault {plan['fault_id']} at {plan['url']}")
        if kind == "toxic":
            response = httpx.delete(f"{plan['api']}/proxies/{plan['proxy']}/toxics/{plan['toxic']}",
                                    timeout=UNDO_TIMEOUT_S)
            return _gone_or_done(response, f"toxic {plan['toxic']} on proxy {plan['proxy']}")
        if kind == "proxy_down":
            response = httpx.post(f"{plan['api']}/proxies/{plan['proxy']}", json={"enabled": True},
                                  timeout=UNDO_TIMEOUT_S)
            return _gone_or_done(response, f"proxy {plan['proxy']} enabled again")
        if kind == "none":
            return "nothing to undo"
    except httpx.HTTPError as error:
        raise UndoFailed(f"could not remove fault {entry.id} ({entry.description}): {error}") from error
    raise UndoFailed(f"fault {entry.id} has an unknown undo kind {kind!r}")


def _gone_or_done(response: httpx.Response, what: str) -> str:
    if response.status_code == 404:
        return f"{what}: already gone"
    if response.status_code >= 400:
        raise UndoFailed(f"{what}: HTTP {response.status_code} {response.text[:200]}")
    return f"{what}: removed"


def undo_all(ledger: FaultLedger, how: str,
             select: Callable[[LedgerEntry], bool] = lambda _entry: True) -> tuple[list[str], list[str]]:
    """Remove every selected fault nobody removed yet; returns (what was done, what failed)."""
    done, failed = [], []
    for entry in filter(select, ledger.unremoved()):
        try:
            done.append(undo(entry))
            ledger.mark_removed(entry.id, how)
        except UndoFailed as error:
            failed.append(str(error))
    return done, failed
