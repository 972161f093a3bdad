"""@array: JavaScript Array methods as pipe functions (mutators mutate, like JS)."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from hotmesh import errors
from hotmesh.expr import budget
from hotmesh.expr.functions.registry import register
from hotmesh.expr.js import (
    UNDEFINED,
    code_units,
    from_code_units,
    greater_than,
    is_nullish,
    less_than,
    relative_index,
    strict_eq,
    to_integer,
    to_string,
    truthy,
)

_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")  # canonical index keys: '1' yes, '01' no


def _require(name: str, array: Any) -> list[Any]:
    if isinstance(array, list):
        return array
    raise errors.EvaluationError(
        f"@array.{name}: expected an array, got {to_string(array)!r}"
    )


@register(
    "array.get",
    (1, 2),
    "Element at `index` (default 0); null-safe.",
    note="Strings and objects are indexed too, as JS's `value[index]` would.",
)
def get(array: Any = UNDEFINED, index: Any = UNDEFINED) -> Any:
    if is_nullish(array):
        return UNDEFINED
    key = to_string(index) if truthy(index) else "0"
    if isinstance(array, dict):
        return array.get(key, UNDEFINED)
    if not isinstance(array, list | str) or not _ARRAY_INDEX.fullmatch(key):
        return UNDEFINED
    position = int(key)
    if isinstance(array, str):  # code units: JavaScript's "😀"[0] is half an emoji
        units = code_units(array)
        return from_code_units(units[position]) if position < len(units) else UNDEFINED
    return array[position] if position < len(array) else UNDEFINED


@register("array.length", (1, 1), "Number of elements; undefined for a non-array.")
def length(array: Any = UNDEFINED) -> Any:
    if isinstance(array, str):
        return len(code_units(array))
    return len(array) if isinstance(array, list) else UNDEFINED


@register(
    "array.concat",
    (1, None),
    "New array: `array` followed by the items (arrays are spread).",
    note="Any number of items; upstream passes only the first two values of the row "
    "above (`array` and one item), so further items are dropped there.",
)
def concat(array: Any = UNDEFINED, *items: Any) -> Any:
    out = list(_require("concat", array))
    for item in items:
        if isinstance(item, list):
            out.extend(item)
        else:
            out.append(item)
    return out


@register(
    "array.indexOf",
    (2, 3),
    "First index of `item` (strict equality) from `fromIndex`, or -1.",
)
def index_of(
    array: Any = UNDEFINED, item: Any = UNDEFINED, from_index: Any = UNDEFINED
) -> Any:
    arr = _require("indexOf", array)
    for i in range(relative_index(from_index, len(arr), 0), len(arr)):
        if strict_eq(arr[i], item):
            return i
    return -1


@register(
    "array.lastIndexOf",
    (2, 3),
    "Last index of `item` (strict equality) at or before `fromIndex`, or -1.",
)
def last_index_of(
    array: Any = UNDEFINED, item: Any = UNDEFINED, from_index: Any = UNDEFINED
) -> Any:
    arr = _require("lastIndexOf", array)
    start = len(arr) - 1
    if from_index is not UNDEFINED:
        n = to_integer(from_index)
        start = int(min(n, len(arr) - 1)) if n >= 0 else int(len(arr) + n)
    for i in range(start, -1, -1):
        if strict_eq(arr[i], item):
            return i
    return -1


@register(
    "array.join", (1, 2), "Elements as strings joined by `separator` (default ',')."
)
def join(array: Any = UNDEFINED, separator: Any = UNDEFINED) -> Any:
    arr = _require("join", array)
    sep = "," if separator is UNDEFINED else to_string(separator)
    return sep.join("" if is_nullish(v) else to_string(v) for v in arr)


@register("array.pop", (1, 1), "Remove and return the last element (mutates).")
def pop(array: Any = UNDEFINED) -> Any:
    arr = _require("pop", array)
    return arr.pop() if arr else UNDEFINED


@register(
    "array.push",
    (1, None),
    "Append the items and return the array itself (mutates).",
    note="Returns the array, as upstream does; JavaScript's push returns the new length.",
)
def push(array: Any = UNDEFINED, *items: Any) -> Any:
    arr = _require("push", array)
    arr.extend(items)
    return arr


@register("array.reverse", (1, 1), "Reverse in place and return the array.")
def reverse(array: Any = UNDEFINED) -> Any:
    arr = _require("reverse", array)
    arr.reverse()
    return arr


@register("array.shift", (1, 1), "Remove and return the first element (mutates).")
def shift(array: Any = UNDEFINED) -> Any:
    arr = _require("shift", array)
    return arr.pop(0) if arr else UNDEFINED


@register(
    "array.slice",
    (1, 3),
    "Elements from `start` up to (not including) `end`; negatives count from the end.",
)
def slice_(array: Any = UNDEFINED, start: Any = UNDEFINED, end: Any = UNDEFINED) -> Any:
    arr = _require("slice", array)
    lo = relative_index(start, len(arr), 0)
    hi = relative_index(end, len(arr), len(arr))
    return arr[lo:hi]


def _locale_key(text: str) -> tuple[str, str, tuple[bool, ...], str]:
    """Approximate ``localeCompare``: base letters, then accents, then lower before upper."""
    folded = unicodedata.normalize("NFD", text.casefold())
    base = "".join(c for c in folded if not unicodedata.combining(c))
    return base, folded, tuple(c.isupper() for c in text), text


def _sort_key_cmp(descending: bool) -> Any:
    def rank(value: Any) -> int:
        return 0 if is_nullish(value) else 1

    def cmp(a: Any, b: Any) -> int:
        ra, rb = rank(a), rank(b)
        if ra != rb:
            # null/undefined first when ascending, last when descending
            return (ra - rb) if not descending else (rb - ra)
        if ra == 0:
            return 0
        if isinstance(a, str) and isinstance(b, str):
            ka, kb = _locale_key(a), _locale_key(b)
            result = (ka > kb) - (ka < kb)
        else:
            result = 1 if greater_than(a, b) else (-1 if less_than(a, b) else 0)
        return -result if descending else result

    return functools.cmp_to_key(cmp)


@register(
    "array.sort",
    (1, 2),
    "Sort in place: ascending when `order` is exactly 'ASCENDING' (the default), "
    "descending for any other order ('DESCENDING', 'desc', null…); "
    "null/undefined first (asc) or last (desc).",
    note=(
        "Strings use a Unicode approximation of localeCompare (base letter, accent, "
        "lower case first), not ICU collation."
    ),
)
def sort(array: Any = UNDEFINED, order: Any = UNDEFINED) -> Any:
    arr = _require("sort", array)
    # As upstream: only an omitted order or exactly 'ASCENDING' sorts ascending.
    descending = order is not UNDEFINED and order != "ASCENDING"
    if all(type(v) is str for v in arr):
        # The common case, at C speed: each key is computed once, not per comparison.
        budget.charge(len(arr) * budget.ENTRY * 4 + budget.sort_cost(len(arr), 100))
        arr.sort(key=_locale_key, reverse=descending)
        return arr
    budget.charge(budget.sort_cost(len(arr), budget.COMPARE))
    arr.sort(key=_sort_key_cmp(descending))
    return arr


@register(
    "array.splice",
    (2, None),
    "Remove `deleteCount` elements at `start`, insert the items; return the removed.",
)
def splice(
    array: Any = UNDEFINED,
    start: Any = UNDEFINED,
    delete_count: Any = UNDEFINED,
    *items: Any,
) -> Any:
    arr = _require("splice", array)
    lo = relative_index(start, len(arr), 0)
    count = (
        len(arr) - lo
        if delete_count is UNDEFINED
        else int(max(0, min(to_integer(delete_count), len(arr) - lo)))
    )
    removed = arr[lo : lo + count]
    arr[lo : lo + count] = list(items)
    return removed


@register(
    "array.unshift", (1, None), "Prepend the items (mutates) and return the new length."
)
def unshift(array: Any = UNDEFINED, *items: Any) -> Any:
    arr = _require("unshift", array)
    arr[0:0] = list(items)
    return len(arr)
