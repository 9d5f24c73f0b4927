"""Validation of the backend's inputs: ``user_message`` turns and AG-UI ``RunAgentInput``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ag_ui.core import RunAgentInput
from pydantic import ValidationError

from mocks.common.faults import format_validation_error

THREAD_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


class BadRequest(ValueError):
    """An input the backend refuses; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def check_thread_id(value: Any) -> str:
    """A thread id: 1–128 characters of letters, digits and ``_.:-``."""
    if not isinstance(value, str) or not THREAD_ID.match(value):
        raise BadRequest(400, "thread_id must be 1-128 characters of letters, digits, '_', '.', ':' or '-'")
    return value


def check_content_size(content: str, limit: int) -> None:
    size = len(content.encode())
    if size > limit:
        raise BadRequest(413, f"content is {size} bytes; the limit is {limit} bytes")


@dataclass(frozen=True)
class UserMessageTurn:
    """``{"type": "user_message", "thread_id": T, "content": "...", "user": "..."}``."""

    thread_id: str
    content: str
    user: str

    @classmethod
    def parse(cls, body: dict[str, Any], max_bytes: int) -> UserMessageTurn:
        if body.get("type") != "user_message":
            raise BadRequest(400, f"type must be 'user_message' (got {body.get('type')!r})")
        unknown = set(body) - {"type", "thread_id", "content", "user"}
        if unknown:
            raise BadRequest(400, f"unknown field(s) {sorted(unknown)}; allowed: type, thread_id, content, user")
        thread_id = check_thread_id(body.get("thread_id"))
        content = body.get("content")
        if not isinstance(content, str) or not content.strip():
            raise BadRequest(400, "content must be a non-empty string")
        check_content_size(content, max_bytes)
        user = body.get("user", "anonymous")
        if not isinstance(user, str) or len(user) > 128:
            raise BadRequest(400, "user must be a string of at most 128 characters")
        return cls(thread_id, content, user)


def parse_run_input(body: dict[str, Any], max_bytes: int) -> tuple[RunAgentInput, list[dict[str, Any]]]:
    """Validate a ``RunAgentInput`` and turn its messages into OpenAI's shape."""
    try:
        run_input = RunAgentInput.model_validate(body)
    except ValidationError as error:
        raise BadRequest(422, f"invalid RunAgentInput: {format_validation_error(error)}") from None
    check_thread_id(run_input.thread_id)
    messages = [_to_openai(message.model_dump(by_alias=False, exclude_none=True))
                for message in run_input.messages]
    messages = [m for m in messages if m is not None]
    if not messages or messages[-1]["role"] != "user":
        raise BadRequest(422, "RunAgentInput.messages must end with a user message")
    check_content_size("".join(str(m.get("content") or "") for m in messages), max_bytes)
    return run_input, messages


def _to_openai(message: dict[str, Any]) -> dict[str, Any] | None:
    role = message.get("role")
    content = message.get("content")
    if isinstance(content, list):
        content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    if role in ("user", "system", "developer"):
        return {"role": role, "content": content or ""}
    if role == "assistant":
        converted: dict[str, Any] = {"role": "assistant", "content": content}
        if message.get("tool_calls"):
            converted["tool_calls"] = [{"id": c["id"], "type": "function", "function": c["function"]}
                                       for c in message["tool_calls"]]
        return converted
    if role == "tool":
        return {"role": "tool", "tool_call_id": message.get("tool_call_id"), "content": content or ""}
    return None
