"""The state file: every PID, port and directory the stack created, so a later ``down`` can undo it all.

It is rewritten (atomically) after each process starts, so it is complete even if ``up`` is killed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.stack.errors import StackError
from harness.stack.processes import ProcessRef

STATE_FILE = "state.json"
LOCK_FILE = "lock"
DEFAULT_STATE_DIR = Path("runs/stack")
STATE_DIR_ENV = "HARNESS_STACK_DIR"


def default_state_dir() -> Path:
    """``$HARNESS_STACK_DIR`` or ``./runs/stack``, as an absolute path."""
    return Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR).resolve()


@dataclass
class ComponentState:
    """One running component: where it answers, how to check it, how to stop it."""

    name: str
    url: str
    health_url: str | None
    pid: int | None = None
    start_ticks: int | None = None
    stop_signal: int = 15
    log: str | None = None

    @property
    def process(self) -> ProcessRef | None:
        return ProcessRef(self.pid, self.start_ticks or 0) if self.pid else None


@dataclass
class StackState:
    """What ``up`` created: components, generated files and folders, and the settings they run with."""

    state_dir: str
    settings: dict[str, Any]
    ports: dict[str, int]
    up_pid: int | None = None
    up_start_ticks: int | None = None
    created: list[str] = field(default_factory=list)
    components: dict[str, ComponentState] = field(default_factory=dict)
    proxies: list[dict[str, str]] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.state_dir) / STATE_FILE

    def add(self, component: ComponentState) -> None:
        """Record a component and write the file at once."""
        self.components[component.name] = component
        self.save()

    def save(self) -> None:
        """Write the file atomically, readable by its owner only (it may hold a database password)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2))
        temporary.chmod(0o600)
        temporary.replace(self.path)

    @classmethod
    def load(cls, state_dir: Path) -> StackState | None:
        """The recorded state, or None when no stack was brought up from ``state_dir``."""
        path = state_dir / STATE_FILE
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise StackError(f"cannot read the stack's state file {path}: {error}; stop the processes by hand "
                             f"and delete {state_dir}") from None
        components = {name: ComponentState(**value) for name, value in raw.pop("components", {}).items()}
        return cls(**raw, components=components)


@contextlib.contextmanager
def locked(state_dir: Path, timeout_s: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock on the state directory (``up`` and ``down`` never run at once on it)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    with (state_dir / LOCK_FILE).open("w") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StackError(f"another `harness stack` command is working on {state_dir}; wait for it "
                                     "(or stop it) and run this again") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
