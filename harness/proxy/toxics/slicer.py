"""``slicer``: cut each chunk into pieces of about ``average_size`` (± ``size_variation``) bytes and sleep
``delay`` microseconds after each piece."""

from __future__ import annotations

import random
from collections.abc import Mapping

from harness.proxy.jsonbody import GoStruct
from harness.proxy.toxics.base import Chunk, Emit, Stage, ToxicKind


def cut_points(length: int, average: int, variation: int) -> list[int]:
    """Piece boundaries by recursive halving, each cut moved by up to ``variation`` bytes."""
    pieces: list[tuple[int, int]] = []
    pending = [(0, length)]
    while pending:
        start, end = pending.pop()
        if (end - start) - average <= variation:
            pieces.append((start, end))
            continue
        middle = start + (end - start) // 2
        if variation > 0:
            middle += random.randrange(-variation, variation)
        pending.append((middle, end))
        pending.append((start, middle))
    return [end for _start, end in pieces]


class Slicer(ToxicKind):
    type_name = "slicer"
    struct = GoStruct("SlicerToxic", {"average_size": "int", "size_variation": "int", "delay": "int"})

    def invalid_reason(self, attributes: Mapping[str, int]) -> str | None:
        average, variation = attributes["average_size"], attributes["size_variation"]
        if average < 1:
            return "slicer average_size must be at least 1"
        if not 0 <= variation < average:
            return "slicer size_variation must be at least 0 and smaller than average_size"
        return None

    async def on_chunk(self, stage: Stage, chunk: Chunk, emit: Emit) -> None:
        attributes = stage.attributes
        delay_s = attributes["delay"] / 1_000_000
        start = 0
        for end in cut_points(len(chunk.data), attributes["average_size"], attributes["size_variation"]):
            await emit(Chunk(chunk.data[start:end], chunk.timestamp))
            start = end
            if delay_s > 0 and not await stage.sleep(delay_s):
                break
        if start < len(chunk.data):
            await emit(Chunk(chunk.data[start:], chunk.timestamp))
