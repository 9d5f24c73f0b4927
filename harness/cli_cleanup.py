"""``harness cleanup``: put the world back after any run, finished, interrupted or killed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cleanup import cleanup
from harness.rundir import RUNS_ROOT


def cleanup_command(
    runs_dir: Annotated[Path, typer.Option(help="Where run directories are.")] = RUNS_ROOT,
    keep_stack: Annotated[bool, typer.Option(help="Leave the embedded stack running.")] = False,
    stack_dir: Annotated[Path | None, typer.Option(help="The stack's state directory (default runs/stack).")] = None,
) -> None:
    """Remove every fault any run recorded, stop every load process, and bring the embedded stack down."""
    report = cleanup(runs_dir, stack_dir=stack_dir, keep_stack=keep_stack)
    for line in report.faults_removed:
        typer.echo(f"fault: {line}")
    for line in report.load_stopped:
        typer.echo(f"load: {line}")
    if report.stack_stopped:
        typer.echo(f"stack: stopped {', '.join(report.stack_stopped)}")
    for problem in report.problems:
        typer.echo(f"problem: {problem}", err=True)
    if not (report.faults_removed or report.load_stopped or report.stack_stopped or report.problems):
        typer.echo("nothing to clean up")
    raise typer.Exit(1 if report.problems else 0)
