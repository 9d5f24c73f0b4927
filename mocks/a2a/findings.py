"""The research agent's deterministic answer: the same question always gets the same findings."""

from __future__ import annotations

import hashlib

MAX_TOPIC_CHARS = 120


def research_findings(agent_name: str, question: str) -> list[str]:
    """Three sentences about ``question``; streamed one per artifact chunk, joined for the final text."""
    topic = " ".join(question.split())
    digest = hashlib.sha256(topic.encode()).hexdigest()
    shown = topic if len(topic) <= MAX_TOPIC_CHARS else topic[: MAX_TOPIC_CHARS - 3] + "..."
    sources = 3 + int(digest[:2], 16) % 5
    confidence = 0.6 + int(digest[2:4], 16) % 40 / 100
    return [
        f"{agent_name} findings on '{shown}': {sources} independent sources were reviewed and agree on the "
        "main point.",
        f"Confidence is {confidence:.2f}; reference digest {digest[:12]}.",
        "Recommended next step: verify the key figures against primary data before acting.",
    ]
