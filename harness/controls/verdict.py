"""Chaos Toolkit control: a steady-state deviation *during* the method fails the run.

Chaos Toolkit records each continuous hypothesis check in the journal but, without ``--fail-fast``, leaves
the run "completed" with exit code 0 even when checks failed; a method action that failed (a fault that
could not be injected) does not fail the run either. This control reads the journal at the end, marks it
deviated or failed (so ``chaos run`` exits 1), and writes ``harness_verdict``: pass or fail, and for each
failure which probe or action and why (its own explanation, or its error).
"""

from __future__ import annotations

import logging
from typing import Any

from chaoslib.types import Configuration, Experiment, Journal

__all__ = ["after_experiment_control", "failed_checks"]

logger = logging.getLogger("chaostoolkit")


def failed_checks(journal: Journal) -> list[dict[str, Any]]:
    """Every probe that failed or missed its tolerance, in any steady-state check (before, during, after)."""
    states = journal.get("steady_states") or {}
    checks = [("before", states.get("before")), *(("during", s) for s in states.get("during") or []),
              ("after", states.get("after"))]
    failures = []
    for phase, check in checks:
        if not check or check.get("steady_state_met") is not False:
            continue
        for probe in check.get("probes", []):
            if probe.get("tolerance_met") is False:
                failures.append({"phase": phase, "probe": probe["activity"].get("name"),
                                 "reason": _reason(probe), "at": probe.get("end")})
    return failures


def _reason(probe: dict[str, Any]) -> str:
    """The probe's own explanation, else the last line of its error, else its output."""
    output = probe.get("output")
    if isinstance(output, dict) and output.get("detail"):
        return str(output["detail"])
    if probe.get("exception"):
        return error_text(probe["exception"])
    return f"output {output!r} outside tolerance"


def error_text(exception: list[str]) -> str:
    """The message of a journal's formatted exception, without the exception class names before it."""
    line = "".join(exception).strip().splitlines()[-1]
    while ": " in line and line.split(": ", 1)[0].rsplit(".", 1)[-1].endswith(("Error", "Failed", "Exception")):
        line = line.split(": ", 1)[1]
    return line


def failed_actions(journal: Journal) -> list[dict[str, Any]]:
    """Method actions that failed: a fault that was not injected means the experiment did not test what it says."""
    return [{"phase": "method", "probe": run["activity"].get("name"), "at": run.get("end"),
             "reason": error_text(run.get("exception") or ["failed"])}
            for run in journal.get("run") or []
            if run.get("status") == "failed" and run["activity"].get("type") == "action"]


def after_experiment_control(context: Experiment, state: Journal | None = None,
                             configuration: Configuration | None = None, **_: Any) -> None:
    """Fail the run on any deviation or failed action, and say which activity and why."""
    if state is None:
        return
    deviations, broken = failed_checks(state), failed_actions(state)
    if deviations:
        state["deviated"] = True
    if broken and state.get("status") == "completed":
        state["status"] = "failed"
    failures = deviations + broken
    state["harness_verdict"] = {"verdict": "fail" if failures else "pass", "failed_checks": failures}
    for failure in failures:
        logger.error(f"harness verdict: {failure['phase']} '{failure['probe']}' failed: {failure['reason']}")
    if not failures:
        logger.info("harness verdict: every steady-state check passed")
