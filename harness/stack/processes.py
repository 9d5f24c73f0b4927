"""Detached processes the stack starts and stops by PID, from this process or a later one.

A process is identified by its PID *and* its start time (``/proc/PID/stat`` field 22), so a PID the
kernel has since given to another program is never signalled. Zombies (a finished child nobody reaped,
e.g. when ``harness stack up`` was killed) count as ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

POLL_S = 0.05


@dataclass(frozen=True)
class ProcessRef:
    """A started process: its PID and the kernel's start time of that PID."""

    pid: int
    start_ticks: int

    @classmethod
    def of(cls, pid: int) -> ProcessRef:
        return cls(pid, start_ticks(pid) or 0)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    return text[text.rindex(")") + 2:].split()


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot); None when there is no such process."""
    stat = _stat_fields(pid)
    return int(stat[19]) if stat else None


def is_running(ref: ProcessRef) -> bool:
    """True when the very process ``ref`` names is alive (not ended, not a zombie, PID not reused)."""
    stat = _stat_fields(ref.pid)
    if stat is None or stat[0] in ("Z", "X"):
        _reap(ref.pid)
        return False
    return int(stat[19]) == ref.start_ticks


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def spawn(command: list[str], log_path: Path, *, env: dict[str, str] | None = None,
          user: str | None = None, cwd: Path | None = None) -> ProcessRef:
    """Start ``command`` in a session of its own (it outlives us), stdout and stderr appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   env=env, user=user, cwd=cwd, start_new_session=True, close_fds=True)
    return ProcessRef.of(process.pid)


def signal_group(ref: ProcessRef, sig: int) -> None:
    """Send ``sig`` to the process and the session/group it leads (children included), if it is still ours."""
    if not is_running(ref):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(ref.pid) == ref.pid:
            os.killpg(ref.pid, sig)
        else:
            os.kill(ref.pid, sig)


def wait_ended(refs: list[ProcessRef], timeout: float) -> list[ProcessRef]:
    """Wait up to ``timeout`` for every process to end; returns those still running."""
    deadline = time.monotonic() + timeout
    remaining = [ref for ref in refs if is_running(ref)]
    while remaining and time.monotonic() < deadline:
        time.sleep(POLL_S)
        remaining = [ref for ref in remaining if is_running(ref)]
    return remaining


def group_members(leader: int) -> list[int]:
    """PIDs whose process group is ``leader`` (a server and the workers it forked)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat_fields(int(entry.name))
            if stat and stat[0] not in ("Z", "X") and int(stat[2]) == leader:
                members.append(int(entry.name))
    return members


def stop(refs: list[tuple[ProcessRef, int]], grace_s: float) -> None:
    """Send each process its stop signal, wait ``grace_s`` for all, then SIGKILL their groups."""
    for ref, sig in refs:
        signal_group(ref, sig)
    for ref in wait_ended([ref for ref, _ in refs], grace_s):
        signal_group(ref, signal.SIGKILL)
    wait_ended([ref for ref, _ in refs], 5.0)
    for ref, _ in refs:
        for pid in group_members(ref.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
