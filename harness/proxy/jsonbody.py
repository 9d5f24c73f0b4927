"""Decode request bodies the way Go's ``encoding/json`` decodes them into Toxiproxy's structs.

Only the first JSON value of a body is read (trailing bytes are ignored, as with ``json.Decoder``); keys match
struct fields case-insensitively, the last duplicate wins, ``null`` leaves the default in place, unknown keys are
ignored, and integer fields accept only integral JSON numbers (``100.0`` and ``1e3`` are type errors). Error texts
follow Go's wording so that clients see the same message from this server and from the real one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from harness.proxy.errors import BAD_REQUEST_BODY

Kind = Literal["string", "bool", "int64", "int", "float32", "object", "number"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
GO_TYPE_NAMES = {"string": "string", "bool": "bool", "int64": "int64", "int": "int", "float32": "float32"}


class RawFloat(float):
    """A JSON number with a fraction or exponent, remembering its text for error messages."""

    text: str

    def __new__(cls, text: str) -> RawFloat:
        value = super().__new__(cls, text)
        value.text = text
        return value


class GoObject(dict):
    """A decoded JSON object; marks objects apart from Python dicts built by our own code."""


def _object_pairs(pairs: list[tuple[str, Any]]) -> GoObject:
    return GoObject(pairs)


_DECODER = json.JSONDecoder(object_pairs_hook=_object_pairs, parse_float=RawFloat)


def parse_body(raw: bytes) -> Any:
    """Decode the first JSON value of ``raw``; a syntax error raises ``bad request body: <Go text>``."""
    text = raw.decode("utf-8", errors="replace")
    start = len(text) - len(text.lstrip(" \t\r\n"))
    if start == len(text):
        raise BAD_REQUEST_BODY.joined("EOF")
    try:
        value, _end = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as error:
        raise BAD_REQUEST_BODY.joined(_go_syntax_message(text, error)) from None
    return value


def _go_syntax_message(text: str, error: json.JSONDecodeError) -> str:
    if error.pos >= len(text.rstrip()):
        return "unexpected EOF"
    char = text[error.pos]
    if error.msg.startswith("Expecting property name"):
        return f"invalid character {char!r} looking for beginning of object key string"
    if error.msg.startswith("Expecting ':'"):
        return f"invalid character {char!r} after object key"
    if error.msg.startswith("Expecting ','"):
        return f"invalid character {char!r} after object key:value pair"
    return f"invalid character {char!r} looking for beginning of value"


def json_type_word(value: Any) -> str:
    """Go's word for a JSON value in ``cannot unmarshal <word> into ...``."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass(frozen=True)
class GoStruct:
    """The JSON-visible fields of one Go struct: ``{json_name: kind}``, and the struct's Go name."""

    go_name: str
    fields: Mapping[str, Kind]

    def decode(self, value: Any, *, path: str = "", go_value_type: str | None = None) -> dict[str, Any]:
        """The fields present (and not null) in ``value``, checked against their kinds."""
        if value is None:
            return {}
        if not isinstance(value, GoObject):
            target = go_value_type or f"toxiproxy.{self.go_name}"
            raise BAD_REQUEST_BODY.joined(
                f"json: cannot unmarshal {json_type_word(value)} into Go value of type {target}")
        by_lower = {name.lower(): name for name in self.fields}
        decoded: dict[str, Any] = {}
        for key, item in value.items():
            name = by_lower.get(key.lower())
            if name is None or item is None:
                continue
            decoded[name] = self.check(name, item, path=path)
        return decoded

    def check(self, name: str, item: Any, *, path: str = "") -> Any:
        """``item`` converted to the field's kind, or a Go-worded type error."""
        kind = self.fields[name]
        if kind == "object":
            return item
        ok, converted, word = _convert(kind, item)
        if ok:
            return converted
        field = f"{path}{name}"
        raise BAD_REQUEST_BODY.joined(
            f"json: cannot unmarshal {word} into Go struct field {self.go_name}.{field} "
            f"of type {GO_TYPE_NAMES.get(kind, kind)}")


def _convert(kind: Kind, item: Any) -> tuple[bool, Any, str]:
    word = json_type_word(item)
    if kind == "string":
        return isinstance(item, str), item, word
    if kind == "bool":
        return isinstance(item, bool), item, word
    if kind in ("int64", "int"):
        if isinstance(item, bool) or not isinstance(item, int | float):
            return False, None, word
        if isinstance(item, RawFloat) or not INT64_MIN <= item <= INT64_MAX:
            text = item.text if isinstance(item, RawFloat) else str(item)
            return False, None, f"number {text}"
        return True, int(item), word
    if kind in ("float32", "number"):
        if isinstance(item, bool) or not isinstance(item, int | float):
            return False, None, word
        return True, float(item), word
    return False, None, word
