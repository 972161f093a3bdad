"""@logical: JavaScript `&&` and `||`, which return an operand, not a boolean."""

from __future__ import annotations

from typing import Any

from hotmesh.expr.functions.registry import register
from hotmesh.expr.js import UNDEFINED, truthy


@register("logical.and", (2, 2), "`a && b`: `a` when falsy, else `b`.")
def and_(a: Any = UNDEFINED, b: Any = UNDEFINED) -> Any:
    return b if truthy(a) else a


@register("logical.or", (2, 2), "`a || b`: `a` when truthy, else `b`.")
def or_(a: Any = UNDEFINED, b: Any = UNDEFINED) -> Any:
    return a if truthy(a) else b
