"""@conditional: comparisons and choices with JavaScript coercion."""

from __future__ import annotations

from typing import Any

from hotmesh.expr import js
from hotmesh.expr.functions.registry import register
from hotmesh.expr.js import UNDEFINED


@register(
    "conditional.ternary",
    (3, 3),
    "`ifTrue` when `condition` is truthy (JS truthiness), else `ifFalse`.",
)
def ternary(
    condition: Any = UNDEFINED, if_true: Any = UNDEFINED, if_false: Any = UNDEFINED
) -> Any:
    return if_true if js.truthy(condition) else if_false


@register(
    "conditional.equality",
    (2, 2),
    "Loose equality `a == b` (1 == '1', null == undefined).",
)
def equality(a: Any = UNDEFINED, b: Any = UNDEFINED) -> bool:
    return js.loose_eq(a, b)


@register("conditional.inequality", (2, 2), "Loose inequality `a != b`.")
def inequality(a: Any = UNDEFINED, b: Any = UNDEFINED) -> bool:
    return not js.loose_eq(a, b)


@register(
    "conditional.strict_equality",
    (2, 2),
    "Strict equality `a === b` (no coercion; objects by identity).",
)
def strict_equality(a: Any = UNDEFINED, b: Any = UNDEFINED) -> bool:
    return js.strict_eq(a, b)


@register("conditional.strict_inequality", (2, 2), "Strict inequality `a !== b`.")
def strict_inequality(a: Any = UNDEFINED, b: Any = UNDEFINED) -> bool:
    return not js.strict_eq(a, b)


@register("conditional.greater_than", (2, 2), "`a > b` with JS coercion.")
def greater_than(a: Any = UNDEFINED, b: Any = UNDEFINED) -> bool:
    return js.greater_than(a, b)


@register("conditional.less_than", (2, 2), "`a < b` with JS coercion.")
def less_than(a: Any = UNDEFINED, b: Any = UNDEFINED) -> bool:
    return js.less_than(a, b)


@register("conditional.greater_than_or_equal", (2, 2), "`a >= b` with JS coercion.")
def greater_than_or_equal(a: Any = UNDEFINED, b: Any = UNDEFINED) -> bool:
    return js.greater_equal(a, b)


@register("conditional.less_than_or_equal", (2, 2), "`a <= b` with JS coercion.")
def less_than_or_equal(a: Any = UNDEFINED, b: Any = UNDEFINED) -> bool:
    return js.less_equal(a, b)


@register(
    "conditional.nullish", (2, 2), "`a ?? b`: `b` only when `a` is null or undefined."
)
def nullish(a: Any = UNDEFINED, b: Any = UNDEFINED) -> Any:
    return b if js.is_nullish(a) else a
