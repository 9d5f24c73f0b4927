"""Keep the SDK's stdlib logging quiet about client mistakes.

The a2a-sdk logs every rejected request (bad JSON-RPC, invalid params, version mismatch) as a warning,
some with a full traceback. Under load that costs time and floods the mock's JSON log with lines a
client caused; the mock counts them in ``mock_a2a_requests_total{outcome="rpc_error"}`` instead.
Internal errors (code -32603, unhandled exceptions) still get through.
"""

from __future__ import annotations

import logging

CLIENT_ERROR_PREFIXES = (
    "Request Error (ID:",
    "Version mismatch:",
    "Failed to validate base JSON-RPC request",
    "Failed to parse request params",
)
SDK_LOGGERS = (
    "a2a.server.routes.jsonrpc_dispatcher",
    "a2a.compat.v0_3.jsonrpc_adapter",
    "a2a.utils.version_validator",
)


class ClientErrorFilter(logging.Filter):
    """Drops the SDK's records about requests a client got wrong.

    ``Request Error`` at ERROR level is the SDK's internal-error case (-32603) and is kept.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a client-error record."""
        if not isinstance(record.msg, str) or not record.msg.startswith(CLIENT_ERROR_PREFIXES):
            return True
        return record.levelno >= logging.ERROR and record.msg.startswith("Request Error")


def quiet_sdk_client_errors() -> None:
    """Attach :class:`ClientErrorFilter` to the SDK loggers that report client errors (idempotent)."""
    for name in SDK_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, ClientErrorFilter) for existing in logger.filters):
            logger.addFilter(ClientErrorFilter())
