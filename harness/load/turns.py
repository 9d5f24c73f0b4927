"""One turn measured by its events' arrival, and the fixed set of failure kinds.

A turn starts when the user message is sent (``perf_counter`` before the request) and ends at a finish
event (``RUN_FINISHED``) or an error event (``RUN_ERROR``). On the way it records the time to the first
event, to the first *response* event (configurable types, default ``TEXT_MESSAGE_*`` or ``TOOL_CALL_START``),
to the first answer token, and counts events and bytes. Failures are one of a fixed set of kinds, so an
error message with an id in it never becomes a new statistic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.load.sse import SseEvent

RUN_ERROR_CODES = ("llm_rate_limited", "llm_unavailable", "llm_timeout", "llm_stream_broken", "persistence_failed",
                   "too_many_steps", "cancelled", "internal_error")
TRANSPORT_KINDS = ("connect", "http_4xx", "http_429", "http_5xx", "timeout", "stream_broken", "stream_ended",
                   "protocol", "refused_target")
FAILURE_KINDS = (*TRANSPORT_KINDS, *(f"run_error_{code}" for code in RUN_ERROR_CODES), "run_error_other", "other")
_KNOWN = frozenset(FAILURE_KINDS)
TIMINGS = ("first_event_ms", "first_response_ms", "first_token_ms", "turn_ms")


def normalise_kind(kind: str) -> str:
    """``kind`` if it is one of :data:`FAILURE_KINDS`, else ``other``."""
    return kind if kind in _KNOWN else "other"


def run_error_kind(code: object) -> str:
    """The failure kind of a ``RUN_ERROR`` with ``code`` (unknown codes share ``run_error_other``)."""
    return f"run_error_{code}" if code in RUN_ERROR_CODES else "run_error_other"


class TypeMatcher:
    """Matches AG-UI event types against names and ``PREFIX*`` patterns, remembering up to 512 answers."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.exact = frozenset(p for p in patterns if not p.endswith("*"))
        self.prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))
        self._cache: dict[str, bool] = {}

    def __call__(self, event_type: str | None) -> bool:
        if event_type is None:
            return False
        hit = self._cache.get(event_type)
        if hit is None:
            hit = event_type in self.exact or event_type.startswith(self.prefixes)
            if len(self._cache) < 512:
                self._cache[event_type] = hit
        return hit


@dataclass(frozen=True)
class TurnEventTypes:
    """Which event types mean response, answer token, finish and error."""

    response: TypeMatcher
    answer: TypeMatcher
    finish: TypeMatcher
    error: TypeMatcher

    @classmethod
    def of(cls, response: Iterable[str], answer: Iterable[str], finish: Iterable[str],
           error: Iterable[str]) -> TurnEventTypes:
        return cls(TypeMatcher(response), TypeMatcher(answer), TypeMatcher(finish), TypeMatcher(error))


@dataclass
class TurnResult:
    """What one turn measured. Timings are milliseconds from sending the message; ``None`` if never reached."""

    scenario: str
    first_event_ms: float | None = None
    first_response_ms: float | None = None
    first_token_ms: float | None = None
    turn_ms: float | None = None
    events: int = 0
    bytes: int = 0
    failure: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.failure is None

    def timings(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in TIMINGS}


@dataclass
class TurnClock:
    """Feed a turn's events as they arrive; ``observe`` returns True at the finish or error event."""

    sent: float
    types: TurnEventTypes
    result: TurnResult = field(default_factory=lambda: TurnResult(""))

    def observe(self, event: SseEvent) -> bool:
        result = self.result
        result.bytes += event.size
        if event.kind != "data":
            return False
        result.events += 1
        elapsed = (event.at - self.sent) * 1000.0
        if result.first_event_ms is None:
            result.first_event_ms = elapsed
        kind = event.type
        if result.first_response_ms is None and self.types.response(kind):
            result.first_response_ms = elapsed
        if result.first_token_ms is None and self.types.answer(kind):
            result.first_token_ms = elapsed
        if self.types.finish(kind):
            result.turn_ms = elapsed
            return True
        if self.types.error(kind):
            result.turn_ms = elapsed
            try:
                code = event.json().get("code")
            except (ValueError, AttributeError):
                code = None
            self.fail(run_error_kind(code), f"RUN_ERROR {code}")
            return True
        return False

    def fail(self, kind: str, detail: str = "") -> TurnResult:
        """Mark the turn failed with ``kind`` (normalised to the fixed set); returns the result."""
        if self.result.failure is None:
            self.result.failure = normalise_kind(kind)
            self.result.detail = detail[:200]
        return self.result
