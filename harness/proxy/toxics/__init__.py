"""One module per toxic type, in the spirit of Toxiproxy's ``toxics/`` folder; :data:`KINDS` registers them."""

from __future__ import annotations

from harness.proxy.toxics.bandwidth import Bandwidth
from harness.proxy.toxics.base import Chunk, Emit, Stage, ToxicKind
from harness.proxy.toxics.latency import Latency
from harness.proxy.toxics.limit_data import LimitData
from harness.proxy.toxics.noop import Noop
from harness.proxy.toxics.reset_peer import ResetPeer
from harness.proxy.toxics.slicer import Slicer
from harness.proxy.toxics.slow_close import SlowClose
from harness.proxy.toxics.timeout import Timeout

KINDS: dict[str, ToxicKind] = {
    kind.type_name: kind
    for kind in (Latency(), Bandwidth(), SlowClose(), Timeout(), ResetPeer(), Slicer(), LimitData(), Noop())
}

__all__ = ["KINDS", "Chunk", "Emit", "Stage", "ToxicKind"]
