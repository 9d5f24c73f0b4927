"""Streaming LLM calls through the official ``openai`` client, with retries that honour Retry-After.

Retries happen only before the first chunk reaches the caller: once tokens are on their way to the
user a broken stream is reported, not silently restarted. The ``retry_storm`` defect retries at once,
up to ten times, ignoring Retry-After — the loop that turns a provider's rate limit into an outage.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import structlog
from openai.types.chat import ChatCompletionChunk

from mocks.agent_backend.metrics import BackendMetrics

log = structlog.get_logger("agent-llm")

MAX_RETRY_AFTER_S = 30.0
STORM_ATTEMPTS = 10


class LLMError(RuntimeError):
    """The LLM could not answer; ``code`` is what RUN_ERROR carries."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def retry_after_s(response: httpx.Response | None) -> float | None:
    """The wait a response asks for: ``retry-after-ms``, then ``Retry-After`` (seconds or an HTTP date)."""
    if response is None:
        return None
    if (millis := response.headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


def backoff_s(attempt: int) -> float:
    """Exponential backoff with full jitter: up to 0.25 s, 0.5 s, 1 s ... capped at 4 s."""
    return random.uniform(0, min(4.0, 0.25 * 2 ** (attempt - 1)))


class LLMClient:
    """Chat completions, streamed, with bounded retries."""

    def __init__(self, base_url: str, api_key: str, model: str, metrics: BackendMetrics, *, timeout_s: float,
                 max_attempts: int, retry_storm: bool) -> None:
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0,
                                          timeout=httpx.Timeout(timeout_s, connect=5.0))
        self._model = model
        self._metrics = metrics
        self._storm = retry_storm
        self._max_attempts = STORM_ATTEMPTS if retry_storm else max_attempts

    async def close(self) -> None:
        await self._client.close()

    async def stream(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> AsyncIterator[
            ChatCompletionChunk]:
        """Yield the chunks of one completion; raises LLMError when it cannot be had."""
        for attempt in range(1, self._max_attempts + 1):
            if attempt > 1:
                self._metrics.llm_retries.inc()
            started = time.perf_counter()
            try:
                stream = await self._client.chat.completions.create(
                    model=self._model, messages=messages, tools=tools or openai.omit, stream=True,
                    stream_options={"include_usage": True})
            except openai.APIStatusError as error:
                wait = self._failed(error, attempt, started)
            except (openai.APIConnectionError, openai.APITimeoutError) as error:
                self._metrics.llm_errors.labels("connection").inc()
                wait = self._give_up_or_backoff(error, attempt, backoff_s(attempt))
            else:
                async for chunk in self._relay(stream, started):
                    yield chunk
                return
            if wait:
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    def _failed(self, error: openai.APIStatusError, attempt: int, started: float) -> float:
        self._metrics.llm_seconds.observe(time.perf_counter() - started)
        status = error.status_code
        if status == 429:
            self._metrics.llm_rate_limited.inc()
            self._metrics.llm_errors.labels("rate_limited").inc()
            wait = retry_after_s(error.response)
            if wait is not None and wait > MAX_RETRY_AFTER_S:
                raise LLMError("llm_rate_limited", f"LLM rate limited; Retry-After {wait:.0f}s is too long")
            return self._give_up_or_backoff(error, attempt, wait if wait is not None else backoff_s(attempt))
        if status >= 500:
            self._metrics.llm_errors.labels("server_error").inc()
            return self._give_up_or_backoff(error, attempt, retry_after_s(error.response) or backoff_s(attempt))
        self._metrics.llm_errors.labels("client_error").inc()
        raise LLMError("llm_rejected", f"LLM refused the request: HTTP {status}: {error.message}")

    def _give_up_or_backoff(self, error: Exception, attempt: int, wait: float) -> float:
        if attempt >= self._max_attempts:
            code = "llm_rate_limited" if isinstance(error, openai.RateLimitError) else "llm_unavailable"
            raise LLMError(code, f"LLM failed after {attempt} attempts: {error}")
        log.info("llm_retry", attempt=attempt, wait_s=0.0 if self._storm else round(wait, 3), error=str(error))
        return 0.0 if self._storm else wait

    async def _relay(self, stream: Any, started: float) -> AsyncIterator[ChatCompletionChunk]:
        try:
            async for chunk in stream:
                yield chunk
        except httpx.TimeoutException as error:
            self._metrics.llm_errors.labels("stream_timeout").inc()
            raise LLMError("llm_timeout", f"LLM stream went silent for too long ({error})") from error
        except (httpx.HTTPError, openai.APIError) as error:
            self._metrics.llm_errors.labels("stream_broken").inc()
            raise LLMError("llm_stream_broken", f"LLM stream broke mid-answer ({error})") from error
        finally:
            self._metrics.llm_seconds.observe(time.perf_counter() - started)
            await stream.close()
