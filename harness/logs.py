"""structlog set-up shared by the harness and the mock services.

Logs are JSON lines (one event per line) so that a run directory can be grepped and parsed; pass
``json_logs=False`` for a console renderer when a person watches. Secrets never reach the output:
``redact_secrets`` masks any key that looks like a credential.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

SECRET_KEY_PARTS = ("key", "token", "secret", "password", "authorization")


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask values whose key names a credential (api_key, control_token, password, ...)."""
    for key in list(event_dict):
        if any(part in key.lower() for part in SECRET_KEY_PARTS) and event_dict[key]:
            event_dict[key] = "***"
    return event_dict


def configure_logging(*, json_logs: bool = True, level: str = "info", stream: TextIO | None = None) -> None:
    """Configure structlog (and stdlib logging underneath it) for this process."""
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        raise ValueError(f"unknown log level {level!r}: use debug, info, warning or error")
    renderer: Any = structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric_level, logging.WARNING), stream=stream or sys.stderr)
