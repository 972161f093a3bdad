"""@bitwise: JavaScript's 32-bit integer operators."""

from __future__ import annotations

from typing import Any

from hotmesh.expr.functions.registry import register
from hotmesh.expr.js import UNDEFINED, to_int32, to_uint32


def _wrap(n: int) -> int:
    n &= 0xFFFFFFFF
    return n - 0x100000000 if n >= 0x80000000 else n


@register("bitwise.and", (2, 2), "`a & b` on 32-bit signed integers.")
def and_(a: Any = UNDEFINED, b: Any = UNDEFINED) -> int:
    return _wrap(to_int32(a) & to_int32(b))


@register("bitwise.or", (2, 2), "`a | b` on 32-bit signed integers.")
def or_(a: Any = UNDEFINED, b: Any = UNDEFINED) -> int:
    return _wrap(to_int32(a) | to_int32(b))


@register("bitwise.xor", (2, 2), "`a ^ b` on 32-bit signed integers.")
def xor(a: Any = UNDEFINED, b: Any = UNDEFINED) -> int:
    return _wrap(to_int32(a) ^ to_int32(b))


@register("bitwise.leftShift", (2, 2), "`a << b` (shift count taken modulo 32).")
def left_shift(a: Any = UNDEFINED, b: Any = UNDEFINED) -> int:
    return _wrap(to_int32(a) << (to_uint32(b) & 31))


@register("bitwise.rightShift", (2, 2), "`a >> b`, sign-propagating.")
def right_shift(a: Any = UNDEFINED, b: Any = UNDEFINED) -> int:
    return to_int32(a) >> (to_uint32(b) & 31)


@register(
    "bitwise.unsignedRightShift",
    (2, 2),
    "`a >>> b`, zero-filling; the result is unsigned.",
)
def unsigned_right_shift(a: Any = UNDEFINED, b: Any = UNDEFINED) -> int:
    return to_uint32(a) >> (to_uint32(b) & 31)
