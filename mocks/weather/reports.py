"""Deterministic weather reports: every value is derived from a hash of the city name."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

CONDITIONS = ("sunny", "partly cloudy", "cloudy", "light rain", "rain", "thunderstorm", "snow", "fog", "windy")
MAX_CITY_CHARS = 100


def validate_city(city: str | None) -> str:
    """The stripped city name; raises ValueError with a readable reason when it is unusable."""
    if city is None:
        raise ValueError("the query parameter 'city' is required, e.g. /v1/current?city=Paris")
    name = city.strip()
    if not name:
        raise ValueError("the query parameter 'city' must not be empty")
    if len(name) > MAX_CITY_CHARS:
        raise ValueError(f"the city name is too long ({len(name)} characters; at most {MAX_CITY_CHARS})")
    if not name.isprintable():
        raise ValueError("the city name contains control characters")
    return name


def current_weather(city: str, now: datetime | None = None) -> dict[str, object]:
    """The current weather in ``city``: same city (any case), same values; ``observed_at`` is the hour."""
    digest = hashlib.sha256(city.casefold().encode()).digest()
    observed = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    return {
        "city": city,
        "temperature_c": round(-20 + int.from_bytes(digest[0:2]) / 65535 * 60, 1),
        "condition": CONDITIONS[digest[2] % len(CONDITIONS)],
        "humidity": 10 + digest[3] % 91,
        "observed_at": observed.isoformat().replace("+00:00", "Z"),
    }
