"""A streaming ASGI response that stops producing as soon as the client goes away.

Starlette's StreamingResponse notices a disconnect only when a write fails, so a stream that is
silent on purpose (a ``stall`` fault) would outlive its client. This one watches ``receive`` too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

from starlette.types import Receive, Scope, Send


class StreamCutByFault(Exception):
    """Raised inside a stream to drop the connection mid-response, as a ``disconnect`` fault asks."""


class EventStreamResponse:
    """``text/event-stream`` response fed by an async iterator of byte chunks."""

    def __init__(self, chunks: AsyncIterator[bytes], *, status_code: int = 200,
                 headers: Mapping[str, str] | None = None) -> None:
        self.chunks = chunks
        self.status_code = status_code
        self.headers = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache",
                        "x-accel-buffering": "no", **(headers or {})}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": [(k.encode(), v.encode()) for k, v in self.headers.items()]})
        producer = asyncio.create_task(self._pump(send))
        watcher = asyncio.create_task(_wait_for_disconnect(receive))
        done, _ = await asyncio.wait({producer, watcher}, return_when=asyncio.FIRST_COMPLETED)
        for task in (producer, watcher):
            if task not in done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if producer in done and not producer.cancelled():
            producer.result()

    async def _pump(self, send: Send) -> None:
        try:
            async for chunk in self.chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            return
        finally:
            await self.chunks.aclose()  # type: ignore[attr-defined]


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
