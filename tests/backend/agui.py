"""A test client for the backend's AG-UI streams: events are validated with ag-ui-protocol's models."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

import httpx
from ag_ui.core import Event
from pydantic import TypeAdapter

EVENT = TypeAdapter(Event)
RUN_END = ("RUN_FINISHED", "RUN_ERROR")


def parse_event(data: str) -> dict[str, Any]:
    """Validate one SSE payload as an AG-UI event (raises on anything the protocol does not allow)."""
    payload = json.loads(data)
    EVENT.validate_python(payload)
    return payload


class SessionStream:
    """``GET /ag-ui/events?thread_id=T`` read in a background thread, events queued as they arrive."""

    def __init__(self, base_url: str, thread_id: str) -> None:
        self.base_url = base_url
        self.thread_id = thread_id
        self.events: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self.comments: list[str] = []
        self.opened = threading.Event()
        self.closed = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self.opened.wait(10):
            raise RuntimeError(f"stream for {thread_id} did not open")

    def _read(self) -> None:
        try:
            with httpx.stream("GET", f"{self.base_url}/ag-ui/events", params={"thread_id": self.thread_id},
                              timeout=httpx.Timeout(5, read=None)) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.comments.append(line)
                        self.opened.set()
                    elif line.startswith("data: "):
                        self.events.put((time.perf_counter(), parse_event(line[6:])))
                    if self._stop.is_set():
                        return
        finally:
            self.opened.set()
            self.closed.set()

    def send(self, content: str, **extra: Any) -> httpx.Response:
        return httpx.post(f"{self.base_url}/ag-ui/events",
                          json={"type": "user_message", "thread_id": self.thread_id, "content": content, **extra})

    def turn(self, content: str, timeout: float = 30.0) -> tuple[list[dict[str, Any]], float]:
        """Send a turn and collect its events up to RUN_FINISHED/RUN_ERROR; also the time to the first event."""
        sent = time.perf_counter()
        response = self.send(content)
        assert response.status_code == 202, response.text
        return self.collect(timeout), sent

    def collect(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Events until the end of the next run."""
        return [event for _arrived, event in self.collect_timed(timeout)]

    def collect_timed(self, timeout: float = 30.0) -> list[tuple[float, dict[str, Any]]]:
        """``(arrival time, event)`` until the end of the next run."""
        collected: list[tuple[float, dict[str, Any]]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                arrived, event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            collected.append((arrived, event))
            if event["type"] in RUN_END:
                return collected
        raise AssertionError(f"no end of run within {timeout}s; got {[e['type'] for _, e in collected]}")

    def close(self) -> None:
        self._stop.set()


def run_standard(base_url: str, thread_id: str, run_id: str, messages: list[dict[str, Any]],
                 timeout: float = 30.0) -> list[dict[str, Any]]:
    """``POST /ag-ui/run`` and every validated event of the answer stream."""
    body = {"threadId": thread_id, "runId": run_id, "messages": messages, "tools": [], "context": [],
            "state": {}, "forwardedProps": {}}
    events = []
    with httpx.stream("POST", f"{base_url}/ag-ui/run", json=body, timeout=timeout) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(parse_event(line[6:]))
    return events


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]
