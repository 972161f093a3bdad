"""@unary: JavaScript's unary operators `!`, `+`, `-` and `~`."""

from __future__ import annotations

from typing import Any

from hotmesh.expr.functions.registry import register
from hotmesh.expr.js import UNDEFINED, to_int32, to_number, truthy


@register("unary.not", (1, 1), "`!value` (JS truthiness).")
def not_(value: Any = UNDEFINED) -> bool:
    return not truthy(value)


@register(
    "unary.positive", (1, 1), "`+value`: numeric coercion (NaN when not numeric)."
)
def positive(value: Any = UNDEFINED) -> Any:
    return to_number(value)


@register("unary.negative", (1, 1), "`-value`: negated numeric coercion.")
def negative(value: Any = UNDEFINED) -> Any:
    number = to_number(value)
    return 0 if number == 0 else -number


@register("unary.bitwise_not", (1, 1), "`~value` on a 32-bit signed integer.")
def bitwise_not(value: Any = UNDEFINED) -> int:
    return ~to_int32(value)
