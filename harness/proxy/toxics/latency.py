"""``latency``: hold each chunk until ``latency ± jitter`` ms after the proxy received it."""

from __future__ import annotations

import asyncio
import random

from harness.proxy.jsonbody import GoStruct
from harness.proxy.toxics.base import Chunk, Emit, Stage, ToxicKind


class Latency(ToxicKind):
    type_name = "latency"
    struct = GoStruct("LatencyToxic", {"latency": "int64", "jitter": "int64"})

    async def on_chunk(self, stage: Stage, chunk: Chunk, emit: Emit) -> None:
        delay_ms = stage.attributes["latency"]
        jitter = stage.attributes["jitter"]
        if jitter > 0:
            delay_ms += random.randrange(-jitter, jitter)
        release = chunk.timestamp + delay_ms / 1000
        wait = release - asyncio.get_running_loop().time()
        # Measured from arrival, so queued chunks are pipelined; stacked latency toxics add up.
        if wait > 0 and await stage.sleep(wait):
            chunk.timestamp = release
        await emit(chunk)
