"""Chaos Toolkit control: a steady-state deviation *during* the method fails the run.

Chaos Toolkit records each continuous hypothesis check in the journal but, without ``--fail-fast``, leaves
the run "completed" with exit code 0 even when checks failed. This control reads those checks at the end,
marks the journal deviated (so ``chaos run`` exits 1), and writes ``harness_verdict``: pass or fail, and for
each failed check, which probe and why (its own explanation, or its error).
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
        return "".join(probe["exception"]).strip().splitlines()[-1]
    return f"output {output!r} outside tolerance"


def after_experiment_control(context: Experiment, state: Journal | None = None,
                             configuration: Configuration | None = None, **_: Any) -> None:
    """Fail the run on any deviation and say which probe deviated and why."""
    if state is None:
        return
    failures = failed_checks(state)
    if failures:
        state["deviated"] = True
    state["harness_verdict"] = {"verdict": "fail" if failures else "pass", "failed_checks": failures}
    for failure in failures:
        logger.error(f"harness verdict: {failure['phase']} check '{failure['probe']}' failed: {failure['reason']}")
    if not failures:
        logger.info("harness verdict: every steady-state check passed")
