"""Faults the A2A mock can inject, in the shared fault model (see ``mocks.common.faults``).

Applied to every JSON-RPC request (HTTP level, before the SDK sees it):

- ``latency``: wait ``latency_ms ± jitter_ms`` before processing the request.
- ``error``: answer HTTP ``status`` with an A2A JSON-RPC error body for a fraction ``rate`` of requests.

Applied inside a task (the task itself misbehaves, the HTTP exchange is normal):

- ``fail_task``: after the processing time the task ends in state ``failed`` with ``reason``.
- ``stall``: the task stays ``working`` until the fault is removed or expires, then finishes normally.

Scope keys: ``test_id`` (from the ``X-Test-Id`` header) and ``method`` (the JSON-RPC method name as sent,
e.g. ``message/send`` or ``SendMessage``).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from mocks.common.faults import (
    ErrorAttributes,
    FaultCatalog,
    FaultType,
    LatencyAttributes,
    NoAttributes,
    StrictAttributes,
)

TEST_ID_HEADER = "x-test-id"


class FailTaskAttributes(StrictAttributes):
    """End a fraction ``rate`` of tasks in state ``failed`` with ``reason`` as the status message."""

    reason: str = Field(default="injected task failure", min_length=1, max_length=500)
    rate: float = Field(default=1.0, ge=0, le=1)


A2A_FAULTS = FaultCatalog(
    [
        FaultType("latency", LatencyAttributes, "Delay every JSON-RPC request by latency_ms ± jitter_ms."),
        FaultType("error", ErrorAttributes,
                  "Answer HTTP `status` with a JSON-RPC error body for a fraction `rate` of JSON-RPC requests."),
        FaultType("fail_task", FailTaskAttributes,
                  "Tasks end in state 'failed' with `reason` (for a fraction `rate` of tasks)."),
        FaultType("stall", NoAttributes, "Tasks stay 'working' until this fault is removed or expires."),
    ],
    scope_keys=("test_id", "method"),
)


def fault_scope(headers: Mapping[str, str], method: str | None) -> dict[str, str | None]:
    """The request attributes a fault's scope is matched against."""
    return {"test_id": headers.get(TEST_ID_HEADER), "method": method}


