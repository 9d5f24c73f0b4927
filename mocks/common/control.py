"""The fault control API, the same on every mock.

``GET /_control/faults`` lists active faults, ``POST /_control/faults`` adds one,
``DELETE /_control/faults/{id}`` and ``DELETE /_control/faults`` remove them, and
``GET /_control/fault-types`` describes what this mock can inject. Only loopback clients may call
it, unless a token is configured: then any client with ``Authorization: Bearer <token>`` may.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mocks.common.faults import FaultBoard, FaultError

log = structlog.get_logger("control")


def control_error(status: int, kind: str, message: str) -> JSONResponse:
    """An error of the control API: ``{"error": {"type": ..., "message": ...}}``."""
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8 and ::1 (and IPv4-mapped loopback)."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


async def read_json_object(request: Request) -> dict[str, Any]:
    """Parse the body as a JSON object; raises ValueError with a readable reason."""
    raw = await request.body()
    if not raw:
        raise ValueError("the request body is empty; send a JSON object")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"the request body is not valid JSON ({error})") from None
    if not isinstance(body, dict):
        raise ValueError(f"the request body must be a JSON object, not {type(body).__name__}")
    return body


def control_routes(board: FaultBoard, *, token: str | None = None) -> list[Route]:
    """Starlette routes of the control API bound to ``board``."""

    def refuse(request: Request) -> JSONResponse | None:
        if token:
            supplied = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not secrets.compare_digest(supplied, token):
                return control_error(401, "unauthorized", "the control API needs 'Authorization: Bearer <token>'")
            return None
        client = request.client.host if request.client else None
        if not is_loopback(client):
            return control_error(403, "forbidden", f"the control API accepts only loopback clients (got {client}); "
                                 "start the mock with a control token to allow remote control")
        return None

    async def list_faults(request: Request) -> JSONResponse:
        if (denied := refuse(request)) is not None:
            return denied
        now = board.now()
        return JSONResponse({"faults": [fault.to_json(now) for fault in board.active()]})

    async def add_fault(request: Request) -> JSONResponse:
        if (denied := refuse(request)) is not None:
            return denied
        try:
            fault = board.add(await read_json_object(request))
        except (ValueError, FaultError) as error:
            return control_error(400, "invalid_fault", str(error))
        log.info("fault_added", fault_id=fault.id, fault_type=fault.type, scope=fault.scope,
                 expires_at=fault.expires_at)
        return JSONResponse(fault.to_json(board.now()), status_code=201)

    async def delete_fault(request: Request) -> JSONResponse:
        if (denied := refuse(request)) is not None:
            return denied
        fault_id = request.path_params["fault_id"]
        if board.remove(fault_id) is None:
            return control_error(404, "not_found", f"no active fault with id {fault_id!r} (it may have expired)")
        log.info("fault_removed", fault_id=fault_id)
        return JSONResponse({"deleted": [fault_id]})

    async def delete_all(request: Request) -> JSONResponse:
        if (denied := refuse(request)) is not None:
            return denied
        ids = [fault.id for fault in board.active()]
        board.clear()
        log.info("faults_cleared", count=len(ids))
        return JSONResponse({"deleted": ids})

    async def fault_types(request: Request) -> JSONResponse:
        if (denied := refuse(request)) is not None:
            return denied
        return JSONResponse(board.catalog.describe())

    return [
        Route("/_control/faults", list_faults, methods=["GET"]),
        Route("/_control/faults", add_fault, methods=["POST"]),
        Route("/_control/faults", delete_all, methods=["DELETE"]),
        Route("/_control/faults/{fault_id}", delete_fault, methods=["DELETE"]),
        Route("/_control/fault-types", fault_types, methods=["GET"]),
    ]
