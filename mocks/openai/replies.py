"""Decide the stub's reply to a chat request: the next tool call of a chain, or a text answer."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from mocks.openai.intents import find_intents, fit_arguments, tool_for

VOCABULARY = (
    "the agent checked its sources and found that results look consistent with the request while "
    "latency stays within budget because every dependency answered quickly and the plan worked as "
    "expected so the next step is to summarise findings for you clearly"
).split()


MAX_LEAD_TOKENS = 400


@dataclass(frozen=True)
class ToolCallReply:
    """Call ``name`` with JSON ``arguments``."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class TextReply:
    """Answer with these tokens (each a piece of text, most with a leading space)."""

    tokens: list[str]


Reply = ToolCallReply | TextReply


def message_text(message: dict[str, Any]) -> str:
    """The text of a message whose content is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token), never zero for non-empty text."""
    return max(1, (len(text) + 3) // 4) if text else 0


def text_tokens(seed_text: str, count: int, lead: str = "") -> list[str]:
    """``count`` deterministic tokens; ``lead``'s words come first, then filler chosen by a hash."""
    words = lead.split()[:count]
    digest = int.from_bytes(hashlib.blake2b(seed_text.encode(), digest_size=8).digest(), "big")
    filler = [VOCABULARY[(digest + i * 7) % len(VOCABULARY)] for i in range(count - len(words))]
    return [(" " if i else "") + word for i, word in enumerate(words + filler)]


def plan_reply(messages: list[dict[str, Any]], tools: list[dict[str, Any]], tool_choice: Any,
               answer_tokens: int) -> Reply:
    """The reply to ``messages``: walk the user's intents one tool call per turn, then answer in text."""
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    user_text = message_text(messages[last_user]) if last_user >= 0 else ""
    since_user = messages[last_user + 1:]
    calls_made = sum(len(m.get("tool_calls") or []) for m in since_user if m.get("role") == "assistant")
    results = [message_text(m) for m in since_user if m.get("role") == "tool"]

    if tools and tool_choice != "none":
        forced = _forced_tool(tool_choice, tools)
        plans = [(intent, tool) for intent in find_intents(user_text)
                 if (tool := forced or tool_for(intent.kind, tools)) is not None]
        if forced is not None and not plans:
            plans = [(None, forced)]
        if tool_choice == "required" and not plans:
            plans = [(None, tools[0])]
        if calls_made < len(plans):
            intent, tool = plans[calls_made]
            arguments = fit_arguments(intent.arguments if intent else {"input": user_text}, tool)
            name = tool["function"]["name"]
            call_id = "call_" + hashlib.blake2b(f"{user_text}|{calls_made}".encode(), digest_size=9).hexdigest()
            return ToolCallReply(call_id, name, json.dumps(arguments))

    lead = ("Here is what I found: " + " ".join(r.strip() for r in results)) if results else ""
    count = max(answer_tokens, min(len(lead.split()), MAX_LEAD_TOKENS))
    return TextReply(text_tokens(user_text, count, lead))


def _forced_tool(tool_choice: Any, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    if isinstance(tool_choice, dict):
        wanted = tool_choice.get("function", {}).get("name")
        return next((t for t in tools if t.get("function", {}).get("name") == wanted), None)
    return None
