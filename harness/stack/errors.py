"""The one error type of the stack: its message says what went wrong and what to do."""

from __future__ import annotations


class StackError(RuntimeError):
    """The stack could not be brought up, inspected or down; nothing it started is left running."""
