"""Chaos Toolkit control: give the experiment a run directory, and send logs and the journal there.

Before the experiment: ``runs/<UTC time>-<experiment>/`` is created, announced to every activity
(``HARNESS_RUN_DIR``, ``HARNESS_RUN_STARTED`` and the ``run_dir`` configuration key), the harness's
structlog output goes to ``harness.log`` (JSON lines) and Chaos Toolkit's own log to ``chaostoolkit.log``
there. After it: the journal is written to ``journal.json`` in the same folder.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from chaoslib.types import Configuration, Experiment, Journal

from harness.logs import configure_logging
from harness.probes.prom import RUN_STARTED_ENV
from harness.rundir import RUN_DIR_ENV, RUNS_ROOT, new_run_dir

__all__ = ["after_experiment_control", "before_experiment_control"]

logger = logging.getLogger("chaostoolkit")
_handlers: list[logging.Handler] = []


def before_experiment_control(context: Experiment, configuration: Configuration | None = None,
                              runs_root: str | None = None, **_: Any) -> None:
    """Create the run directory and point logs at it."""
    directory = new_run_dir(context.get("title", "experiment"), Path(runs_root) if runs_root else RUNS_ROOT)
    started = time.time()
    os.environ[RUN_DIR_ENV] = str(directory)
    os.environ[RUN_STARTED_ENV] = str(started)
    if configuration is not None:
        configuration["run_dir"] = str(directory)
        configuration["run_started"] = started
    log_file = (directory / "harness.log").open("a", buffering=1)
    configure_logging(json_logs=True, stream=log_file)
    handler = logging.FileHandler(directory / "chaostoolkit.log")
    handler.setFormatter(logging.Formatter("[%(asctime)s %(levelname)s] %(message)s"))
    logger.addHandler(handler)
    _handlers.append(handler)
    logger.info(f"harness: run directory {directory}")


def after_experiment_control(context: Experiment, state: Journal | None = None,
                             configuration: Configuration | None = None, **_: Any) -> None:
    """Write the journal into the run directory and close the log files."""
    directory = Path((configuration or {}).get("run_dir") or os.environ.get(RUN_DIR_ENV, RUNS_ROOT / "adhoc"))
    if state is not None:
        (directory / "journal.json").write_text(json.dumps(state, indent=2, default=str))
        logger.info(f"harness: journal written to {directory / 'journal.json'}")
    while _handlers:
        handler = _handlers.pop()
        logger.removeHandler(handler)
        handler.close()
