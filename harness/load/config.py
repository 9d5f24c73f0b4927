"""The load's settings: scenario mix by weight, transports, the tool to hammer, idle holds, think time,
which AG-UI event types count as a response, timeouts and the load shape.

A config is plain JSON (``LoadConfig.from_dict``); the runner hands it to every Locust process in
``$HARNESS_LOAD_CONFIG`` (inline JSON or a path to a JSON file). Without it the locustfile runs a default mix.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

CONFIG_ENV = "HARNESS_LOAD_CONFIG"
SCENARIOS = ("simple", "tools", "chain", "a2a", "idle", "conversation")
TOOLS = ("any", "calculator", "weather", "notes")
TRANSPORTS = ("session", "run")
IDLE_KINDS = ("short", "medium", "long")
SHAPES = ("constant", "ramp", "step", "spike", "soak")
DEFAULT_MIX = {"simple": 4.0, "tools": 2.0, "chain": 1.0, "a2a": 1.0, "idle": 1.0, "conversation": 2.0}


class ConfigError(ValueError):
    """A load configuration that cannot be used; the message names the field."""


@dataclass(frozen=True)
class IdleSettings:
    """How long an ``idle`` user holds its SSE stream, by kind, and how often each kind is picked."""

    short_s: float = 10.0
    medium_s: float = 60.0
    long_s: float = 600.0
    mix: dict[str, float] = field(default_factory=lambda: {"short": 1.0, "medium": 1.0, "long": 1.0})

    def duration(self, kind: str) -> float:
        return float(getattr(self, f"{kind}_s"))


@dataclass(frozen=True)
class LoadConfig:
    """Everything the Locust users and shapes read; every field has a sensible default."""

    scenarios: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    transport: str = "session"
    transports: dict[str, str] = field(default_factory=dict)
    tool: str = "any"
    idle: IdleSettings = field(default_factory=IdleSettings)
    conversation_turns: int = 4
    think_time_s: tuple[float, float] = (1.0, 3.0)
    wait_time_s: tuple[float, float] = (0.0, 0.0)
    response_events: tuple[str, ...] = ("TEXT_MESSAGE_*", "TOOL_CALL_START")
    answer_events: tuple[str, ...] = ("TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CHUNK")
    finish_events: tuple[str, ...] = ("RUN_FINISHED",)
    error_events: tuple[str, ...] = ("RUN_ERROR",)
    turn_timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    stream_idle_timeout_s: float = 45.0
    users: int = 10
    spawn_rate: float = 5.0
    run_time_s: float = 60.0
    shape: dict[str, Any] | None = None
    slo: dict[str, float] = field(default_factory=lambda: {"first_response_p95_ms": 2000.0, "failure_ratio": 0.01})
    summary_interval_s: float = 2.0
    window_s: float = 60.0
    history_keep: int = 720

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        unknown = set(self.scenarios) - set(SCENARIOS)
        if unknown:
            raise ConfigError(f"scenarios: unknown {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
        if any(w < 0 for w in self.scenarios.values()) or not any(w > 0 for w in self.scenarios.values()):
            raise ConfigError("scenarios: weights must be >= 0 and at least one > 0")
        for name, transport in {"*": self.transport, **self.transports}.items():
            if transport not in TRANSPORTS:
                raise ConfigError(f"transport for {name}: {transport!r}; use session or run")
        if self.transports.get("idle", "session") != "session" or set(self.transports) - set(SCENARIOS):
            raise ConfigError("transports: keys are scenario names; idle holds a session stream")
        if self.tool not in TOOLS:
            raise ConfigError(f"tool: {self.tool!r}; use one of {', '.join(TOOLS)}")
        if set(self.idle.mix) - set(IDLE_KINDS) or not any(w > 0 for w in self.idle.mix.values()):
            raise ConfigError(f"idle.mix: weights for {', '.join(IDLE_KINDS)}, at least one > 0")
        if self.shape is not None and self.shape.get("name") not in SHAPES:
            raise ConfigError(f"shape.name: {self.shape.get('name')!r}; use one of {', '.join(SHAPES)}")
        for name in ("think_time_s", "wait_time_s"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ConfigError(f"{name}: [low, high] with 0 <= low <= high, got {[low, high]}")
        if not self.response_events:
            raise ConfigError("response_events: at least one event type (e.g. TEXT_MESSAGE_*)")
        for name in ("turn_timeout_s", "connect_timeout_s", "stream_idle_timeout_s", "summary_interval_s",
                     "window_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0")

    def transport_of(self, scenario: str) -> str:
        """The transport ``scenario`` uses: its own override, else the default."""
        return "session" if scenario == "idle" else self.transports.get(scenario, self.transport)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def with_changes(self, **changes: Any) -> LoadConfig:
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadConfig:
        """Build from JSON-like data; unknown keys are an error (a typo must not pass silently)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown config keys {sorted(unknown)}; known: {', '.join(sorted(known))}")
        values = dict(data)
        if isinstance(values.get("idle"), dict):
            idle_known = {f.name for f in fields(IdleSettings)}
            if set(values["idle"]) - idle_known:
                raise ConfigError(f"idle: unknown keys {sorted(set(values['idle']) - idle_known)}")
            values["idle"] = IdleSettings(**values["idle"])
        if isinstance(values.get("scenarios"), str):
            values["scenarios"] = parse_mix(values["scenarios"])
        for name in ("think_time_s", "wait_time_s", "response_events", "answer_events", "finish_events",
                     "error_events"):
            if name in values:
                values[name] = tuple(values[name])
        try:
            return cls(**values)
        except TypeError as error:
            raise ConfigError(f"config: {error}") from None


def parse_mix(text: str) -> dict[str, float]:
    """``"simple"`` or ``"simple:3,tools:1"`` (or ``"all"``) as ``{scenario: weight}``."""
    if text.strip() in ("all", "mix", ""):
        return dict(DEFAULT_MIX)
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, _, weight = part.strip().partition(":")
        if name not in SCENARIOS:
            raise ConfigError(f"scenario {name!r} is unknown; use one of {', '.join(SCENARIOS)} (or name:weight,...)")
        try:
            mix[name] = float(weight) if weight else 1.0
        except ValueError:
            raise ConfigError(f"scenario weight {part!r} is not a number") from None
    return mix


def load_config(source: str | None = None) -> LoadConfig:
    """The config in ``source`` (inline JSON or a file path), else ``$HARNESS_LOAD_CONFIG``, else defaults."""
    text = source if source is not None else os.environ.get(CONFIG_ENV, "")
    if not text.strip():
        return LoadConfig()
    if not text.lstrip().startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise ConfigError(f"load config file {text!r} does not exist")
        text = path.read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"load config is not valid JSON: {error}") from None
    return LoadConfig.from_dict(data)
