"""What a user message asks for, found by simple deterministic rules.

The stub is not a language model; it recognises four intents that drive an agent's tools —
arithmetic, weather, notes and delegation to another agent — in the order they appear in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ARITHMETIC = re.compile(r"\(*\s*-?\d+(?:\.\d+)?(?:\s*[-+*/%^×÷]\s*\(*\s*-?\d+(?:\.\d+)?\s*\)*)+")
WEATHER = re.compile(r"\b(?:weather|forecast|temperature)\b", re.IGNORECASE)
CITY = re.compile(r"\b(?:in|for|at)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")
NOTES = re.compile(r"\bnotes?\b", re.IGNORECASE)
NOTE_TEXT = re.compile(r"\bnote\s*(?:that|:)\s*(.+?)(?:[.;!?](?:\s|$)|$)", re.IGNORECASE)
DELEGATE = re.compile(r"\b(?:delegate|ask (?:another|the \w+) agent|research agent|another agent)\b",
                      re.IGNORECASE)


@dataclass(frozen=True)
class Intent:
    """One thing the user asked for: ``kind`` and the canonical tool arguments."""

    kind: str
    arguments: dict[str, Any]
    position: int


def find_intents(text: str) -> list[Intent]:
    """Every intent in ``text``, in the order it appears."""
    intents: list[Intent] = []
    if match := ARITHMETIC.search(text):
        expression = match.group(0).strip().replace("×", "*").replace("÷", "/").replace("^", "**")
        intents.append(Intent("calculator", {"expression": expression}, match.start()))
    if match := WEATHER.search(text):
        city = CITY.search(text, match.start())
        intents.append(Intent("weather", {"city": city.group(1) if city else "Paris"}, match.start()))
    if match := NOTES.search(text):
        note = NOTE_TEXT.search(text)
        arguments = {"action": "add", "text": note.group(1).strip()} if note else {"action": "list"}
        intents.append(Intent("notes", arguments, match.start()))
    if match := DELEGATE.search(text):
        intents.append(Intent("delegate", {"agent": "research-agent", "task": text.strip()}, match.start()))
    return sorted(intents, key=lambda intent: intent.position)


TOOL_NAME_HINTS = {
    "calculator": ("calc", "math", "arith"),
    "weather": ("weather", "forecast"),
    "notes": ("note",),
    "delegate": ("delegat", "agent", "a2a"),
}


def tool_for(kind: str, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The offered function tool that serves ``kind``, matched by its name."""
    for tool in tools:
        name = tool.get("function", {}).get("name", "").lower()
        if any(hint in name for hint in TOOL_NAME_HINTS[kind]):
            return tool
    return None


def fit_arguments(arguments: dict[str, Any], tool: dict[str, Any]) -> dict[str, Any]:
    """Shape canonical arguments to the tool's JSON schema: drop unknown keys, fill a required string."""
    schema = tool.get("function", {}).get("parameters") or {}
    properties = schema.get("properties")
    if not properties:
        return arguments
    fitted = {key: value for key, value in arguments.items() if key in properties}
    main_value = next(iter(arguments.values()), "")
    for key in schema.get("required", []):
        if key not in fitted and properties.get(key, {}).get("type", "string") == "string":
            fitted[key] = str(main_value)
    return fitted
