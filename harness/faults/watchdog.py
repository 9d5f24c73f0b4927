"""The watchdog: a detached process that removes each fault of a run when its TTL passes.

Mock faults and embedded-proxy toxics expire by themselves; a real Toxiproxy's toxics and a disabled proxy
do not. The watchdog reads the ledger, undoes what has expired, and exits when nothing is left to watch —
so a fault ends on time even when the chaos process was killed with SIGKILL.

Run as ``python -m harness.faults.watchdog RUN_DIR``; :func:`ensure_watchdog` starts one per run directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from harness.faults.ledger import FaultLedger
from harness.faults.undo import UndoFailed, undo

PID_FILE = "watchdog.pid"
POLL_S = 0.25
RETRY_FOR_S = 120.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ensure_watchdog(directory: Path) -> int:
    """Start the watchdog of ``directory`` unless one runs; returns its PID."""
    pid_file = Path(directory) / PID_FILE
    try:
        pid = int(pid_file.read_text())
        if _alive(pid):
            return pid
    except (FileNotFoundError, ValueError):
        pass
    with (Path(directory) / "watchdog.log").open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "harness.faults.watchdog", str(directory)],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    pid_file.write_text(str(process.pid))
    return process.pid


def watch(directory: Path) -> None:
    """Undo expired faults until none is left unremoved (failed undos are retried for two minutes)."""
    ledger = FaultLedger(directory)
    failing_since: dict[str, float] = {}
    while True:
        now = time.time()
        pending = [e for e in ledger.unremoved() if e.undo.get("kind") != "none" and e.expires_at is not None]
        pending = [e for e in pending if now - failing_since.get(e.id, now) < RETRY_FOR_S]
        if not pending:
            return
        for entry in pending:
            if entry.expired(now):
                try:
                    print(f"{time.strftime('%H:%M:%S')} {undo(entry)}", flush=True)
                    ledger.mark_removed(entry.id, "expired (watchdog)")
                except UndoFailed as error:
                    failing_since.setdefault(entry.id, now)
                    print(f"{time.strftime('%H:%M:%S')} retrying: {error}", flush=True)
        time.sleep(POLL_S)


if __name__ == "__main__":
    target = Path(sys.argv[1])
    try:
        watch(target)
    finally:
        (target / PID_FILE).unlink(missing_ok=True)
