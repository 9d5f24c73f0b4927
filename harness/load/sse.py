"""Server-Sent Events parsed incrementally: each event leaves the parser in the same ``recv`` its last byte came in.

AG-UI events are ``data: {json}`` blocks whose JSON starts with ``"type"``; the type is read without parsing
the whole payload (the payload is parsed only when asked, e.g. for a ``RUN_ERROR``'s code). Comments
(``: connected``, ``: heartbeat``) come out as events of kind ``comment``.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.load.wire import BodyStream, ProtocolError

MAX_EVENT = 1024 * 1024
TYPE_PREFIX = b'{"type":"'


@dataclass(slots=True)
class SseEvent:
    """One SSE event: arrival stamp, ``data`` or ``comment``, AG-UI type (data events), payload and wire size."""

    at: float
    kind: str
    type: str | None
    data: bytes
    size: int

    def json(self) -> Any:
        return json.loads(self.data)


def event_type(payload: bytes, sse_event_name: str | None = None) -> str | None:
    """The AG-UI ``type`` of a payload (fast path for ``{"type":"X",...``), or the SSE ``event:`` name."""
    if payload.startswith(TYPE_PREFIX):
        end = payload.find(b'"', len(TYPE_PREFIX))
        if end > 0:
            return payload[len(TYPE_PREFIX):end].decode()
    try:
        value = json.loads(payload)
    except ValueError:
        return sse_event_name
    found = value.get("type") if isinstance(value, dict) else None
    return found if isinstance(found, str) else sse_event_name


class SseParser:
    """Feed body bytes, get complete events; partial events wait for their next bytes."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes, at: float) -> list[SseEvent]:
        buf = self._buf + data if self._buf else data
        if b"\r" in buf:
            keep_cr = buf.endswith(b"\r")
            buf = buf.replace(b"\r\n", b"\n")
            if keep_cr:  # a CRLF split across reads: wait for the LF
                self._buf = buf
                return self._split(at)
            buf = buf.replace(b"\r", b"\n")
        self._buf = buf
        return self._split(at)

    def _split(self, at: float) -> list[SseEvent]:
        blocks = self._buf.split(b"\n\n")
        self._buf = blocks.pop()
        if len(self._buf) > MAX_EVENT:
            raise ProtocolError(f"SSE event over {MAX_EVENT} bytes")
        events = []
        for block in blocks:
            block = block.lstrip(b"\n")
            if block:
                events.append(self._event(block, at))
        return events

    @staticmethod
    def _event(block: bytes, at: float) -> SseEvent:
        size = len(block) + 2
        if block.startswith(b"data: ") and b"\n" not in block:
            payload = block[6:]
            return SseEvent(at, "data", event_type(payload), payload, size)
        if block.startswith(b":") and b"\n" not in block:
            return SseEvent(at, "comment", None, block[1:].strip(), size)
        data_lines, name, comments = [], None, []
        for line in block.split(b"\n"):
            field, _, value = line.partition(b":")
            value = value[1:] if value.startswith(b" ") else value
            if field == b"data":
                data_lines.append(value)
            elif field == b"event":
                name = value.decode(errors="replace")
            elif not field:
                comments.append(value.strip())
        if not data_lines:
            return SseEvent(at, "comment", None, b"\n".join(comments), size)
        payload = b"\n".join(data_lines)
        return SseEvent(at, "data", event_type(payload, name), payload, size)


class SseStream:
    """A response body read as SSE; ``events()`` can be left and resumed without losing an event."""

    def __init__(self, body: BodyStream) -> None:
        self.body = body
        self._parser = SseParser()
        self._pending: deque[SseEvent] = deque()

    def next_event(self, timeout: float) -> SseEvent | None:
        """The next event (waiting at most ``timeout`` per read), or ``None`` when the body has ended."""
        while not self._pending:
            item = self.body.read(timeout)
            if item is None:
                return None
            self._pending.extend(self._parser.feed(*item))
        return self._pending.popleft()

    def events(self, timeout: float) -> Iterator[SseEvent]:
        """Events as they arrive until the body ends."""
        while (event := self.next_event(timeout)) is not None:
            yield event
