"""What every toxic is: a Go-compatible attribute struct plus hooks that act on one link's chunks.

A toxic *kind* is stateless and shared; what it needs per link lives on the :class:`Stage` it is given (the
toxicity roll, per-run scratch values, persistent state such as limit_data's byte count). The link calls
``on_chunk``/``on_eof`` only on stages whose toxicity roll made them active.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from harness.proxy.jsonbody import GoStruct


@dataclass(slots=True)
class Chunk:
    """One socket read: its bytes and the loop time at which the proxy received it."""

    data: bytes
    timestamp: float


Emit = Callable[[Chunk], Awaitable[None]]


class Stage(Protocol):
    """What a toxic may see and do on the link it runs on."""

    attributes: Mapping[str, int]
    active: bool
    run: dict[str, Any]
    state: Any

    async def sleep(self, seconds: float | None) -> bool:
        """Wait ``seconds`` (``None``: forever); False when the toxic is updated or removed meanwhile."""
        ...

    def close_link(self) -> None:
        """Stop this direction's output, which closes the whole connection once the other side drains."""
        ...

    def reset_link(self) -> None:
        """Close both sockets of the connection with a TCP reset."""
        ...

    def call_later(self, seconds: float, callback: Callable[[], None]) -> asyncio.TimerHandle: ...


class ToxicKind:
    """Base for one toxic type; the defaults pass everything through unchanged."""

    type_name: ClassVar[str]
    struct: ClassVar[GoStruct]

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return tuple(self.struct.fields)

    def invalid_reason(self, attributes: Mapping[str, int]) -> str | None:
        """Why these attributes are refused (400), where the Go server would crash on them."""
        return None

    def new_state(self) -> Any:
        """State that lives as long as the toxic on one link (kept across updates)."""
        return None

    def on_start(self, stage: Stage) -> None:
        """The toxic (re)starts on a link: at connection start, when added, or after an update."""

    def on_stop(self, stage: Stage) -> None:
        """The toxic stops on a link (update, removal, connection end): cancel timers."""

    def on_remove(self, stage: Stage) -> None:
        """The toxic is removed while the link lives."""

    async def on_chunk(self, stage: Stage, chunk: Chunk, emit: Emit) -> None:
        await emit(chunk)

    async def on_eof(self, stage: Stage) -> None:
        """The link's source ended; return when the close may go on."""
