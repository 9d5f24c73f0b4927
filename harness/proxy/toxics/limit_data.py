"""``limit_data``: forward at most ``bytes`` bytes on the link, then close the connection."""

from __future__ import annotations

from dataclasses import dataclass

from harness.proxy.jsonbody import GoStruct
from harness.proxy.toxics.base import Chunk, Emit, Stage, ToxicKind


@dataclass
class Transmitted:
    """Bytes forwarded since the toxic became active on this link (survives updates)."""

    count: int = 0


class LimitData(ToxicKind):
    type_name = "limit_data"
    struct = GoStruct("LimitDataToxic", {"bytes": "int64"})

    def new_state(self) -> Transmitted:
        return Transmitted()

    async def on_chunk(self, stage: Stage, chunk: Chunk, emit: Emit) -> None:
        limit = stage.attributes["bytes"]
        remaining = max(0, limit - stage.state.count)
        data = chunk.data[:remaining]
        if data:
            stage.state.count += len(data)
            await emit(Chunk(data, chunk.timestamp))
        if limit - stage.state.count <= 0:
            stage.close_link()
