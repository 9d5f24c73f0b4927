"""Write a fault to the ledger and make sure something will remove it when its time is up."""

from __future__ import annotations

import time
from typing import Any

from harness.faults.ledger import FaultLedger, LedgerEntry
from harness.faults.watchdog import ensure_watchdog
from harness.rundir import run_dir


def ledger_for(configuration: dict[str, Any] | None) -> FaultLedger:
    """The ledger of the current run directory."""
    return FaultLedger(run_dir(configuration))


def record_fault(configuration: dict[str, Any] | None, *, kind: str, target: str, description: str,
                 undo: dict[str, Any], ttl_s: float | None, details: dict[str, Any]) -> LedgerEntry:
    """Record an injected fault; a fault with a TTL gets a watchdog that removes it even if we die."""
    ledger = ledger_for(configuration)
    entry = ledger.record(LedgerEntry(kind=kind, target=target, description=description, undo=undo,
                                      expires_at=None if ttl_s is None else time.time() + ttl_s, details=details))
    if undo.get("kind") == "none":
        ledger.mark_removed(entry.id, "instant: nothing to undo")
    elif ttl_s is not None:
        ensure_watchdog(ledger.path.parent)
    return entry
