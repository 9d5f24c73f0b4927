"""A task store whose memory stays bounded under endless load: the oldest finished tasks are forgotten."""

from __future__ import annotations

from collections import OrderedDict

from a2a.server.agent_execution.active_task import TERMINAL_TASK_STATES
from a2a.server.context import ServerCallContext
from a2a.server.owner_resolver import resolve_user_scope
from a2a.server.tasks import InMemoryTaskStore, TaskStore
from a2a.types.a2a_pb2 import ListTasksRequest, ListTasksResponse, Task

_OWNER_KEY = "a2a_mock_owner"


def _resolve_owner(context: ServerCallContext) -> str:
    """The SDK's owner scope, or the owner pinned by the store itself when it evicts."""
    return context.state[_OWNER_KEY] if _OWNER_KEY in context.state else resolve_user_scope(context)


class BoundedTaskStore(TaskStore):
    """The SDK's :class:`InMemoryTaskStore` keeping at most ``max_finished`` tasks in a final state.

    Tasks still running are never evicted (each one ends: completed, failed, rejected or canceled); when
    a task reaches a final state it joins a FIFO, and the oldest final tasks beyond the limit are deleted.
    A client asking for an evicted task gets the A2A "task not found" error.
    """

    def __init__(self, max_finished: int = 5000) -> None:
        if max_finished < 1:
            raise ValueError(f"max_finished must be at least 1, not {max_finished}")
        self.max_finished = max_finished
        self._inner = InMemoryTaskStore(owner_resolver=_resolve_owner)
        self._finished: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._keys: dict[tuple[str, str], None] = {}

    def __len__(self) -> int:
        """How many tasks the store holds."""
        return len(self._keys)

    async def save(self, task: Task, context: ServerCallContext) -> None:
        """Save ``task``; when it is final, evict the oldest final tasks beyond the limit."""
        await self._inner.save(task, context)
        key = (_resolve_owner(context), task.id)
        self._keys[key] = None
        if task.status.state not in TERMINAL_TASK_STATES:
            return
        self._finished[key] = None
        while len(self._finished) > self.max_finished:
            (owner, task_id), _ = self._finished.popitem(last=False)
            self._keys.pop((owner, task_id), None)
            await self._inner.delete(task_id, ServerCallContext(state={_OWNER_KEY: owner}))

    async def get(self, task_id: str, context: ServerCallContext) -> Task | None:
        """The task, or None (also when it was evicted)."""
        return await self._inner.get(task_id, context)

    async def list(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        """Tasks of the caller, as the SDK's in-memory store lists them."""
        return await self._inner.list(params, context)

    async def delete(self, task_id: str, context: ServerCallContext) -> None:
        """Delete one task."""
        key = (_resolve_owner(context), task_id)
        self._finished.pop(key, None)
        self._keys.pop(key, None)
        await self._inner.delete(task_id, context)
