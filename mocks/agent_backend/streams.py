"""Per-connection event queues for SSE streams, and the session streams of each thread.

Each SSE connection reads from its own queue. Healthy, the queue is bounded: a consumer too slow to
keep up is disconnected (it can reconnect) rather than allowed to hold memory. The
``unbounded_sse_queue`` defect makes every queue unbounded, so one slow reader grows the process.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable

from mocks.agent_backend.metrics import BackendMetrics

HEARTBEAT = b": heartbeat\n\n"
KNOWN_THREADS_LIMIT = 100_000


class EventQueue:
    """The queue of one SSE connection; ``None`` in it means the stream must end."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=size)
        self.overflowed = False

    def put(self, data: bytes) -> bool:
        """Queue ``data``; returns False (and marks the queue overflowed) when it is full."""
        if self.overflowed:
            return False
        try:
            self._queue.put_nowait(data)
            return True
        except asyncio.QueueFull:
            self.overflowed = True
            self.close()
            return False

    def close(self) -> None:
        """Ask the reader to end the stream after what it already has (or now, when overflowed)."""
        if self.overflowed:
            while not self._queue.empty():
                self._queue.get_nowait()
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            self._queue.get_nowait()
            self._queue.put_nowait(None)

    def depth(self) -> int:
        return self._queue.qsize()

    async def events(self, heartbeat_s: float) -> AsyncIterator[bytes]:
        """Yield queued events, a heartbeat comment when idle, until the queue is closed."""
        while True:
            try:
                data = await asyncio.wait_for(self._queue.get(), heartbeat_s)
            except TimeoutError:
                yield HEARTBEAT
                continue
            if data is None:
                return
            yield data


class ThreadStreams:
    """Open session streams by thread, and the threads seen recently."""

    def __init__(self, queue_size: int, metrics: BackendMetrics) -> None:
        self.queue_size = queue_size
        self._metrics = metrics
        self._streams: dict[str, set[EventQueue]] = {}
        self._run_queues: set[EventQueue] = set()
        self._known: OrderedDict[str, None] = OrderedDict()
        metrics.sse_queue_depth.set_function(self.total_depth)

    def new_queue(self) -> EventQueue:
        return EventQueue(self.queue_size)

    def open(self, thread_id: str) -> EventQueue:
        """Register a session stream for ``thread_id``."""
        queue = self.new_queue()
        self._streams.setdefault(thread_id, set()).add(queue)
        self.remember(thread_id)
        return queue

    def close(self, thread_id: str, queue: EventQueue) -> None:
        streams = self._streams.get(thread_id)
        if streams is not None:
            streams.discard(queue)
            if not streams:
                del self._streams[thread_id]

    def track_run_queue(self, queue: EventQueue, active: bool) -> None:
        """Count a standard-run stream's queue in the depth gauge while it is open."""
        (self._run_queues.add if active else self._run_queues.discard)(queue)

    def has_stream(self, thread_id: str) -> bool:
        return bool(self._streams.get(thread_id))

    def remember(self, thread_id: str) -> None:
        self._known[thread_id] = None
        self._known.move_to_end(thread_id)
        if len(self._known) > KNOWN_THREADS_LIMIT:
            self._known.popitem(last=False)

    def known(self, thread_id: str) -> bool:
        return thread_id in self._known

    def publisher(self, thread_id: str) -> Callable[[bytes], None]:
        """A function that sends encoded events to every open stream of ``thread_id``."""

        def publish(data: bytes) -> None:
            for queue in list(self._streams.get(thread_id, ())):
                if not queue.put(data):
                    self._metrics.sse_slow_consumers_dropped.inc()
                    self.close(thread_id, queue)

        return publish

    def close_all(self) -> None:
        """End every stream (shutdown)."""
        for queues in list(self._streams.values()):
            for queue in list(queues):
                queue.close()
        for queue in list(self._run_queues):
            queue.close()

    def total_depth(self) -> int:
        return sum(q.depth() for qs in self._streams.values() for q in qs) + sum(
            q.depth() for q in self._run_queues)
