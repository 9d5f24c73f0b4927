"""What each scenario says to the agent: prompts that drive the reference stack down a given path.

Arithmetic leads to the calculator tool, "weather in <city>" to the weather tool, "add a note: ..." and
"show my notes" to the notes tool, "ask the research agent to ..." to an A2A delegation; several of these in
one message make a tool chain; anything else is a plain answer. Numbers and cities vary so that no cache
along the way answers for the backend.
"""

from __future__ import annotations

import random
from collections.abc import Callable

CITIES = ("Paris", "Berlin", "Tokyo", "Lisbon", "Nairobi", "Lima", "Oslo", "Seoul")
TOPICS = ("vector databases", "battery chemistry", "coral reef recovery", "CRDT sync", "urban heat islands")
PLAIN = ("Hello there, who are you?", "Tell me a short story about a lighthouse.",
         "Summarise the benefits of unit tests.", "What makes a good code review?")

Prompt = Callable[[random.Random], str]


def _arithmetic(rng: random.Random) -> str:
    a, b, c = rng.randint(2, 99), rng.randint(2, 99), rng.randint(2, 99)
    return f"What is {a}*({b}+{c})?"


def _weather(rng: random.Random) -> str:
    return f"What is the weather in {rng.choice(CITIES)}?"


def _notes(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "show my notes"
    return f"add a note: buy {rng.randint(1, 12)} apples"


def _delegation(rng: random.Random) -> str:
    return f"Please ask the research agent to compare {rng.choice(TOPICS)}"


def _plain(rng: random.Random) -> str:
    return rng.choice(PLAIN)


def _chain(rng: random.Random) -> str:
    a, b = rng.randint(2, 50), rng.randint(2, 50)
    return (f"What is {a}*({b}+3)? Then check the weather in {rng.choice(CITIES)} "
            f"and add a note: pack item {rng.randint(1, 999)}.")


TOOL_PROMPTS: dict[str, Prompt] = {"calculator": _arithmetic, "weather": _weather, "notes": _notes}
CONVERSATION: tuple[Prompt, ...] = (_plain, _arithmetic, _weather, _plain, _delegation, _notes)


def tool_prompt(tool: str) -> Prompt:
    """The prompt maker for ``tool`` (``any`` picks one of the three tools at random each turn)."""
    if tool == "any":
        return lambda rng: TOOL_PROMPTS[rng.choice(tuple(TOOL_PROMPTS))](rng)
    return TOOL_PROMPTS[tool]


def prompt_for(scenario: str, rng: random.Random, *, tool: str = "any", turn: int = 0) -> str:
    """The next user message of ``scenario``; ``turn`` is the turn number within a conversation."""
    if scenario == "simple":
        return _plain(rng)
    if scenario == "tools":
        return tool_prompt(tool)(rng)
    if scenario == "chain":
        return _chain(rng)
    if scenario == "a2a":
        return _delegation(rng)
    if scenario == "conversation":
        return CONVERSATION[turn % len(CONVERSATION)](rng)
    raise ValueError(f"scenario {scenario!r} sends no turns")
