"""Locust users, one class per scenario (Locust process only). Their weights come from the load config.

Each user keeps one AG-UI client; a turn is sent, timed by event arrival, recorded in the hub's figures and
reported to Locust (request type ``turn`` and ``first-response`` per scenario, failures named by kind only,
so Locust's tables stay a fixed size).
"""

from __future__ import annotations

import logging
import random
from typing import Any, ClassVar

from locust import User, task
from locust.exception import StopUser

from harness.load.agui import AgUiClient, new_id
from harness.load.config import IDLE_KINDS, LoadConfig
from harness.load.plugin import LoadHub
from harness.load.safety import TargetNotAllowed, check_target
from harness.load.scenarios import prompt_for
from harness.load.turns import TurnResult

log = logging.getLogger("harness.load")
HISTORY_KEEP = 8


class LoadFailure(Exception):
    """A failed turn or hold as Locust sees it: only the kind, never a message that varies."""


class AgUiUser(User):
    """Base: a user that sends turns of its scenario over its transport."""

    abstract = True
    scenario: ClassVar[str] = "simple"
    config: ClassVar[LoadConfig]
    hub: ClassVar[LoadHub]

    def wait_time(self) -> float:
        low, high = self.config.wait_time_s
        return random.uniform(low, high)

    def on_start(self) -> None:
        self.rng = random.Random()
        options = self.environment.parsed_options
        try:
            target = check_target(self.host or "", getattr(options, "allow_host", None))
        except TargetNotAllowed as error:
            self.hub.record_failure(self.scenario, "refused_target", str(error))
            log.error("refused: %s", error)
            raise StopUser() from None
        self.transport = self.config.transport_of(self.scenario)
        self.client = AgUiClient(target, self.config, self.hub.types, self.hub)
        self.thread_id = new_id("load")

    def on_stop(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            client.close()

    @task
    def step(self) -> None:
        """The one Locust task of every scenario: do the scenario's next piece of work."""
        self.act()

    def act(self) -> None:
        self.send(prompt_for(self.scenario, self.rng, tool=self.config.tool))

    def send(self, content: str, history: list[dict[str, str]] | None = None) -> TurnResult:
        result = self.client.turn(self.scenario, self.transport, self.thread_id, content, history)
        self.hub.record_turn(result)
        fire = self.environment.events.request.fire
        exception = LoadFailure(result.failure) if result.failure else None
        fire(request_type="turn", name=self.scenario, response_time=result.turn_ms or 0.0,
             response_length=result.bytes, exception=exception, context={})
        if result.first_response_ms is not None:
            fire(request_type="first-response", name=self.scenario, response_time=result.first_response_ms,
                 response_length=0, exception=None, context={})
        return result


class SimpleUser(AgUiUser):
    """Plain LLM turns, back to back."""

    abstract = True
    scenario = "simple"


class ToolsUser(AgUiUser):
    """Tool turns: calculator, weather or notes (``tool`` in the config hammers one)."""

    abstract = True
    scenario = "tools"


class ChainUser(AgUiUser):
    """Multi-step tool chains in one message."""

    abstract = True
    scenario = "chain"


class A2AUser(AgUiUser):
    """Turns that delegate to the research agent over A2A."""

    abstract = True
    scenario = "a2a"


class ConversationUser(AgUiUser):
    """Multi-turn conversations with think time between turns, each on a fresh thread."""

    abstract = True
    scenario = "conversation"

    def wait_time(self) -> float:
        low, high = self.config.think_time_s
        return random.uniform(low, high)

    def act(self) -> None:
        self.thread_id = new_id("conv")
        history: list[dict[str, str]] = []
        for turn in range(self.config.conversation_turns):
            if turn:
                self.wait()
            content = prompt_for(self.scenario, self.rng, turn=turn)
            result = self.send(content, history if self.transport == "run" else None)
            if not result.ok:
                break
            history = [*history, {"id": new_id("m"), "role": "user", "content": content}][-HISTORY_KEEP:]
        self.client.close_session()


class IdleUser(AgUiUser):
    """Opens an SSE stream and holds it: short, medium or long (weights in the config), then again."""

    abstract = True
    scenario = "idle"

    backoff_s = 0.0

    def wait_time(self) -> float:
        return self.backoff_s

    def act(self) -> None:
        mix = self.config.idle.mix
        kinds = [k for k in IDLE_KINDS if mix.get(k, 0) > 0]
        kind = self.rng.choices(kinds, weights=[mix[k] for k in kinds])[0]
        seconds = self.config.idle.duration(kind)
        failure, received = self.client.hold(seconds)
        self.hub.record_hold(self.scenario, failure, received)
        self.environment.events.request.fire(
            request_type="idle", name=f"idle-{kind}", response_time=seconds * 1000.0, response_length=received,
            exception=LoadFailure(failure) if failure else None, context={})
        self.backoff_s = 1.0 if failure else 0.0  # a failed hold waits a second before the next one


SCENARIO_USERS: dict[str, type[AgUiUser]] = {cls.scenario: cls for cls in (
    SimpleUser, ToolsUser, ChainUser, A2AUser, IdleUser, ConversationUser)}


def bind(config: LoadConfig, hub: LoadHub) -> dict[str, type[AgUiUser]]:
    """Concrete user classes for the locustfile, weighted by the config (weight 0 keeps a class out of the mix)."""
    classes: dict[str, Any] = {}
    for scenario, base in SCENARIO_USERS.items():
        weight = config.scenarios.get(scenario, 0.0)
        attributes = {"abstract": False, "config": config, "hub": hub, "weight": _weight(weight),
                      "__module__": base.__module__, "__doc__": base.__doc__}
        classes[base.__name__] = type(base.__name__, (base,), attributes)
    return classes


def _weight(weight: float) -> int:
    """Locust wants integer weights: scale fractional ones (0.5 → 1 of 2) keeping zero as zero."""
    return 0 if weight <= 0 else max(1, round(weight * 10))
