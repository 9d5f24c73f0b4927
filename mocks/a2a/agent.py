"""The research agent as an a2a-sdk ``AgentExecutor``: submitted → working → findings → completed."""

from __future__ import annotations

import asyncio
import time

import structlog
from a2a.helpers.proto_helpers import new_task, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types.a2a_pb2 import TaskState

from mocks.a2a.faults import FailTaskAttributes, fault_scope
from mocks.a2a.findings import research_findings
from mocks.a2a.metrics import A2AMetrics
from mocks.common.faults import FaultBoard, chance

log = structlog.get_logger("mock-a2a")

ARTIFACT_NAME = "findings"


class ResearchAgentExecutor(AgentExecutor):
    """Answers each message with deterministic findings after ``processing_s`` seconds.

    Every request becomes a task: the task (``submitted``), a ``working`` status, one artifact chunk per
    sentence spread over the processing time, and a final ``completed`` status whose message holds the
    whole answer. The ``stall`` and ``fail_task`` faults act here.
    """

    def __init__(self, *, agent_name: str, processing_s: float, board: FaultBoard, metrics: A2AMetrics) -> None:
        self.agent_name = agent_name
        self.processing_s = processing_s
        self.board = board
        self.metrics = metrics

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Run one task (see the class docstring)."""
        task_id, context_id = str(context.task_id), str(context.context_id)
        if context.current_task is None:
            history = [context.message] if context.message is not None else None
            await event_queue.enqueue_event(new_task(task_id, context_id, TaskState.TASK_STATE_SUBMITTED,
                                                     history=history))
        updater = TaskUpdater(event_queue, task_id, context_id)
        started = time.perf_counter()
        state = "failed"
        self.metrics.active_tasks.inc()
        try:
            await updater.start_work()
            state = await self._work(context, updater)
        except asyncio.CancelledError:
            state = "canceled"
            raise
        finally:
            self.metrics.active_tasks.dec()
            self.metrics.tasks.labels(state).inc()
            self.metrics.task_duration.labels(state).observe(time.perf_counter() - started)

    async def _work(self, context: RequestContext, updater: TaskUpdater) -> str:
        """The task body after ``working``; returns the final state's name."""
        question = context.get_user_input().strip()
        if not question:
            await updater.reject(updater.new_agent_message(
                [new_text_part("the message has no text part; send the question as text")]))
            return "rejected"
        call = context.call_context
        scope = fault_scope(call.state.get("headers", {}), call.state.get("method"))
        stall = self.board.first("stall", scope)
        if stall is not None:
            self.metrics.faults_applied.labels("stall").inc()
            await self.board.wait_until_ended(stall)
        failure = self.board.first("fail_task", scope)
        if failure is not None and isinstance(failure.attributes, FailTaskAttributes) \
                and chance(failure.attributes.rate):
            self.metrics.faults_applied.labels("fail_task").inc()
            await asyncio.sleep(self.processing_s)
            log.debug("task_failed_by_fault", task_id=updater.task_id, fault_id=failure.id)
            await updater.failed(updater.new_agent_message([new_text_part(failure.attributes.reason)]))
            return "failed"
        sentences = research_findings(self.agent_name, question)
        pause_s = self.processing_s / len(sentences)
        artifact_id = f"{updater.task_id}-{ARTIFACT_NAME}"
        for index, sentence in enumerate(sentences):
            await asyncio.sleep(pause_s)
            await updater.add_artifact([new_text_part(sentence)], artifact_id=artifact_id, name=ARTIFACT_NAME,
                                       append=index > 0, last_chunk=index == len(sentences) - 1)
        await updater.complete(updater.new_agent_message([new_text_part(" ".join(sentences))]))
        return "completed"

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        """Mark the task canceled; the SDK then cancels the running ``execute``."""
        await TaskUpdater(event_queue, str(context.task_id), str(context.context_id)).cancel()
