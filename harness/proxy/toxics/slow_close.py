"""``slow_close``: data passes; the close of the direction is held for ``delay`` ms."""

from __future__ import annotations

from harness.proxy.jsonbody import GoStruct
from harness.proxy.toxics.base import Stage, ToxicKind


class SlowClose(ToxicKind):
    type_name = "slow_close"
    struct = GoStruct("SlowCloseToxic", {"delay": "int64"})

    async def on_eof(self, stage: Stage) -> None:
        await stage.sleep(stage.attributes["delay"] / 1000)
