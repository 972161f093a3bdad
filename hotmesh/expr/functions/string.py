"""@string: JavaScript String methods as pipe functions.

Lengths, indexes and positions count UTF-16 code units, as JavaScript does:
a character outside the Basic Multilingual Plane (an emoji) counts two, and
cutting one in half leaves a lone surrogate, as in JavaScript.
"""

from __future__ import annotations

import math
import re
from typing import Any

from hotmesh import errors
from hotmesh.expr import budget, regex
from hotmesh.expr.functions.registry import register
from hotmesh.expr.js import (
    UNDEFINED,
    code_units,
    from_code_units,
    is_nullish,
    relative_index,
    to_integer,
    to_number,
    to_string,
    to_uint32,
)

#: Upstream calls the JavaScript method on its first argument.
_RECEIVER = (
    "A value that is not a string is read as its text (`123` as `'123'`); upstream "
    "calls the method on the value itself, which throws for a number or boolean."
)
_SPLIT = (
    "`limit` is JavaScript's; upstream passes only `s` and `delimiter`, so a third "
    f"value in the row above is ignored there. {_RECEIVER}"
)


def _receiver(name: str, value: Any) -> str:
    if is_nullish(value):
        raise errors.EvaluationError(
            f"@string.{name}: cannot read properties of {to_string(value)}"
        )
    return to_string(value)


def _units(name: str, value: Any) -> str:
    """The receiver as UTF-16 code units (see ``js.code_units``)."""
    return code_units(_receiver(name, value))


def _position(value: Any, length: int, default: int) -> int:
    if value is UNDEFINED:
        return default
    n = to_integer(value)
    return int(max(0, min(n, length)))


@register(
    "string.split",
    (1, 3),
    "Split on `delimiter` ('' splits characters); `limit` caps the parts.",
    note=_SPLIT,
)
def split(
    s: Any = UNDEFINED, delimiter: Any = UNDEFINED, limit: Any = UNDEFINED
) -> list[str]:
    text = _units("split", s)
    cap = None if limit is UNDEFINED else to_uint32(limit)
    if delimiter is UNDEFINED:
        parts = [text]
    elif to_string(delimiter) == "":
        budget.charge(len(text) * budget.PART)
        parts = list(text)  # code units: an emoji splits into its two halves
    else:
        needle = code_units(to_string(delimiter))
        # Counted at C speed first: each part costs a Python step to build.
        budget.charge((text.count(needle) + 1) * budget.PART)
        parts = text.split(needle)
    return [from_code_units(p) for p in (parts if cap is None else parts[:cap])]


@register(
    "string.charAt", (1, 2), "Character at `index` (default 0), or ''.", note=_RECEIVER
)
def char_at(s: Any = UNDEFINED, index: Any = UNDEFINED) -> str:
    text = _units("charAt", s)
    i = to_integer(index) if index is not UNDEFINED else 0
    return from_code_units(text[int(i)]) if 0 <= i < len(text) else ""


@register(
    "string.concat",
    (0, None),
    "All arguments as strings, joined; null and undefined become ''.",
)
def concat(*parts: Any) -> str:
    texts = ["" if is_nullish(p) else to_string(p) for p in parts]
    # Refused before it is built: a @reduce doubling a string spent most of
    # its time building the one result over the budget.
    budget.current().check_result(sum(map(len, texts)), "string.concat")
    return "".join(texts)


@register(
    "string.includes",
    (2, 3),
    "Whether `search` occurs at or after `position`.",
    note=_RECEIVER,
)
def includes(
    s: Any = UNDEFINED, search: Any = UNDEFINED, position: Any = UNDEFINED
) -> bool:
    text = _units("includes", s)
    return code_units(to_string(search)) in text[_position(position, len(text), 0) :]


@register(
    "string.indexOf",
    (2, 3),
    "First index of `search` at or after `from`, or -1.",
    note=_RECEIVER,
)
def index_of(
    s: Any = UNDEFINED, search: Any = UNDEFINED, start: Any = UNDEFINED
) -> int:
    text = _units("indexOf", s)
    return text.find(code_units(to_string(search)), _position(start, len(text), 0))


@register(
    "string.lastIndexOf",
    (2, 3),
    "Last index of `search` at or before `from`, or -1.",
    note=_RECEIVER,
)
def last_index_of(
    s: Any = UNDEFINED, search: Any = UNDEFINED, start: Any = UNDEFINED
) -> int:
    text = _units("lastIndexOf", s)
    needle = code_units(to_string(search))
    number = to_number(start) if start is not UNDEFINED else math.nan
    end = (
        len(text)
        if isinstance(number, float) and math.isnan(number)
        else _position(start, len(text), len(text))
    )
    return text.rfind(needle, 0, end + len(needle))


@register(
    "string.slice",
    (1, 3),
    "Characters from `start` to `end`; negatives count from the end.",
    note=_RECEIVER,
)
def slice_(s: Any = UNDEFINED, start: Any = UNDEFINED, end: Any = UNDEFINED) -> str:
    text = _units("slice", s)
    return from_code_units(
        text[
            relative_index(start, len(text), 0) : relative_index(
                end, len(text), len(text)
            )
        ]
    )


@register(
    "string.substring",
    (2, 3),
    "Characters between two indexes (negatives are 0; swapped when reversed).",
    note=_RECEIVER,
)
def substring(s: Any = UNDEFINED, start: Any = UNDEFINED, end: Any = UNDEFINED) -> str:
    text = _units("substring", s)
    lo = _position(start, len(text), 0)
    hi = _position(end, len(text), len(text))
    return from_code_units(text[min(lo, hi) : max(lo, hi)])


