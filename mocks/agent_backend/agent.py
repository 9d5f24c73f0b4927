"""The agent loop: the LLM decides, tools run over MCP, delegations go over A2A, every step is an AG-UI event.

A run emits RUN_STARTED; for each model step the answer's TEXT_MESSAGE_START/CONTENT/END and each
TOOL_CALL_START/ARGS/END as the deltas arrive; then TOOL_CALL_RESULT for every call (a delegation is
wrapped in STEP_STARTED/STEP_FINISHED with a CUSTOM ``a2a_delegation`` event naming the agent); the loop
ends when the model answers without tools (bounded by ``max_tool_steps``). The run's messages and audit
entries are written in one transaction each, then RUN_FINISHED — or RUN_ERROR with a code and reason.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)
from ag_ui.encoder import EventEncoder

from mocks.agent_backend.db import Database, DatabaseUnavailable
from mocks.agent_backend.journal import RunJournal, RunRecord
from mocks.agent_backend.llm import LLMClient, LLMError
from mocks.agent_backend.metrics import BackendMetrics
from mocks.agent_backend.settings import BackendSettings, Defect

log = structlog.get_logger("agent")
ENCODER = EventEncoder()
DELEGATE_TOOL_NAME = "delegate_to_agent"

Publish = Callable[[bytes], None]


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool or a delegation returned: text for the model, and whether it failed."""

    text: str
    is_error: bool = False


class ToolSet(Protocol):
    """The MCP tools the agent may call."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def openai_tools(self) -> list[dict[str, Any]]: ...

    async def call(self, name: str, arguments: dict[str, Any], timeout_s: float) -> ToolOutcome: ...


class Delegation(Protocol):
    """Other agents reachable over A2A."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def agent_names(self) -> list[str]: ...

    async def delegate(self, agent: str, task: str, timeout_s: float | None) -> ToolOutcome: ...


@dataclass
class Turn:
    """One user turn to run."""

    thread_id: str
    run_id: str
    transport: str
    new_messages: list[dict[str, Any]]
    history: list[dict[str, Any]] | None = None
    actor: str = "anonymous"
    received_at: float = field(default_factory=time.perf_counter)


class RunEmitter:
    """Encodes AG-UI events, publishes them, and times the first event and first answer token."""

    def __init__(self, publish: Publish, record: RunRecord, journal: RunJournal, metrics: BackendMetrics,
                 received_at: float) -> None:
        self._publish = publish
        self._record = record
        self._journal = journal
        self._metrics = metrics
        self._received_at = received_at
        self._sent_any = False
        self._sent_token = False

    def emit(self, event: BaseEvent) -> None:
        encoded = ENCODER.encode(event)
        if not self._sent_any:
            self._sent_any = True
            self._metrics.time_to_first_event.observe(time.perf_counter() - self._received_at)
        if not self._sent_token and isinstance(event, TextMessageContentEvent):
            self._sent_token = True
            self._metrics.time_to_first_token.observe(time.perf_counter() - self._received_at)
        self._journal.note_event(self._record, encoded)
        self._publish(encoded.encode())


@dataclass
class PendingCall:
    """A tool call being streamed by the model."""

    call_id: str
    name: str
    arguments: str = ""


