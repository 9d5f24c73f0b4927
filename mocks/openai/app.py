"""The OpenAI-compatible Chat Completions stub: ``/v1/chat/completions``, ``/v1/models``, faults, metrics."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any

import structlog
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mocks.common.control import control_routes, read_json_object
from mocks.common.faults import Fault, FaultBoard, jittered_delay_s
from mocks.common.metrics import metrics_route, new_registry
from mocks.common.server import health_route
from mocks.common.streaming import EventStreamResponse, StreamCutByFault
from mocks.openai.chunks import DONE, ChunkEncoder, argument_pieces, completion_body
from mocks.openai.faults import OPENAI_FAULTS, FirstTokenLatency, RateLimit, SlowStream, TruncateToolCall
from mocks.openai.metrics import OpenAIMetrics
from mocks.openai.ratelimit import RateLimiter
from mocks.openai.replies import Reply, TextReply, ToolCallReply, estimate_tokens, message_text, plan_reply
from mocks.openai.schema import ChatRequest, openai_error, validation_error_response

log = structlog.get_logger("mock-openai")

DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1", "o4-mini", "gpt-5-mini")
BATCH_CHUNKS = 64
SERVER_ERROR_TYPES = {500: "server_error", 502: "bad_gateway", 503: "service_unavailable"}


@dataclass(frozen=True)
class OpenAISettings:
    """How the stub answers when no fault is active."""

    answer_tokens: int = 24
    models: tuple[str, ...] = DEFAULT_MODELS
    accept_any_model: bool = False
    inter_token_ms: float = 0.0
    control_token: str | None = None
    default_fault_ttl_s: float = 300.0

    def with_models(self, csv: str) -> OpenAISettings:
        """Serve the comma-separated model ids; ``*`` accepts any model."""
        names = tuple(name.strip() for name in csv.split(",") if name.strip())
        if "*" in names:
            return replace(self, accept_any_model=True, models=tuple(n for n in names if n != "*") or self.models)
        return replace(self, models=names)


@dataclass
class StreamFaults:
    """The faults that shape one response, picked once per request."""

    latency: Fault | None = None
    slow_stream: Fault | None = None
    disconnect: Fault | None = None
    stall: Fault | None = None
    truncate_tool_call: Fault | None = None
    omit_done: Fault | None = None

    @classmethod
    def pick(cls, faults: list[Fault]) -> StreamFaults:
        """The oldest fault of each stream-shaping type."""
        picked = cls()
        for fault in faults:
            if hasattr(picked, fault.type) and getattr(picked, fault.type) is None:
                setattr(picked, fault.type, fault)
        return picked

    def first_chunk_delay_s(self) -> float:
        """Seconds to wait before the first chunk (``ttft_ms ± jitter_ms``, never negative)."""
        if self.latency is None:
            return 0.0
        attributes: FirstTokenLatency = self.latency.attributes  # type: ignore[assignment]
        return jittered_delay_s(attributes.ttft_ms, attributes.jitter_ms)

    def after_chunks(self, name: str) -> int | None:
        """Chunk index at which the ``disconnect`` or ``stall`` fault strikes."""
        fault = getattr(self, name)
        return None if fault is None else fault.attributes.after_chunks


class ChatCompletions:
    """Handles chat requests against the fault board."""

    def __init__(self, settings: OpenAISettings, board: FaultBoard, metrics: OpenAIMetrics) -> None:
        self.settings = settings
        self.board = board
        self.metrics = metrics
        self.limiter = RateLimiter()

    async def handle(self, request: Request) -> Response:
        """``POST /v1/chat/completions``."""
        started = time.perf_counter()
        try:
            chat = ChatRequest.model_validate(await read_json_object(request))
        except ValueError as error:
            return self._count(self._error_for(error))
        if not self._model_known(chat.model):
            return self._count(openai_error(
                404, f"The model `{chat.model}` does not exist or you do not have access to it.",
                code="model_not_found"))
        context = {"model": chat.model, "test_id": request.headers.get("x-test-id")}
        faults = self.board.active(context) if self.board.active() else []
        messages = [message.model_dump(exclude_none=True) for message in chat.messages]
        prompt_tokens = sum(estimate_tokens(message_text(m)) for m in messages)
        refusal, headers = self._refuse(faults, chat, prompt_tokens)
        if refusal is not None:
            return self._count(refusal)
        tools = [tool.model_dump(exclude_none=True) for tool in chat.tools or []]
        reply = plan_reply(messages, tools, chat.tool_choice, self.settings.answer_tokens)
        shaping = StreamFaults.pick(faults)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if chat.stream:
            include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
            encoder = ChunkEncoder(completion_id, chat.model, include_usage)
            chunks = self._chunks(encoder, reply, chat.token_limit, prompt_tokens, shaping)
            self.metrics.requests.labels("chat", "200").inc()
            return EventStreamResponse(self._paced(chunks, shaping, started), headers=headers)
        return self._count(await self._complete(completion_id, chat, reply, prompt_tokens, shaping, headers))

    def _model_known(self, model: str) -> bool:
        return self.settings.accept_any_model or model in self.settings.models

    @staticmethod
    def _error_for(error: ValueError) -> Response:
        if isinstance(error, ValidationError):
            return validation_error_response(error)
        return openai_error(400, f"We could not parse the JSON body of your request: {error}.")

    def _refuse(self, faults: list[Fault], chat: ChatRequest,
                prompt_tokens: int) -> tuple[Response | None, dict[str, str]]:
        """An ``error`` or ``rate_limit`` answer when one of those faults fires, plus rate-limit headers."""
        headers: dict[str, str] = {}
        self.limiter.forget_except({f.id for f in faults if f.type == "rate_limit"})
        for fault in faults:
            if fault.type == "error" and fault.attributes.strikes():
                self.metrics.faults_applied.labels("error").inc()
                status = fault.attributes.status
                kind = SERVER_ERROR_TYPES.get(status, "server_error")
                return openai_error(status, "The server had an error while processing your request. "
                                    f"Sorry about that! (injected fault {fault.id})", kind=kind), headers
            if fault.type == "rate_limit":
                limits: RateLimit = fault.attributes  # type: ignore[assignment]
                cost = prompt_tokens + (chat.token_limit or self.settings.answer_tokens)
                decision = self.limiter.check(fault.id, limits, cost)
                headers.update(decision.headers)
                if not decision.allowed:
                    self.metrics.faults_applied.labels("rate_limit").inc()
                    message = (f"Rate limit reached for {chat.model} on {decision.limit_kind} per min. "
                               f"Please try again in {decision.retry_after_s:.3g}s. (injected fault {fault.id})")
                    return openai_error(429, message, kind=decision.limit_kind, code="rate_limit_exceeded",
                                        headers=headers), headers
        return None, headers

    def _chunks(self, encoder: ChunkEncoder, reply: Reply, token_limit: int | None, prompt_tokens: int,
                shaping: StreamFaults) -> Iterator[bytes]:
        """Every chunk of the stream, in order, ending with ``[DONE]`` unless a fault omits it."""
        if isinstance(reply, ToolCallReply):
            arguments = self._maybe_truncated(reply.arguments, shaping)
            yield encoder.tool_call_start(reply.call_id, reply.name)
            for piece in argument_pieces(arguments):
                yield encoder.tool_call_arguments(piece)
            completion_tokens, reason = estimate_tokens(arguments), "tool_calls"
        else:
            tokens, reason = _capped(reply, token_limit)
            yield encoder.role()
            for token in tokens:
                yield encoder.content(token)
            completion_tokens = len(tokens)
        self.metrics.tokens_streamed.inc(completion_tokens)
        yield encoder.finish(reason)
        if encoder.include_usage:
            yield encoder.usage_chunk(prompt_tokens, completion_tokens)
        if shaping.omit_done is None:
            yield DONE

    async def _paced(self, chunks: Iterator[bytes], shaping: StreamFaults, started: float) -> AsyncIterator[bytes]:
        """Send chunks with the first-token delay, pacing, stall and disconnect faults applied."""
        self.metrics.active_streams.inc()
        try:
            delay = shaping.first_chunk_delay_s()
            if delay:
                self.metrics.faults_applied.labels("latency").inc()
                await asyncio.sleep(delay)
            pace = self._pace_s(shaping)
            stall_at, cut_at = shaping.after_chunks("stall"), shaping.after_chunks("disconnect")
            first = next(chunks)
            self.metrics.time_to_first_chunk.observe(time.perf_counter() - started)
            if 0 in (stall_at, cut_at):
                await self._strike(shaping, 0, stall_at, cut_at)
            yield first
            if pace == 0 and stall_at is None and cut_at is None:
                batch: list[bytes] = []
                for chunk in chunks:
                    batch.append(chunk)
                    if len(batch) == BATCH_CHUNKS:
                        yield b"".join(batch)
                        batch = []
                if batch:
                    yield b"".join(batch)
                return
            next_at = time.monotonic()
            for index, chunk in enumerate(chunks, start=1):
                await self._strike(shaping, index, stall_at, cut_at)
                if pace:
                    next_at += pace
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                yield chunk
        finally:
            self.metrics.active_streams.dec()
            self.metrics.stream_duration.observe(time.perf_counter() - started)

    async def _strike(self, shaping: StreamFaults, index: int, stall_at: int | None, cut_at: int | None) -> None:
        """Stall until the fault ends, or cut the connection, when the stream reaches ``index``."""
        if index == stall_at and shaping.stall is not None:
            self.metrics.faults_applied.labels("stall").inc()
            log.info("stream_stalled", fault_id=shaping.stall.id, after_chunks=index)
            await self.board.wait_until_ended(shaping.stall)
        if index == cut_at and shaping.disconnect is not None:
            self.metrics.faults_applied.labels("disconnect").inc()
            log.info("stream_cut", fault_id=shaping.disconnect.id, after_chunks=index)
            raise StreamCutByFault(shaping.disconnect.id)

    def _pace_s(self, shaping: StreamFaults) -> float:
        if shaping.slow_stream is not None:
            self.metrics.faults_applied.labels("slow_stream").inc()
            attributes: SlowStream = shaping.slow_stream.attributes  # type: ignore[assignment]
            return attributes.delay_s
        return self.settings.inter_token_ms / 1000.0

    def _maybe_truncated(self, arguments: str, shaping: StreamFaults) -> str:
        if shaping.truncate_tool_call is None:
            return arguments
        self.metrics.faults_applied.labels("truncate_tool_call").inc()
        attributes: TruncateToolCall = shaping.truncate_tool_call.attributes  # type: ignore[assignment]
        return arguments[: int(len(arguments) * attributes.keep_fraction)]

    async def _complete(self, completion_id: str, chat: ChatRequest, reply: Reply, prompt_tokens: int,
                        shaping: StreamFaults, headers: dict[str, str]) -> Response:
        """A non-streaming answer; stream faults become waits or a dropped connection."""
        delay = shaping.first_chunk_delay_s()
        if isinstance(reply, ToolCallReply):
            arguments = self._maybe_truncated(reply.arguments, shaping)
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [
                {"id": reply.call_id, "type": "function",
                 "function": {"name": reply.name, "arguments": arguments}}]}
            completion_tokens, reason = estimate_tokens(arguments), "tool_calls"
        else:
            tokens, reason = _capped(reply, chat.token_limit)
            message = {"role": "assistant", "content": "".join(tokens)}
            completion_tokens = len(tokens)
        await asyncio.sleep(delay + self._pace_s(shaping) * completion_tokens)
        whole_body = 0  # a non-streamed body is one chunk: stall and disconnect strike before it
        await self._strike(shaping, whole_body, whole_body if shaping.stall else None,
                           whole_body if shaping.disconnect else None)
        self.metrics.tokens_streamed.inc(completion_tokens)
        return JSONResponse(completion_body(completion_id, chat.model, message, reason, prompt_tokens,
                                            completion_tokens), headers=headers)

    def _count(self, response: Response) -> Response:
        self.metrics.requests.labels("chat", str(response.status_code)).inc()
        return response


def _capped(reply: TextReply, token_limit: int | None) -> tuple[list[str], str]:
    if token_limit is not None and len(reply.tokens) > token_limit:
        return reply.tokens[:token_limit], "length"
    return reply.tokens, "stop"


class _HideFaultCuts(logging.Filter):
    """Keep uvicorn from logging a traceback for a connection a ``disconnect`` fault cut on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], StreamCutByFault))


def create_app(settings: OpenAISettings | None = None) -> Starlette:
    """Build the stub's ASGI app."""
    settings = settings or OpenAISettings()
    board = FaultBoard(OPENAI_FAULTS, default_ttl_s=settings.default_fault_ttl_s)
    registry = new_registry(board, "openai")
    metrics = OpenAIMetrics.create(registry)
    chat = ChatCompletions(settings, board, metrics)
    logging.getLogger("uvicorn.error").addFilter(_HideFaultCuts())

    async def list_models(_request: Request) -> JSONResponse:
        metrics.requests.labels("models", "200").inc()
        return JSONResponse({"object": "list", "data": [
            {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "mock"}
            for model in settings.models]})

    async def not_found(request: Request, _exc: Exception) -> JSONResponse:
        return openai_error(404, f"Invalid URL ({request.method} {request.url.path})")

    async def method_not_allowed(request: Request, _exc: Exception) -> JSONResponse:
        return openai_error(405, f"Method {request.method} is not allowed on {request.url.path}")

    routes = [
        Route("/v1/chat/completions", chat.handle, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        *control_routes(board, token=settings.control_token),
        metrics_route(registry),
        health_route(),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: method_not_allowed})
    app.state.board = board
    return app
