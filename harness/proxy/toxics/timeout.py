"""``timeout``: drop all data; close the connection ``timeout`` ms after the toxic starts (0 = never).

Removing the toxic closes every connection it was on, as the real server does.
"""

from __future__ import annotations

from harness.proxy.jsonbody import GoStruct
from harness.proxy.toxics.base import Chunk, Emit, Stage, ToxicKind


class Timeout(ToxicKind):
    type_name = "timeout"
    struct = GoStruct("TimeoutToxic", {"timeout": "int64"})

    def on_start(self, stage: Stage) -> None:
        timeout_ms = stage.attributes["timeout"]
        if stage.active and timeout_ms > 0:
            stage.run["timer"] = stage.call_later(timeout_ms / 1000, stage.close_link)

    def on_stop(self, stage: Stage) -> None:
        timer = stage.run.pop("timer", None)
        if timer is not None:
            timer.cancel()

    def on_remove(self, stage: Stage) -> None:
        stage.close_link()

    async def on_chunk(self, stage: Stage, chunk: Chunk, emit: Emit) -> None:
        """Swallow the chunk."""
