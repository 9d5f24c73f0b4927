"""Run tasks of the backend, and a graceful drain when it is asked to stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

from mocks.agent_backend.streams import ThreadStreams

log = structlog.get_logger("agent-lifecycle")


class Lifecycle:
    """Tracks run tasks; ``drain`` lets open runs finish for a grace period, then cancels the rest."""

    def __init__(self, streams: ThreadStreams, grace_s: float) -> None:
        self.streams = streams
        self.grace_s = grace_s
        self.draining = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._drained: asyncio.Task[None] | None = None

    def start_run(self, work: Coroutine[Any, Any, Any],
                  on_done: Callable[[], None] | None = None) -> asyncio.Task[Any]:
        """Run ``work`` as a tracked task; ``on_done`` runs when it ends, however it ends."""
        task = asyncio.create_task(work)
        self._tasks.add(task)

        def finished(done: asyncio.Task[Any]) -> None:
            self._tasks.discard(done)
            if on_done is not None:
                on_done()

        task.add_done_callback(finished)
        return task

    def active_runs(self) -> int:
        return len(self._tasks)

    def begin_drain(self) -> None:
        """Called from the signal handler: refuse new turns and start draining on the loop."""
        self.draining = True
        if self.loop is not None and self._drained is None:
            self.loop.call_soon_threadsafe(self._start_drain_task)

    def _start_drain_task(self) -> None:
        if self._drained is None:
            self._drained = asyncio.ensure_future(self.drain())

    async def drain(self) -> None:
        """Wait up to ``grace_s`` for runs, cancel what is left (they end with RUN_ERROR), close streams."""
        self.draining = True
        if self._tasks:
            log.info("draining_runs", runs=len(self._tasks), grace_s=self.grace_s)
            await asyncio.wait(set(self._tasks), timeout=self.grace_s)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.streams.close_all()
