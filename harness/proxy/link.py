"""One direction of one proxied connection: bytes read from a source socket, written to a destination socket.

With no toxic on the link, each read is written straight to the destination inside ``data_received`` (no task,
no copy, no per-byte work); TCP flow control passes through by pausing the source while the destination's write
buffer is full. With toxics, chunks queue up (bounded; the source is paused when the queue is full) and one
pump task sends each chunk through the active toxics in order, then to the destination.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.proxy.toxics import Chunk

if TYPE_CHECKING:
    from harness.proxy.connection import Endpoint
    from harness.proxy.toxic import Toxic

MAX_QUEUED_CHUNKS = 1024
MAX_QUEUED_BYTES = 32 * 1024 * 1024

EOF_MARK = object()


class LinkStage:
    """A toxic running on one link: its toxicity roll, per-run scratch values, state and interruptible waits."""

    __slots__ = ("_waiters", "active", "link", "removed", "run", "state", "toxic")

    def __init__(self, link: Link, toxic: Toxic) -> None:
        self.link = link
        self.toxic = toxic
        self.state: Any = toxic.kind.new_state()
        self.run: dict[str, Any] = {}
        self.active = False
        self.removed = False
        self._waiters: set[asyncio.Future[bool]] = set()

    @property
    def attributes(self) -> dict[str, int]:
        return self.toxic.attributes

    def start(self) -> None:
        self.active = random.random() < self.toxic.toxicity
        self.run = {}
        self.toxic.kind.on_start(self)

    def stop(self) -> None:
        """Cut waits short (held data goes on) and cancel the toxic's timers."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(False)
        self.toxic.kind.on_stop(self)

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.removed = True
        self.stop()
        self.toxic.kind.on_remove(self)

    async def sleep(self, seconds: float | None) -> bool:
        if seconds is not None and seconds <= 0:
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        timer = None if seconds is None else loop.call_later(seconds, _resolve, waiter, True)
        self._waiters.add(waiter)
        try:
            return await waiter
        finally:
            self._waiters.discard(waiter)
            if timer is not None:
                timer.cancel()

    def close_link(self) -> None:
        self.link.close_output()

    def reset_link(self) -> None:
        self.link.reset_connection()

    def call_later(self, seconds: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(seconds, callback)


def _resolve(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


class Link:
    """Client→upstream (``upstream``) or upstream→client (``downstream``) data of one connection."""

    def __init__(self, direction: str, source: Endpoint, dest: Endpoint, toxics: list[Toxic],
                 on_reset: Callable[[], None]) -> None:
        self.direction = direction
        self.source = source
        self.dest = dest
        self.received = 0
        self.sent = 0
        self.closed = False
        self._on_reset = on_reset
        self._loop = asyncio.get_running_loop()
        self._stages: list[LinkStage] = []
        self._queue: deque[Any] = deque()
        self._queued_bytes = 0
        self._pump: asyncio.Task[None] | None = None
        self._eof = False
        self._dest_full = False
        self._queue_full = False
        self._reading_paused = False
        self._writable: asyncio.Future[None] | None = None
        for toxic in toxics:
            self.add_toxic(toxic)

    # --- toxics changing while the link lives -------------------------------------------------------------

    def add_toxic(self, toxic: Toxic) -> None:
        stage = LinkStage(self, toxic)
        self._stages.append(stage)
        stage.start()

    def update_toxic(self, toxic: Toxic) -> None:
        for stage in self._stages:
            if stage.toxic is toxic:
                stage.restart()

    def remove_toxic(self, toxic: Toxic) -> None:
        for stage in [stage for stage in self._stages if stage.toxic is toxic]:
            self._stages.remove(stage)
            stage.remove()

    # --- data from the source ------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        self.received += len(data)
        if self.closed:
            return
        if self._pump is None and not self._stages:
            self._write(data)
            return
        self._queue.append(Chunk(data, self._loop.time()))
        self._queued_bytes += len(data)
        if len(self._queue) >= MAX_QUEUED_CHUNKS or self._queued_bytes >= MAX_QUEUED_BYTES:
            self._queue_full = True
            self._update_reading()
        self._ensure_pump()

    def feed_eof(self) -> None:
        if self._eof or self.closed:
            return
        self._eof = True
        if self._pump is None and not self._stages:
            self.close_output()
            return
        self._queue.append(EOF_MARK)
        self._ensure_pump()

    def _ensure_pump(self) -> None:
        if self._pump is None:
            self._pump = self._loop.create_task(self._run_pump())

    async def _run_pump(self) -> None:
        try:
            while self._queue and not self.closed:
                item = self._queue.popleft()
                stages = tuple(self._stages)
                if item is EOF_MARK:
                    await self._finish(stages)
                    return
                self._queued_bytes -= len(item.data)
                if self._queue_full and len(self._queue) < MAX_QUEUED_CHUNKS // 2 \
                        and self._queued_bytes < MAX_QUEUED_BYTES // 2:
                    self._queue_full = False
                    self._update_reading()
                await self._forward(item, stages, 0)
        finally:
            self._pump = None

    async def _forward(self, chunk: Chunk, stages: tuple[LinkStage, ...], index: int) -> None:
        for position in range(index, len(stages)):
            stage = stages[position]
            if stage.active and not stage.removed:
                async def emit(piece: Chunk, after: int = position + 1) -> None:
                    await self._forward(piece, stages, after)

                await stage.toxic.kind.on_chunk(stage, chunk, emit)
                return
        if self._dest_full and not self.closed:
            await self._wait_writable()
        self._write(chunk.data)

    async def _finish(self, stages: tuple[LinkStage, ...]) -> None:
        for stage in stages:
            if stage.active and not stage.removed and not self.closed:
                await stage.toxic.kind.on_eof(stage)
        self.close_output()

    def _write(self, data: bytes) -> None:
        transport = self.dest.transport
        if self.closed or transport is None or transport.is_closing() or not data:
            return
        transport.write(data)
        self.sent += len(data)

    # --- flow control -----------------------------------------------------------------------------------------

    def set_dest_full(self, full: bool) -> None:
        """The destination's write buffer went above (or back below) its high-water mark."""
        self._dest_full = full
        if not full and self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._update_reading()

    async def _wait_writable(self) -> None:
        self._writable = self._loop.create_future()
        try:
            await self._writable
        finally:
            self._writable = None

    def _update_reading(self) -> None:
        pause = self._dest_full or self._queue_full
        transport = self.source.transport
        if pause == self._reading_paused or transport is None or transport.is_closing():
            return
        self._reading_paused = pause
        if pause:
            transport.pause_reading()
        else:
            transport.resume_reading()

    # --- ending ----------------------------------------------------------------------------------------------

    def close_output(self) -> None:
        """Stop this direction: discard what is queued and close the destination after its buffer flushes."""
        if self.closed:
            return
        self.shutdown()
        if self.dest.transport is not None:
            self.dest.transport.close()

    def reset_connection(self) -> None:
        self._on_reset()

    def dest_lost(self) -> None:
        """The destination socket is gone: nothing more can be written."""
        self.shutdown()

    def shutdown(self) -> None:
        """Stop everything this link runs (pump, toxic timers) without touching the sockets."""
        if self.closed:
            return
        self.closed = True
        self._queue.clear()
        self._queued_bytes = 0
        for stage in self._stages:
            stage.stop()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        pump = self._pump
        if pump is not None and pump is not asyncio.current_task():
            pump.cancel()
