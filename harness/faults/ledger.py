"""The fault ledger: every fault the harness injects, with how to undo it and when it ends by itself.

One JSON object per line in ``<run dir>/faults.jsonl``, appended under an exclusive file lock, so the
chaos process, the watchdog and ``harness cleanup`` can all read and write it. A fault is *active* until a
``removed`` line names it or its ``expires_at`` passes. The ``undo`` part says how to remove it:

- ``{"kind": "mock_fault", "url": <mock base URL>, "fault_id": ...}`` — ``DELETE /_control/faults/{id}``;
- ``{"kind": "toxic", "api": <Toxiproxy URL>, "proxy": ..., "toxic": ...}`` — delete the toxic;
- ``{"kind": "proxy_down", "api": ..., "proxy": ...}`` — enable the proxy again;
- ``{"kind": "none"}`` — nothing to undo (an instant fault such as ``pg_terminate_backend``).
"""

from __future__ import annotations

import fcntl
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

LEDGER_NAME = "faults.jsonl"


@dataclass
class LedgerEntry:
    """One injected fault."""

    kind: str
    target: str
    description: str
    undo: dict[str, Any]
    expires_at: float | None
    details: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created_at: float = field(default_factory=time.time)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now


class FaultLedger:
    """Append-only record of faults in one run directory."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / LEDGER_NAME

    def record(self, entry: LedgerEntry) -> LedgerEntry:
        """Add a fault."""
        self._append({"event": "injected", **asdict(entry)})
        return entry

    def mark_removed(self, entry_id: str, how: str) -> None:
        """Note that a fault was removed (by a rollback, cleanup, or the watchdog)."""
        self._append({"event": "removed", "id": entry_id, "how": how, "at": time.time()})

    def entries(self) -> list[LedgerEntry]:
        """Every fault ever injected in this run, oldest first."""
        return [entry for entry, _removed in self._read()]

    def active(self, now: float | None = None) -> list[LedgerEntry]:
        """Faults neither removed nor expired."""
        now = time.time() if now is None else now
        return [entry for entry, removed in self._read() if not removed and not entry.expired(now)]

    def unremoved(self) -> list[LedgerEntry]:
        """Faults nobody has removed yet, expired or not (cleanup removes these too, to be sure)."""
        return [entry for entry, removed in self._read() if not removed]

    def _read(self) -> list[tuple[LedgerEntry, bool]]:
        if not self.path.exists():
            return []
        with self._locked("r") as handle:
            lines = handle.read().splitlines()
        injected: dict[str, LedgerEntry] = {}
        removed: set[str] = set()
        for line in lines:
            if not line.strip():
                continue
            record = json.loads(line)
            if record.pop("event") == "injected":
                injected[record["id"]] = LedgerEntry(**record)
            else:
                removed.add(record["id"])
        return [(entry, entry_id in removed) for entry_id, entry in injected.items()]

    def _append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked("a") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")

    @contextmanager
    def _locked(self, mode: str) -> Iterator[Any]:
        with self.path.open(mode) as handle:
            fcntl.flock(handle, fcntl.LOCK_EX if mode == "a" else fcntl.LOCK_SH)
            try:
                yield handle
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
