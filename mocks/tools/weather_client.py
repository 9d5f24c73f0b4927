"""The weather tool's HTTP client: one shared ``httpx.AsyncClient`` to the weather API.

The weather API is a separate HTTP service on purpose, so that "a tool that is an HTTP endpoint" can
be slowed or cut by the fault proxy in between. Its failures become :class:`WeatherError` with a
message naming what the weather API answered.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

DEFAULT_TIMEOUT_S = 10.0


class WeatherReport(BaseModel):
    """What ``GET /v1/current`` answers (and the weather tool's structured output)."""

    city: str
    temperature_c: float
    condition: str
    humidity: int
    observed_at: str


class WeatherError(RuntimeError):
    """The weather API could not give a report; the message names its status or the transport error."""


class WeatherClient:
    """Calls ``GET {base_url}/v1/current?city=...``; create once, close with :meth:`aclose`."""

    def __init__(self, base_url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    async def current(self, city: str, *, test_id: str | None = None) -> WeatherReport:
        """The current weather in ``city``; raises :class:`WeatherError`."""
        headers = {"x-test-id": test_id} if test_id else None
        try:
            response = await self._client.get("/v1/current", params={"city": city}, headers=headers)
        except httpx.TimeoutException:
            raise WeatherError(f"the weather API at {self.base_url} did not answer within "
                               f"{self._client.timeout.read}s") from None
        except httpx.HTTPError as error:
            raise WeatherError(f"the weather API at {self.base_url} is unreachable "
                               f"({type(error).__name__}: {error})") from None
        if response.status_code != 200:
            raise WeatherError(f"the weather API answered HTTP {response.status_code}: {_error_message(response)}")
        try:
            return WeatherReport.model_validate_json(response.content)
        except ValidationError as error:
            raise WeatherError(f"the weather API answered HTTP 200 with an unexpected body "
                               f"({error.error_count()} problems)") from None

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._client.aclose()


def _error_message(response: httpx.Response) -> str:
    """The message of an ``{"error": {"message": ...}}`` body, else the start of the body."""
    try:
        body: Any = response.json()
        message = body["error"]["message"]
        if isinstance(message, str):
            return message
    except (ValueError, KeyError, TypeError):
        pass
    return response.text[:200] or "(empty body)"
