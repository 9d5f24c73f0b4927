"""Read an SSE response over raw httpx, event by event, as it arrives."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class StreamRecord:
    """What a raw reader saw: ``data`` payloads (``[DONE]`` kept as a string) and arrival times."""

    events: list[Any] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    error: Exception | None = None

    @property
    def done(self) -> bool:
        return bool(self.events) and self.events[-1] == "[DONE]"

    def chunks(self) -> list[dict[str, Any]]:
        return [event for event in self.events if isinstance(event, dict)]


def iter_data(response: httpx.Response) -> Iterator[str]:
    """The ``data:`` payload of each event."""
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield line[6:]


def read_stream(url: str, body: dict[str, Any], *, headers: dict[str, str] | None = None,
                timeout: float = 10.0, max_events: int | None = None) -> StreamRecord:
    """POST ``body`` and record every event until the stream ends, breaks or ``max_events``."""
    record = StreamRecord()
    started = time.perf_counter()
    try:
        with httpx.stream("POST", url, json=body, headers=headers, timeout=timeout) as response:
            response.raise_for_status()
            for data in iter_data(response):
                record.arrivals.append(time.perf_counter() - started)
                record.events.append(data if data == "[DONE]" else json.loads(data))
                if max_events is not None and len(record.events) >= max_events:
                    break
    except (httpx.HTTPError, httpx.StreamError) as error:
        record.error = error
    return record
