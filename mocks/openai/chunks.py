"""Encode Chat Completions responses: SSE ``chat.completion.chunk`` events and whole completions.

The stream's hot path formats one token into a pre-built byte template, so a chunk costs one
``json.dumps`` of a short string and two concatenations.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

DONE = b"data: [DONE]\n\n"
FINGERPRINT = "fp_mock"


def sse(payload: dict[str, Any]) -> bytes:
    """One SSE ``data:`` event holding ``payload`` as compact JSON."""
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """The ``usage`` object."""
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


@dataclass
class ChunkEncoder:
    """Builds the chunks of one streamed completion."""

    completion_id: str
    model: str
    include_usage: bool
    created: int = field(default_factory=lambda: int(time.time()))

    def __post_init__(self) -> None:
        head = {"id": self.completion_id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "system_fingerprint": FINGERPRINT}
        self._head = head
        prefix = json.dumps(head, separators=(",", ":"))[:-1]
        tail = ',"usage":null' if self.include_usage else ""
        self._content_prefix = b"data: " + prefix.encode() + b',"choices":[{"index":0,"delta":{"content":'
        self._content_suffix = b'},"logprobs":null,"finish_reason":null}]' + tail.encode() + b"}\n\n"

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        payload = {**self._head, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                              "finish_reason": finish_reason}]}
        if self.include_usage:
            payload["usage"] = None
        return sse(payload)

    def role(self, *, content: str | None = "") -> bytes:
        """The first chunk: the assistant role."""
        return self._chunk({"role": "assistant", "content": content, "refusal": None})

    def content(self, token: str) -> bytes:
        """A content delta (the hot path)."""
        return self._content_prefix + json.dumps(token).encode() + self._content_suffix

    def tool_call_start(self, call_id: str, name: str) -> bytes:
        """The first tool-call delta: id, type and name, empty arguments."""
        return self._chunk({"role": "assistant", "content": None, "refusal": None, "tool_calls": [
            {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]})

    def tool_call_arguments(self, piece: str) -> bytes:
        """An incremental piece of the tool call's JSON arguments."""
        return self._chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})

    def finish(self, reason: str) -> bytes:
        """The last choice chunk: empty delta and the finish reason."""
        return self._chunk({}, reason)

    def usage_chunk(self, prompt_tokens: int, completion_tokens: int) -> bytes:
        """The final usage chunk of ``stream_options.include_usage``: no choices."""
        return sse({**self._head, "choices": [], "usage": usage(prompt_tokens, completion_tokens)})


def argument_pieces(arguments: str, size: int = 8) -> list[str]:
    """Split JSON arguments into the small deltas a real model streams."""
    return [arguments[i:i + size] for i in range(0, len(arguments), size)] or [""]


def completion_body(completion_id: str, model: str, message: dict[str, Any], finish_reason: str,
                    prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    """A non-streaming ``chat.completion`` object."""
    return {"id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": model,
            "system_fingerprint": FINGERPRINT,
            "choices": [{"index": 0, "message": {"refusal": None, "annotations": [], **message},
                         "logprobs": None, "finish_reason": finish_reason}],
            "usage": usage(prompt_tokens, completion_tokens), "service_tier": "default"}
