"""``noop``: passes data unchanged (valid through the API, no attributes)."""

from __future__ import annotations

from harness.proxy.jsonbody import GoStruct
from harness.proxy.toxics.base import ToxicKind


class Noop(ToxicKind):
    type_name = "noop"
    struct = GoStruct("NoopToxic", {})
