"""The harness's one control for an experiment: every safety net, in the order that keeps them right.

Declare it once::

    "controls": [{"name": "harness", "provider": {"type": "python", "module": "harness.controls.experiment",
                  "arguments": {"defects": "${backend_defects}", "audit_log": "on"}}}]

Before the experiment: run directory and logs, then the embedded stack (unless the configuration targets
an existing deployment), then the signal handlers. After it: rollbacks that were skipped are played and
every fault and load process is stopped (while the stack still runs), then the verdict is settled, then
the stack goes down, and last the journal is written to the run directory.
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Experiment, Journal, Secrets

from harness.controls import rundir, safety, stack, verdict

__all__ = ["after_experiment_control", "before_experiment_control"]


def before_experiment_control(context: Experiment, configuration: Configuration | None = None,
                              secrets: Secrets | None = None, **arguments: Any) -> None:
    """Run directory, stack, signal handlers — in that order."""
    rundir.before_experiment_control(context, configuration=configuration, **arguments)
    stack.before_experiment_control(context, configuration=configuration, **arguments)
    safety.before_experiment_control(context, configuration=configuration)


def after_experiment_control(context: Experiment, state: Journal | None = None,
                             configuration: Configuration | None = None, secrets: Secrets | None = None,
                             **arguments: Any) -> None:
    """Rollbacks and clean-up, verdict, stack down, journal — in that order."""
    safety.after_experiment_control(context, state=state, configuration=configuration, secrets=secrets)
    verdict.after_experiment_control(context, state=state, configuration=configuration)
    stack.after_experiment_control(context, state=state, configuration=configuration, **arguments)
    rundir.after_experiment_control(context, state=state, configuration=configuration)