@register("string.toLowerCase", (1, 1), "Lower-case copy.", note=_RECEIVER)
def to_lower_case(s: Any = UNDEFINED) -> str:
    return _receiver("toLowerCase", s).lower()


@register(
    "string.toUpperCase", (1, 1), "Upper-case copy ('ß' becomes 'SS').", note=_RECEIVER
)
def to_upper_case(s: Any = UNDEFINED) -> str:
    return _receiver("toUpperCase", s).upper()


_JS_SPACE = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


@register(
    "string.trim",
    (1, 1),
    "Copy without leading and trailing whitespace.",
    note=_RECEIVER,
)
def trim(s: Any = UNDEFINED) -> str:
    return _receiver("trim", s).strip(_JS_SPACE)


@register(
    "string.trimStart", (1, 1), "Copy without leading whitespace.", note=_RECEIVER
)
def trim_start(s: Any = UNDEFINED) -> str:
    return _receiver("trimStart", s).lstrip(_JS_SPACE)


@register("string.trimEnd", (1, 1), "Copy without trailing whitespace.", note=_RECEIVER)
def trim_end(s: Any = UNDEFINED) -> str:
    return _receiver("trimEnd", s).rstrip(_JS_SPACE)


def _pad(name: str, s: Any, max_length: Any, pad: Any) -> tuple[str, str]:
    text = _units(name, s)
    filler = " " if pad is UNDEFINED else code_units(to_string(pad))
    width = to_integer(max_length)
    missing = width - len(text)
    if missing <= 0 or not filler:
        return text, ""
    if missing > budget.LIMITS.max_result:
        raise errors.EvaluationError(
            f"@string.{name}: invalid string length {to_string(max_length)}"
        )
    missing = int(missing)
    return text, (filler * (missing // len(filler) + 1))[:missing]


@register(
    "string.padStart",
    (2, 3),
    "Pad on the left with `padString` (default ' ') to `maxLength`.",
    note=_RECEIVER,
)
def pad_start(
    s: Any = UNDEFINED, max_length: Any = UNDEFINED, pad: Any = UNDEFINED
) -> str:
    text, fill = _pad("padStart", s, max_length, pad)
    return from_code_units(fill + text)


@register(
    "string.padEnd",
    (2, 3),
    "Pad on the right with `padString` (default ' ') to `maxLength`.",
    note=_RECEIVER,
)
def pad_end(
    s: Any = UNDEFINED, max_length: Any = UNDEFINED, pad: Any = UNDEFINED
) -> str:
    text, fill = _pad("padEnd", s, max_length, pad)
    return from_code_units(text + fill)


@register(
    "string.replace",
    (3, 3),
    "Replace the first occurrence of `search` with `replacement`; "
    "`$$`, `$&`, `` $` `` and `$'` expand as in JavaScript.",
    note=_RECEIVER,
)
def replace(
    s: Any = UNDEFINED, search: Any = UNDEFINED, replacement: Any = UNDEFINED
) -> str:
    text = _receiver("replace", s)
    needle = to_string(search)
    at = text.find(needle)
    if at < 0:
        return text
    end = at + len(needle)
    expansions = {"$": "$", "&": needle, "`": text[:at], "'": text[end:]}
    # A string search has no capture groups, so `$1` etc. stay literal.
    inserted = re.sub(
        r"\$([$&`'])", lambda m: expansions[m.group(1)], to_string(replacement)
    )
    return text[:at] + inserted + text[end:]


@register(
    "string.search",
    (2, 2),
    "Index of the first match of the regular expression `pattern`, or -1.",
    note=f"{_RECEIVER} "
    "Patterns run on RE2, in time linear in the text: JavaScript's "
    "backreferences and lookaround are errors, and `\\s` is ASCII whitespace "
    "(see the regular expressions section).",
)
def search(s: Any = UNDEFINED, pattern: Any = UNDEFINED) -> int:
    text = _receiver("search", s)
    if pattern is UNDEFINED:
        return 0
    at = regex.search(to_string(pattern), text, "string.search")
    return -1 if at is None else len(code_units(text[:at]))


@register(
    "string.startsWith",
    (2, 3),
    "Whether the string starts with `search` at `position`.",
    note=_RECEIVER,
)
def starts_with(
    s: Any = UNDEFINED, search: Any = UNDEFINED, position: Any = UNDEFINED
) -> bool:
    text = _units("startsWith", s)
    needle = code_units(to_string(search))
    return text.startswith(needle, _position(position, len(text), 0))


@register(
    "string.endsWith",
    (2, 3),
    "Whether the first `length` characters end with `search`.",
    note=_RECEIVER,
)
def ends_with(
    s: Any = UNDEFINED, search: Any = UNDEFINED, length: Any = UNDEFINED
) -> bool:
    text = _units("endsWith", s)
    needle = code_units(to_string(search))
    return text[: _position(length, len(text), len(text))].endswith(needle)


@register(
    "string.repeat",
    (2, 2),
    "The string repeated `count` times; a negative or infinite count is an error.",
    note=_RECEIVER,
)
def repeat(s: Any = UNDEFINED, count: Any = UNDEFINED) -> str:
    text = _receiver("repeat", s)
    n = to_integer(count)
    if n < 0 or not math.isfinite(n):
        raise errors.EvaluationError(
            f"@string.repeat: invalid count {to_string(count)}"
        )
    if not text:
        return ""
    limit = budget.LIMITS.max_result
    if len(text) * n > limit:
        # Refused before it is built (JS allows ~1 GB): the evaluation budget.
        raise errors.EvaluationError(
            f"@string.repeat: result longer than the evaluation budget of {limit:,} "
            "characters"
        )
    return text * int(n)
