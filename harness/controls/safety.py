"""Chaos Toolkit control: on SIGINT/SIGTERM stop the load at once, and always play the rollbacks.

Chaos Toolkit's own handling is not safe for soaks: a signal waits for background activities, and the
default rollback strategy skips rollbacks after a signal or a failure. With this control:

- at the first SIGINT or SIGTERM, a thread stops every load process of the run and removes every fault in
  the run's ledger, right away, while Chaos Toolkit unwinds as usual;
- after the experiment, if the rollbacks were not played (whatever the strategy), they are played now and
  recorded in the journal; then any fault still in the ledger is removed and any load still running stopped.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from chaoslib.rollback import run_rollbacks
from chaoslib.types import Configuration, Experiment, Journal, Secrets

from harness.faults.record import ledger_for
from harness.faults.undo import undo_all
from harness.rundir import run_dir

__all__ = ["after_experiment_control", "before_experiment_control", "emergency_stop"]

logger = logging.getLogger("chaostoolkit")
HANDLED = (signal.SIGINT, signal.SIGTERM)
_previous: dict[int, Any] = {}
_emergency: list[threading.Thread] = []


def stop_load(configuration: Configuration | None = None, grace_s: float = 3.0) -> list[str]:
    """Stop every load process any run directory under the load root still lists; returns what was stopped."""
    from harness.load.runner import default_root, stop_run_dir

    stopped = []
    for state in default_root().glob("*/run.json"):
        stopped += [f"{state.parent.name}/{name}" for name in stop_run_dir(state.parent, grace_s)]
    return stopped


def emergency_stop(configuration: Configuration | None, reason: str) -> None:
    """Stop the load and remove every recorded fault; never raises."""
    try:
        stopped = stop_load(configuration)
        done, failed = undo_all(ledger_for(configuration), f"emergency stop ({reason})")
        level = logging.WARNING if stopped or done or failed else logging.INFO
        logger.log(level, f"harness: {reason}: stopped load {stopped or 'none'}; removed faults: {len(done)}; "
                          f"could not remove: {failed or 'none'}")
    except Exception:  # the emergency path must not die
        logger.exception("harness: emergency stop failed")


def before_experiment_control(context: Experiment, configuration: Configuration | None = None, **_: Any) -> None:
    """Wrap the SIGINT/SIGTERM handlers so the first signal starts the emergency stop."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in HANDLED:
        previous = signal.getsignal(signum)
        _previous[signum] = previous

        def handler(received: int, frame: Any, previous: Any = previous) -> Any:
            if not _emergency:
                name = signal.Signals(received).name
                worker = threading.Thread(target=emergency_stop, args=(configuration, f"received {name}"),
                                          name="harness-emergency-stop", daemon=True)
                _emergency.append(worker)
                worker.start()
            if callable(previous):
                return previous(received, frame)
            raise KeyboardInterrupt

        signal.signal(signum, handler)


def after_experiment_control(context: Experiment, state: Journal | None = None,
                             configuration: Configuration | None = None, secrets: Secrets | None = None,
                             **_: Any) -> None:
    """Play rollbacks that were skipped, then make sure no fault and no load is left behind."""
    for signum, previous in _previous.items():
        signal.signal(signum, previous)
    _previous.clear()
    for worker in _emergency:
        worker.join(timeout=30)
    _emergency.clear()
    if state is not None and context.get("rollbacks") and not state.get("rollbacks"):
        logger.warning("harness: the rollbacks were skipped by Chaos Toolkit's strategy; playing them now")
        runs: list[Any] = []
        state["rollbacks"] = runs
        foreground = {**context, "rollbacks": [{**a, "background": False} for a in context["rollbacks"]]}
        for _run in run_rollbacks(foreground, configuration or {}, secrets or {}, None, None, None, runs):
            pass
    emergency_stop(configuration, "end of experiment")
    logger.info(f"harness: run directory {run_dir(configuration)}")
