"""The run directory: where one experiment's logs, journal and fault ledger live.

``runs/<UTC time>-<experiment>/`` under the current directory, created by the run-directory control at the
start of an experiment and announced to every activity through ``HARNESS_RUN_DIR`` (or the
``run_dir`` configuration key). Activities run outside an experiment fall back to ``runs/adhoc``.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RUN_DIR_ENV = "HARNESS_RUN_DIR"
RUNS_ROOT = Path("runs")


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (lower case, dashes, at most 60 characters)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "experiment"


def new_run_dir(title: str, root: Path = RUNS_ROOT) -> Path:
    """Create ``root/<UTC time>-<slug of title>`` and return it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = root / f"{stamp}-{slug(title)}"
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def run_dir(configuration: dict[str, Any] | None = None) -> Path:
    """This run's directory: configuration ``run_dir``, then ``HARNESS_RUN_DIR``, then ``runs/adhoc``."""
    configured = (configuration or {}).get("run_dir") or os.environ.get(RUN_DIR_ENV)
    path = Path(configured) if configured else RUNS_ROOT / "adhoc"
    path.mkdir(parents=True, exist_ok=True)
    return path
