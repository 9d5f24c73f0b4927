"""``harness cleanup``: remove every fault any run recorded, stop load, bring the embedded stack down.

Safe to run at any time, any number of times: removing a fault that is already gone counts as done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.controls.safety import stop_load
from harness.faults.ledger import LEDGER_NAME, FaultLedger
from harness.faults.undo import undo_all
from harness.rundir import RUNS_ROOT


@dataclass
class CleanupReport:
    """What cleanup did, and what it could not do."""

    faults_removed: list[str] = field(default_factory=list)
    load_stopped: list[str] = field(default_factory=list)
    stack_stopped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def run_dirs(root: Path) -> list[Path]:
    """Run directories under ``root`` that have a fault ledger."""
    return sorted(path.parent for path in root.glob(f"*/{LEDGER_NAME}")) if root.exists() else []


def cleanup(root: Path = RUNS_ROOT, *, stack_dir: Path | None = None, keep_stack: bool = False) -> CleanupReport:
    """Undo every unremoved fault under ``root``, stop load of every run, and stop the stack unless kept."""
    report = CleanupReport()
    for directory in run_dirs(root):
        done, failed = undo_all(FaultLedger(directory), "harness cleanup")
        report.faults_removed += done
        report.problems += failed
    report.load_stopped = stop_load()
    if not keep_stack:
        from harness.stack.errors import StackError
        from harness.stack.lifecycle import down
        from harness.stack.state import StackState, default_state_dir

        directory = stack_dir or default_state_dir()
        try:
            if StackState.load(directory) is not None:
                report.stack_stopped = down(directory)
        except StackError as error:
            report.problems.append(str(error))
    return report
