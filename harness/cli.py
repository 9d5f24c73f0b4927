"""The ``harness`` command line: one group per part of the harness."""

from __future__ import annotations

import typer

from harness.cli_backend import backend_command
from harness.cli_cleanup import cleanup_command
from harness.cli_load import load_app
from harness.cli_mock import mock_app
from harness.cli_stack import doctor_command, stack_app
from harness.proxy.cli import proxy_app

app = typer.Typer(
    help="Chaos-and-soak resilience harness for realtime LLM-agent backends.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(mock_app, name="mock")
app.add_typer(proxy_app, name="proxy")
app.command("backend")(backend_command)
app.add_typer(stack_app, name="stack")
app.command("doctor")(doctor_command)
app.add_typer(load_app, name="load")
app.command("cleanup")(cleanup_command)


if __name__ == "__main__":
    app()
