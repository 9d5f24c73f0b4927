"""The API's errors, with the exact messages and status codes of Toxiproxy 2.12."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered as ``{"error": message, "status": status}``."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def joined(self, detail: str) -> ApiError:
        """This error with ``": detail"`` appended, as Go's ``joinError`` builds it."""
        return ApiError(f"{self.message}: {detail}", self.status)

    def as_json(self) -> dict[str, object]:
        return {"error": self.message, "status": self.status}


BAD_REQUEST_BODY = ApiError("bad request body", 400)
MISSING_FIELD = ApiError("missing required field", 400)
PROXY_NOT_FOUND = ApiError("proxy not found", 404)
PROXY_ALREADY_EXISTS = ApiError("proxy already exists", 409)
INVALID_STREAM = ApiError("stream was invalid, can be either upstream or downstream", 400)
INVALID_TOXIC_TYPE = ApiError("invalid toxic type", 400)
TOXIC_ALREADY_EXISTS = ApiError("toxic already exists", 409)
TOXIC_NOT_FOUND = ApiError("toxic not found", 404)


class ProxyAlreadyStarted(Exception):
    """``start()`` on a proxy that is already listening (ignored by ``/reset``)."""


def internal(message: str) -> ApiError:
    """Any other failure (bind, address parsing): the raw OS or resolver text with status 500."""
    return ApiError(message, 500)
