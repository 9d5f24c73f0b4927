"""Configuration of the reference backend, and its switchable defects."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Defect(StrEnum):
    """Realistic bugs the backend can be built with, so the harness can prove it catches each."""

    MEMORY_LEAK = "memory_leak"
    DB_POOL_NO_RECOVERY = "db_pool_no_recovery"
    A2A_NO_TIMEOUT = "a2a_no_timeout"
    UNBOUNDED_SSE_QUEUE = "unbounded_sse_queue"
    RETRY_STORM = "retry_storm"


def parse_defects(text: str) -> frozenset[Defect]:
    """Parse ``"a,b"``; an unknown name is a ValueError listing the known ones."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = {defect.value for defect in Defect}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown defect(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return frozenset(Defect(name) for name in names)


@dataclass(frozen=True)
class BackendSettings:
    """Where the dependencies are, and the limits the service keeps."""

    database_url: str
    openai_base_url: str = "http://127.0.0.1:18081/v1"
    openai_api_key: str = "sk-local-mock"
    model: str = "gpt-4o-mini"
    mcp_url: str | None = "http://127.0.0.1:18083/mcp"
    a2a_urls: tuple[str, ...] = ("http://127.0.0.1:18082",)
    audit_log: bool = True
    defects: frozenset[Defect] = field(default_factory=frozenset)
    max_tool_steps: int = 6
    max_content_bytes: int = 32_768
    sse_queue_size: int = 1_000
    heartbeat_s: float = 15.0
    history_messages: int = 40
    llm_timeout_s: float = 30.0
    llm_max_attempts: int = 4
    tool_timeout_s: float = 15.0
    a2a_timeout_s: float = 15.0
    db_timeout_s: float = 5.0
    db_pool_size: int = 10
    shutdown_grace_s: float = 5.0

    def has(self, defect: Defect) -> bool:
        """True when the backend runs with ``defect`` switched on."""
        return defect in self.defects