class AgentRunner:
    """Runs turns against the LLM, the tools, the other agents and the database."""

    def __init__(self, settings: BackendSettings, llm: LLMClient, tools: ToolSet | None,
                 delegation: Delegation | None, database: Database, journal: RunJournal,
                 metrics: BackendMetrics) -> None:
        self.settings = settings
        self.llm = llm
        self.tools = tools
        self.delegation = delegation
        self.database = database
        self.journal = journal
        self.metrics = metrics

    async def run(self, turn: Turn, publish: Publish) -> str:
        """Run ``turn``, publishing its events; returns the outcome (``finished``, ``error`` or ``cancelled``).

        The conversation and the audit entries are written before the terminal event is sent, so a
        client that sees RUN_FINISHED can rely on the run being stored.
        """
        record = self.journal.start(RunRecord(turn.run_id, turn.thread_id, turn.transport, time.time()))
        emitter = RunEmitter(publish, record, self.journal, self.metrics, turn.received_at)
        audit: list[dict[str, Any]] = []
        self.metrics.runs_active.inc()
        outcome, terminal = "error", None
        try:
            emitter.emit(RunStartedEvent(thread_id=turn.thread_id, run_id=turn.run_id))
            if turn.history is None:
                turn.history = await self.database.load_history(turn.thread_id, self.settings.history_messages)
            produced = await self._loop(turn, emitter, audit)
            if self.journal.leak:
                record.messages = [*turn.history, *produced]
            await self.database.save_messages(turn.thread_id, turn.run_id, produced)
            outcome, terminal = "finished", RunFinishedEvent(thread_id=turn.thread_id, run_id=turn.run_id)
        except LLMError as error:
            terminal = RunErrorEvent(message=str(error), code=error.code)
        except DatabaseUnavailable as error:
            terminal = RunErrorEvent(message=f"could not save the conversation: {error}", code="persistence_failed")
        except asyncio.CancelledError:
            outcome = "cancelled"
            terminal = RunErrorEvent(message="the run was cancelled (client gone or server shutting down)",
                                     code="cancelled")
            raise
        except Exception as error:  # a run must end with RUN_ERROR whatever broke
            log.exception("run_failed", run_id=turn.run_id)
            terminal = RunErrorEvent(message=f"internal error: {type(error).__name__}", code="internal_error")
        finally:
            await self._close_run(turn, record, outcome, audit)
            if terminal is not None:
                emitter.emit(terminal)
        return outcome

    async def _close_run(self, turn: Turn, record: RunRecord, outcome: str, audit: list[dict[str, Any]]) -> None:
        """Count the run and write its audit entries (best effort: the audit never fails a run)."""
        duration = time.perf_counter() - turn.received_at
        record.outcome, record.duration_s = outcome, round(duration, 4)
        self.metrics.runs_active.dec()
        self.metrics.runs.labels(turn.transport, outcome).inc()
        self.metrics.run_seconds.observe(duration)
        if self.settings.audit_log:
            asked = " ".join(str(m.get("content") or "") for m in turn.new_messages)[:500]
            audit.append(self._audit(turn, "run_" + outcome, {"transport": turn.transport, "message": asked},
                                     duration))
            await self._write_audit(audit)

    async def _loop(self, turn: Turn, emitter: RunEmitter, audit: list[dict[str, Any]]) -> list[dict[str, Any]]:
        messages = [*(turn.history or []), *turn.new_messages]
        produced = list(turn.new_messages)
        tools = await self._offered_tools()
        for _step in range(self.settings.max_tool_steps):
            text, calls = await self._model_step(messages, tools, emitter)
            assistant: dict[str, Any] = {"role": "assistant", "content": text or None}
            if calls:
                assistant["tool_calls"] = [{"id": c.call_id, "type": "function",
                                            "function": {"name": c.name, "arguments": c.arguments}} for c in calls]
            messages.append(assistant)
            produced.append(assistant)
            if not calls:
                return produced
            for call in calls:
                outcome = await self._execute(turn, call, emitter, audit)
                emitter.emit(ToolCallResultEvent(message_id=f"msg-{uuid.uuid4().hex[:12]}",
                                                 tool_call_id=call.call_id, content=outcome.text, role="tool"))
                tool_message = {"role": "tool", "tool_call_id": call.call_id, "content": outcome.text}
                messages.append(tool_message)
                produced.append(tool_message)
        raise LLMError("too_many_steps", f"the model kept calling tools for {self.settings.max_tool_steps} steps")

    async def _offered_tools(self) -> list[dict[str, Any]]:
        offered = await self.tools.openai_tools() if self.tools else []
        if self.delegation and self.delegation.agent_names():
            offered.append({"type": "function", "function": {
                "name": DELEGATE_TOOL_NAME,
                "description": "Delegate a task to another agent over A2A. Agents: "
                               + ", ".join(self.delegation.agent_names()),
                "parameters": {"type": "object", "properties": {
                    "agent": {"type": "string", "enum": self.delegation.agent_names()},
                    "task": {"type": "string"}}, "required": ["agent", "task"]}}})
        return offered

    async def _model_step(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                          emitter: RunEmitter) -> tuple[str, list[PendingCall]]:
        """One streamed model call, relayed as AG-UI events as the deltas arrive."""
        text_id: str | None = None
        text = ""
        calls: dict[int, PendingCall] = {}
        async for chunk in self.llm.stream(messages, tools):
            for choice in chunk.choices:
                delta = choice.delta
                if delta.content:
                    if text_id is None:
                        text_id = f"msg-{uuid.uuid4().hex[:12]}"
                        emitter.emit(TextMessageStartEvent(message_id=text_id, role="assistant"))
                    text += delta.content
                    emitter.emit(TextMessageContentEvent(message_id=text_id, delta=delta.content))
                for call_delta in delta.tool_calls or []:
                    call = calls.get(call_delta.index)
                    if call is None:
                        function = call_delta.function
                        call = PendingCall(call_delta.id or f"call-{uuid.uuid4().hex[:12]}",
                                           (function.name if function else None) or "unknown")
                        calls[call_delta.index] = call
                        emitter.emit(ToolCallStartEvent(tool_call_id=call.call_id, tool_call_name=call.name,
                                                        parent_message_id=text_id))
                    if call_delta.function and call_delta.function.arguments:
                        call.arguments += call_delta.function.arguments
                        emitter.emit(ToolCallArgsEvent(tool_call_id=call.call_id,
                                                       delta=call_delta.function.arguments))
        if text_id is not None:
            emitter.emit(TextMessageEndEvent(message_id=text_id))
        for call in calls.values():
            emitter.emit(ToolCallEndEvent(tool_call_id=call.call_id))
        return text, list(calls.values())

    async def _execute(self, turn: Turn, call: PendingCall, emitter: RunEmitter,
                       audit: list[dict[str, Any]]) -> ToolOutcome:
        started = time.perf_counter()
        try:
            arguments = json.loads(call.arguments or "{}")
            if not isinstance(arguments, dict):
                raise ValueError("arguments must be a JSON object")
        except ValueError as error:
            outcome = ToolOutcome(f"error: the arguments of {call.name} are not valid JSON ({error})", True)
        else:
            if call.name == DELEGATE_TOOL_NAME and self.delegation is not None:
                outcome = await self._delegate(arguments, emitter)
            elif self.tools is not None:
                outcome = await self.tools.call(call.name, arguments, self.settings.tool_timeout_s)
            else:
                outcome = ToolOutcome(f"error: no tool named {call.name}", True)
        duration = time.perf_counter() - started
        action = "delegation" if call.name == DELEGATE_TOOL_NAME else "tool_call"
        audit.append(self._audit(turn, action, {"tool": call.name, "arguments": call.arguments[:2000],
                                                "error": outcome.is_error}, duration))
        return outcome

    async def _delegate(self, arguments: dict[str, Any], emitter: RunEmitter) -> ToolOutcome:
        assert self.delegation is not None
        names = self.delegation.agent_names()
        agent = str(arguments.get("agent") or names[0])
        if agent not in names:
            agent = names[0]
        task = str(arguments.get("task") or "")
        step = f"delegate:{agent}"
        emitter.emit(StepStartedEvent(step_name=step))
        emitter.emit(CustomEvent(name="a2a_delegation", value={"agent": agent, "task": task[:500]}))
        timeout = None if self.settings.has(Defect.A2A_NO_TIMEOUT) else self.settings.a2a_timeout_s
        outcome = await self.delegation.delegate(agent, task, timeout)
        emitter.emit(StepFinishedEvent(step_name=step))
        return outcome

    @staticmethod
    def _audit(turn: Turn, action: str, detail: dict[str, Any], duration_s: float) -> dict[str, Any]:
        return {"thread_id": turn.thread_id, "run_id": turn.run_id, "actor": turn.actor, "action": action,
                "detail": detail, "duration_ms": round(duration_s * 1000, 3)}

    async def _write_audit(self, entries: list[dict[str, Any]]) -> None:
        try:
            await self.database.write_audit(entries)
        except DatabaseUnavailable as error:
            log.warning("audit_write_failed", error=str(error), entries=len(entries))
