"""``reset_peer``: on the first data (or EOF), wait ``timeout`` ms, then reset both sockets (TCP RST)."""

from __future__ import annotations

import asyncio

from harness.proxy.jsonbody import GoStruct
from harness.proxy.toxics.base import Chunk, Emit, Stage, ToxicKind


class ResetPeer(ToxicKind):
    type_name = "reset_peer"
    struct = GoStruct("ResetToxic", {"timeout": "int64"})

    async def on_chunk(self, stage: Stage, chunk: Chunk, emit: Emit) -> None:
        await self._reset(stage)  # the triggering chunk is discarded

    async def on_eof(self, stage: Stage) -> None:
        await self._reset(stage)

    async def _reset(self, stage: Stage) -> None:
        if stage.run.get("fired"):
            return
        stage.run["fired"] = True
        timeout_ms = stage.attributes["timeout"]
        if timeout_ms > 0:
            await asyncio.sleep(timeout_ms / 1000)  # not interruptible, as in the real server
        stage.reset_link()
