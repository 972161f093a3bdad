"""@symbol: nullary constants (null, undefined, whitespace, {}, [], ±Infinity, NaN, now)."""

from __future__ import annotations

import math
import time
from typing import Any

from hotmesh.expr.functions.registry import register
from hotmesh.expr.js import UNDEFINED


@register("symbol.null", (0, 0), "`null`.")
def null() -> None:
    return None


@register("symbol.undefined", (0, 0), "`undefined` (dropped from map blocks).")
def undefined() -> Any:
    return UNDEFINED


@register("symbol.whitespace", (0, 0), "A single space `' '`.")
def whitespace() -> str:
    return " "


@register("symbol.object", (0, 0), "A new empty object `{}`.")
def object_() -> dict[str, Any]:
    return {}


@register("symbol.array", (0, 0), "A new empty array `[]`.")
def array() -> list[Any]:
    return []


@register("symbol.posInfinity", (0, 0), "`Infinity`.")
def pos_infinity() -> float:
    return math.inf


@register("symbol.negInfinity", (0, 0), "`-Infinity`.")
def neg_infinity() -> float:
    return -math.inf


@register("symbol.NaN", (0, 0), "`NaN`.")
def nan() -> float:
    return math.nan


@register(
    "symbol.date",
    (0, 0),
    "The current time as epoch milliseconds.",
    note="Returns epoch milliseconds (a number), never a Date object: upstream returns "
    "a Date; JSON has no Date type, so a job stores a date as its epoch milliseconds.",
    pure=False,
)
def date() -> int:
    return time.time_ns() // 1_000_000
