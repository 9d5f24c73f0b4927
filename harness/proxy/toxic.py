"""A configured toxic (name, type, stream, toxicity, attributes, optional TTL) and its JSON, as the API sees it.

The TTL extension: a toxic body may carry ``"ttl_s": <seconds>`` (a positive number). The toxic then removes
itself that long after it was created or last updated; ``"ttl_s": 0`` on an update clears it. The key is shown
in the toxic's JSON only when a TTL is set, so real-Toxiproxy clients never see it unless they ask for it (the
real server ignores the key, which makes a harness that sends it portable).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from harness.proxy.errors import BAD_REQUEST_BODY, INVALID_STREAM, INVALID_TOXIC_TYPE, TOXIC_ALREADY_EXISTS
from harness.proxy.jsonbody import GoObject, GoStruct, json_type_word
from harness.proxy.toxics import KINDS, ToxicKind

UPSTREAM, DOWNSTREAM = "upstream", "downstream"
TTL_KEY = "ttl_s"

# The JSON fields of Go's ToxicWrapper (attributes are decoded separately, once the type is known).
WRAPPER = GoStruct("ToxicWrapper", {"name": "string", "type": "string", "stream": "string",
                                    "toxicity": "float32", "attributes": "object", TTL_KEY: "number"})
UPDATE = GoStruct("ToxicWrapper", {"toxicity": "float32", "attributes": "object", TTL_KEY: "number"})


def parse_direction(stream: str) -> str:
    """``upstream``/``downstream`` from a stream string (case-insensitive; ``""`` is invalid)."""
    direction = stream.lower()
    if direction not in (UPSTREAM, DOWNSTREAM):
        raise INVALID_STREAM
    return direction


def float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


def float32_json(value: float) -> float | int:
    """The value as Go prints a float32: the shortest decimal that reads back as the same float32."""
    target = float32(value)
    for digits in range(1, 10):
        text = f"{target:.{digits}g}"
        if float32(float(text)) == target:
            number = float(text)
            return int(number) if number.is_integer() and abs(number) < 1e21 else number
    return target


@dataclass(eq=False)
class Toxic:
    """One toxic on one proxy; ``attributes`` always holds every attribute of the type."""

    name: str
    kind: ToxicKind
    stream: str
    toxicity: float
    attributes: dict[str, int]
    ttl_s: float | None = None
    direction: str = field(init=False)

    def __post_init__(self) -> None:
        self.direction = parse_direction(self.stream)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.kind.type_name,
            "stream": self.stream,
            "toxicity": float32_json(self.toxicity),
        }
        if self.ttl_s is not None:
            body[TTL_KEY] = self.ttl_s
        return body


@dataclass(frozen=True)
class ToxicUpdate:
    """The changes an update body asks for; ``ttl_s`` is ``None`` when not given, 0 to clear."""

    attributes: dict[str, int]
    toxicity: float | None
    ttl_s: float | None


def decode_attributes(kind: ToxicKind, raw: Any, current: dict[str, int]) -> dict[str, int]:
    """``current`` merged with the attributes in ``raw``, strictly typed, and checked for crash values."""
    merged = {**current, **kind.struct.decode(raw, path="attributes.",
                                              go_value_type=f"toxics.{kind.struct.go_name}")}
    reason = kind.invalid_reason(merged)
    if reason:
        raise BAD_REQUEST_BODY.joined(reason)
    return merged


def checked_ttl(value: Any, *, allow_zero: bool) -> float | None:
    if value is None:
        return None
    if value < 0 or (value == 0 and not allow_zero):
        raise BAD_REQUEST_BODY.joined(f"{TTL_KEY} must be a positive number of seconds")
    return float(value)


def toxic_from_body(body: Any, existing_names: set[str]) -> Toxic:
    """Build a toxic from a create body, checking in the real server's order (stream, type, name, attributes)."""
    fields = WRAPPER.decode(body, go_value_type="toxics.ToxicWrapper")
    attributes_raw = fields.get("attributes")
    if attributes_raw is not None and not isinstance(attributes_raw, GoObject):
        raise BAD_REQUEST_BODY.joined(f"json: cannot unmarshal {json_type_word(attributes_raw)} into Go struct "
                                      "field ToxicWrapper.attributes of type toxics.NoopToxic")
    stream = fields.get("stream", DOWNSTREAM)
    parse_direction(stream)
    type_name = fields.get("type", "")
    name = fields.get("name") or f"{type_name}_{stream}"
    kind = KINDS.get(type_name)
    if kind is None:
        raise INVALID_TOXIC_TYPE
    if name in existing_names:
        raise TOXIC_ALREADY_EXISTS
    attributes = decode_attributes(kind, attributes_raw, dict.fromkeys(kind.attribute_names, 0))
    return Toxic(name=name, kind=kind, stream=stream, toxicity=fields.get("toxicity", 1.0),
                 attributes=attributes, ttl_s=checked_ttl(fields.get(TTL_KEY), allow_zero=False))


def update_from_body(toxic: Toxic, body: Any) -> ToxicUpdate:
    """The changes an update body makes to ``toxic`` (attributes merged, nothing applied yet)."""
    fields = UPDATE.decode(body, go_value_type="struct { Attributes interface {}; Toxicity float32 }")
    attributes = decode_attributes(toxic.kind, fields.get("attributes"), toxic.attributes)
    return ToxicUpdate(attributes=attributes, toxicity=fields.get("toxicity"),
                       ttl_s=checked_ttl(fields.get(TTL_KEY), allow_zero=True))
