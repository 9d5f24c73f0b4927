"""``bandwidth``: limit a direction to ``rate`` KB/s (1 KB = 1000 bytes); ``rate`` 0 holds data back."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from harness.proxy.jsonbody import GoStruct
from harness.proxy.toxics.base import Chunk, Emit, Stage, ToxicKind

SLICE_S = 0.1


class Bandwidth(ToxicKind):
    type_name = "bandwidth"
    struct = GoStruct("BandwidthToxic", {"rate": "int64"})

    def invalid_reason(self, attributes: Mapping[str, int]) -> str | None:
        if attributes["rate"] < 0:
            return "bandwidth rate must not be negative"
        return None

    def on_start(self, stage: Stage) -> None:
        stage.run["debt_s"] = 0.0

    async def on_chunk(self, stage: Stage, chunk: Chunk, emit: Emit) -> None:
        rate = stage.attributes["rate"]
        if rate <= 0:
            await stage.sleep(None)  # stalled until updated or removed, then the chunk goes on
            await emit(chunk)
            return
        loop = asyncio.get_running_loop()
        stage.run["debt_s"] += len(chunk.data) / (rate * 1000)
        data, slice_size = chunk.data, rate * 100
        while len(data) > slice_size:
            if not await stage.sleep(SLICE_S):
                break
            await emit(Chunk(data[:slice_size], chunk.timestamp))
            data = data[slice_size:]
            stage.run["debt_s"] -= SLICE_S
        else:
            started = loop.time()
            if await stage.sleep(stage.run["debt_s"]):
                stage.run["debt_s"] -= loop.time() - started
        await emit(Chunk(data, chunk.timestamp))
