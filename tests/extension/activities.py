"""Small activities for control tests: files as flags, and a sleep that a signal can interrupt."""

from __future__ import annotations

import time
from pathlib import Path


def flag_absent(path: str) -> bool:
    """True while the flag file does not exist."""
    return not Path(path).exists()


def write_marker(path: str, text: str = "x") -> str:
    """Create (or append to) a marker file."""
    with Path(path).open("a") as marker:
        marker.write(text + "\n")
    return text


def remove_marker(path: str) -> None:
    """Delete a marker file if it exists."""
    Path(path).unlink(missing_ok=True)


def sleep_for(seconds: float) -> None:
    """Sleep (the method's stand-in for a long soak)."""
    time.sleep(seconds)
