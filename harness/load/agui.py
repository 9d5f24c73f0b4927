"""AG-UI over both transports for one Locust user, timed by each event's arrival (Locust process only: gevent).

- session: ``GET /ag-ui/events?thread_id=T`` is held open; a turn is ``POST /ag-ui/events`` (``user_message``,
  answered 202) while a second greenlet reads the run's events from the stream, so an event that arrives
  before the POST's answer is stamped when it arrives, not when the POST returns.
- run: ``POST /ag-ui/run`` with a ``RunAgentInput``; its answer is the run's SSE stream.

Every failure becomes a :class:`TurnResult` with one of the fixed failure kinds; a stream that timed out or
broke is closed and reopened for the next turn, so a late event never counts for the wrong turn.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import gevent

from harness.load.config import LoadConfig
from harness.load.safety import Target
from harness.load.sse import SseStream
from harness.load.turns import TurnClock, TurnEventTypes, TurnResult
from harness.load.wire import Connection, HttpStatusError, ReadTimeout, StreamBroken, WireError

SSE_HEADERS = {"Accept": "text/event-stream"}


class SseGauge(Protocol):
    def sse_opened(self) -> None: ...
    def sse_closed(self) -> None: ...


class StreamEnded(WireError):
    """The server ended an SSE stream before the run or hold was over."""

    kind = "stream_ended"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def run_input(thread_id: str, run_id: str, messages: list[dict[str, str]]) -> bytes:
    """A ``RunAgentInput`` body for ``POST /ag-ui/run``."""
    return json.dumps({"threadId": thread_id, "runId": run_id, "messages": messages, "tools": [], "context": [],
                       "state": {}, "forwardedProps": {}}).encode()


def read_run(stream: SseStream, clock: TurnClock, deadline: float, idle_timeout: float) -> None:
    """Feed ``clock`` with events until the run's finish or error event; raises on timeout or a broken stream."""
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            raise ReadTimeout("no RUN_FINISHED before the turn timeout")
        event = stream.next_event(min(left, idle_timeout))
        if event is None:
            raise StreamEnded("the stream ended before the run did")
        if clock.observe(event):
            return


class Session:
    """One open session stream for a thread."""

    def __init__(self, target: Target, thread_id: str, config: LoadConfig, gauge: SseGauge) -> None:
        self.thread_id = thread_id
        self._gauge = gauge
        self._connection = Connection(target, connect_timeout=config.connect_timeout_s,
                                      read_timeout=config.connect_timeout_s)
        status, body = self._connection.open("GET", f"/ag-ui/events?thread_id={thread_id}", headers=SSE_HEADERS)
        if status != 200:
            data = body.read_all(config.connect_timeout_s)
            self._connection.close()
            raise HttpStatusError(status, data)
        self.stream = SseStream(body)
        gauge.sse_opened()
        self._open = True

    def close(self) -> None:
        if self._open:
            self._open = False
            self._gauge.sse_closed()
        self._connection.close()


class AgUiClient:
    """The AG-UI client of one user: its POST connection and, for the session transport, its stream."""

    def __init__(self, target: Target, config: LoadConfig, types: TurnEventTypes, gauge: SseGauge) -> None:
        self.target = target
        self.config = config
        self.types = types
        self.gauge = gauge
        self.http = Connection(target, connect_timeout=config.connect_timeout_s, read_timeout=config.turn_timeout_s)
        self.session: Session | None = None

    def open_session(self, thread_id: str) -> Session:
        """The open stream of ``thread_id`` (opening it, and closing any other, when needed)."""
        if self.session is not None and self.session.thread_id != thread_id:
            self.close_session()
        if self.session is None:
            self.session = Session(self.target, thread_id, self.config, self.gauge)
        return self.session

    def close_session(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def turn(self, scenario: str, transport: str, thread_id: str, content: str,
             history: list[dict[str, str]] | None = None) -> TurnResult:
        """One user message and its run, measured; never raises for the target's failures."""
        clock = TurnClock(time.perf_counter(), self.types, TurnResult(scenario))
        try:
            if transport == "session":
                self._session_turn(clock, thread_id, content)
            else:
                self._standard_turn(clock, thread_id, content, history or [])
        except WireError as error:
            clock.fail(error.kind, str(error))
            if transport == "session":
                self.close_session()
            else:
                self.http.close()
        return clock.result

    def _session_turn(self, clock: TurnClock, thread_id: str, content: str) -> None:
        session = self.open_session(thread_id)
        clock.sent = time.perf_counter()
        deadline = clock.sent + self.config.turn_timeout_s
        reader = gevent.spawn(read_run, session.stream, clock, deadline, self.config.stream_idle_timeout_s)
        try:
            response = self.http.post_json("/ag-ui/events", {"type": "user_message", "thread_id": thread_id,
                                                             "content": content})
            if response.status != 202:
                raise HttpStatusError(response.status, response.body)
            reader.join(timeout=max(0.0, deadline - time.perf_counter()) + 1.0)
            if not reader.ready():
                raise ReadTimeout("no RUN_FINISHED before the turn timeout")
            reader.get()
        finally:
            if not reader.ready():
                reader.kill(block=True)

    def _standard_turn(self, clock: TurnClock, thread_id: str, content: str,
                       history: list[dict[str, str]]) -> None:
        messages = [*history, {"id": new_id("m"), "role": "user", "content": content}]
        body = run_input(thread_id, new_id("run"), messages)
        clock.sent = time.perf_counter()
        status, response = self.http.open("POST", "/ag-ui/run", body,
                                          {"Content-Type": "application/json", **SSE_HEADERS})
        if status != 200:
            raise HttpStatusError(status, response.read_all(self.config.connect_timeout_s))
        stream = SseStream(response)
        self.gauge.sse_opened()
        try:
            read_run(stream, clock, clock.sent + self.config.turn_timeout_s, self.config.stream_idle_timeout_s)
            _drain(stream, 1.0)
        finally:
            self.gauge.sse_closed()
        self.http.release(response)

    def hold(self, seconds: float, on_event: Callable[[Any], None] | None = None) -> tuple[str | None, int]:
        """Open a stream on a new thread and hold it for ``seconds``: ``(failure kind or None, bytes received)``."""
        received = 0
        end = time.perf_counter() + seconds
        try:
            session = self.open_session(new_id("idle"))
            while (left := end - time.perf_counter()) > 0:
                try:
                    event = session.stream.next_event(min(left, self.config.stream_idle_timeout_s))
                except ReadTimeout:
                    if end - time.perf_counter() <= 0.05:
                        break
                    raise
                if event is None:
                    raise StreamEnded("the server ended the idle stream")
                received += event.size
                if on_event is not None:
                    on_event(event)
            return None, received
        except WireError as error:
            return error.kind, received
        finally:
            self.close_session()

    def close(self) -> None:
        self.close_session()
        self.http.close()


def _drain(stream: SseStream, timeout: float) -> None:
    """Read what is left of a finished run's body (usually just the end of the chunked body), briefly."""
    try:
        for _ in range(64):
            if stream.next_event(timeout) is None:
                return
    except (ReadTimeout, StreamBroken):
        return
