"""LLM faults: the OpenAI stub's fault API, shaped as the failures a provider really has."""

from __future__ import annotations

from typing import Any

from harness.faults.services import inject_service_fault, remove_service_faults

__all__ = ["disconnect_llm_stream", "llm_rate_limit", "llm_server_errors", "remove_llm_faults", "slow_first_token",
           "slow_llm_stream", "stall_llm_stream"]


def slow_first_token(ttft_ms: float, jitter_ms: float = 0.0, ttl_s: float = 60.0,
                     configuration: dict[str, Any] | None = None,
                     secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Delay the LLM's first token by ``ttft_ms`` (± ``jitter_ms``) for ``ttl_s`` seconds."""
    return inject_service_fault("openai", "latency", {"ttft_ms": ttft_ms, "jitter_ms": jitter_ms}, ttl_s,
                                configuration=configuration, secrets=secrets)


def slow_llm_stream(tokens_per_s: float, ttl_s: float = 60.0, configuration: dict[str, Any] | None = None,
                    secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Stream LLM answers at ``tokens_per_s`` for ``ttl_s`` seconds."""
    return inject_service_fault("openai", "slow_stream", {"tokens_per_s": tokens_per_s}, ttl_s,
                                configuration=configuration, secrets=secrets)


def llm_rate_limit(rate: float = 1.0, retry_after_s: float = 1.0, rpm: int | None = None, tpm: int | None = None,
                   ttl_s: float = 60.0, configuration: dict[str, Any] | None = None,
                   secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Answer 429 with Retry-After for a fraction ``rate`` of LLM calls, and/or enforce rpm/tpm buckets."""
    attributes: dict[str, Any] = {"retry_after_s": retry_after_s}
    if rpm is not None or tpm is not None:
        attributes.update({k: v for k, v in (("rpm", rpm), ("tpm", tpm)) if v is not None})
        if rate != 1.0:
            attributes["rate"] = rate
    else:
        attributes["rate"] = rate
    return inject_service_fault("openai", "rate_limit", attributes, ttl_s, configuration=configuration,
                                secrets=secrets)


def llm_server_errors(status: int = 503, rate: float = 1.0, ttl_s: float = 60.0,
                      configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Answer HTTP ``status`` (5xx) for a fraction ``rate`` of LLM calls."""
    return inject_service_fault("openai", "error", {"status": status, "rate": rate}, ttl_s,
                                configuration=configuration, secrets=secrets)


def stall_llm_stream(after_chunks: int = 3, ttl_s: float = 30.0, configuration: dict[str, Any] | None = None,
                     secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Let LLM streams go silent after ``after_chunks`` chunks until the fault ends."""
    return inject_service_fault("openai", "stall", {"after_chunks": after_chunks}, ttl_s,
                                configuration=configuration, secrets=secrets)


def disconnect_llm_stream(after_chunks: int = 3, ttl_s: float = 60.0, configuration: dict[str, Any] | None = None,
                          secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Cut LLM streams after ``after_chunks`` chunks."""
    return inject_service_fault("openai", "disconnect", {"after_chunks": after_chunks}, ttl_s,
                                configuration=configuration, secrets=secrets)


def remove_llm_faults(configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    """Remove every LLM fault this run injected."""
    return remove_service_faults("openai", configuration)
