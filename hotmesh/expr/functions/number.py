"""@number: Number predicates, parsing and formatting, and comparisons."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hotmesh import errors
from hotmesh.expr import js
from hotmesh.expr.functions import math as jsmath
from hotmesh.expr.functions.registry import register
from hotmesh.expr.js import UNDEFINED, is_number, to_integer, to_number, to_string

_FLOAT_PREFIX = re.compile(
    r"[+-]?(?:Infinity|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)",
    re.ASCII,  # JS accepts ASCII digits only
)
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


@register(
    "number.isFinite",
    (1, 1),
    "True for finite numbers only (no coercion: strings are false).",
)
def is_finite(x: Any = UNDEFINED) -> bool:
    return is_number(x) and math.isfinite(x)


@register("number.isInteger", (1, 1), "True for integral numbers only (no coercion).")
def is_integer(x: Any = UNDEFINED) -> bool:
    return is_number(x) and math.isfinite(x) and float(x).is_integer()


@register("number.isNaN", (1, 1), "True only for the number NaN (no coercion).")
def is_nan(x: Any = UNDEFINED) -> bool:
    return _is_nan(x)


@register("number.isEven", (1, 1), "True when the value coerces to an even number.")
def is_even(x: Any = UNDEFINED) -> bool:
    n = to_number(x)
    return not _is_nan(n) and math.isfinite(n) and n % 2 == 0


@register(
    "number.isOdd", (1, 1), "True when the value coerces to a number that is not even."
)
def is_odd(x: Any = UNDEFINED) -> bool:
    n = to_number(x)
    return not _is_nan(n) and (not math.isfinite(n) or n % 2 != 0)


@register(
    "number.parseFloat",
    (1, 1),
    "Leading decimal number of the string (`'3.14abc'` → 3.14), else NaN.",
)
def parse_float(s: Any = UNDEFINED) -> Any:
    match = _FLOAT_PREFIX.match(to_string(s).lstrip())
    if not match:
        return math.nan
    return jsmath.narrow(float(match.group().replace("Infinity", "inf")))


@register(
    "number.parseInt",
    (1, 2),
    "Leading integer in base `radix` (`'12px'` → 12, `'0x1F'` → 31), else NaN.",
)
def parse_int(s: Any = UNDEFINED, radix: Any = UNDEFINED) -> Any:
    text = to_string(s).lstrip()
    sign = -1 if text.startswith("-") else 1
    if text[:1] in "+-" and text:
        text = text[1:]
    base = js.to_int32(radix)  # undefined/NaN → 0, as JS's ToInt32
    if base == 0:
        base = 10
        if text[:2].lower() == "0x":
            base, text = 16, text[2:]
    elif base == 16 and text[:2].lower() == "0x":
        text = text[2:]
    if not 2 <= base <= 36:
        return math.nan
    valid = _DIGITS[:base]
    end = 0
    while end < len(text) and text[end].lower() in valid:
        end += 1
    if end == 0:
        return math.nan
    return jsmath.narrow(sign * int(text[:end], base))


def _finite_or_string(x: Any) -> float | str:
    n = to_number(x)
    if not math.isfinite(n):
        return js.number_to_string(n)
    return float(n)


def _digits(
    value: Any, low: int, high: int, name: str, default: int | None
) -> int | None:
    if value is UNDEFINED:
        return default
    n = to_integer(value)
    if not low <= n <= high:
        raise errors.EvaluationError(
            f"@number.{name}: digits argument must be between {low} and {high}"
        )
    return int(n)


#: Upstream calls the Number method on its first argument.
_RECEIVER = (
    "A value that is not a number is read as one (`'1.5'` as 1.5); upstream calls "
    "the method on the value itself, which throws for a string."
)


@register(
    "number.toFixed",
    (1, 2),
    "Fixed-point string with `digits` decimals (default 0), rounding like JavaScript.",
    note=_RECEIVER,
)
def to_fixed(x: Any = UNDEFINED, digits: Any = UNDEFINED) -> str:
    places = _digits(digits, 0, 100, "toFixed", 0)
    assert places is not None
    n = _finite_or_string(x)
    if isinstance(n, str):
        return n
    if abs(n) >= 1e21:
        return js.number_to_string(n)
    return ("-" if n < 0 else "") + _fixed(abs(n), places)


def _fixed(n: float, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    return str(Decimal(n).quantize(quantum, rounding=ROUND_HALF_UP))


def _exponent_parts(n: float, fraction_digits: int | None) -> tuple[str, int]:
    """Mantissa digits (with a point) and exponent of |n|, JS rounding."""
    if n == 0:
        return ("0." + "0" * fraction_digits if fraction_digits else "0"), 0
    if fraction_digits is None:
        text = js.number_to_string(n)
        digits = re.sub(r"e.*$", "", text).replace(".", "").lstrip("0")
        digits = digits.rstrip("0") or "0"
        exponent = Decimal(repr(n)).adjusted()
    else:
        exact = Decimal(n)
        exponent = exact.adjusted()
        scaled = exact.scaleb(-exponent).quantize(
            Decimal(1).scaleb(-fraction_digits), rounding=ROUND_HALF_UP
        )
        if scaled >= 10:
            exponent += 1
            scaled = exact.scaleb(-exponent).quantize(
                Decimal(1).scaleb(-fraction_digits), rounding=ROUND_HALF_UP
            )
        digits = str(scaled).replace(".", "")
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return mantissa, exponent


@register(
    "number.toExponential",
    (1, 2),
    "Exponential notation string (`'1.23e+5'`) with `digits` decimals.",
    note=_RECEIVER,
)
def to_exponential(x: Any = UNDEFINED, digits: Any = UNDEFINED) -> str:
    places = _digits(digits, 0, 100, "toExponential", None)
    n = _finite_or_string(x)
    if isinstance(n, str):
        return n
    mantissa, exponent = _exponent_parts(abs(n), places)
    sign = "-" if n < 0 else ""
    return f"{sign}{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"


@register(
    "number.toPrecision",
    (1, 2),
    "String with `precision` significant digits (fixed or exponential, as JS chooses).",
    note=_RECEIVER,
)
def to_precision(x: Any = UNDEFINED, precision: Any = UNDEFINED) -> str:
    if precision is UNDEFINED:
        return js.to_string(to_number(x))
    p = _digits(precision, 1, 100, "toPrecision", None)
    assert p is not None
    n = _finite_or_string(x)
    if isinstance(n, str):
        return n
    sign = "-" if n < 0 else ""
    if n == 0:
        return "0." + "0" * (p - 1) if p > 1 else "0"
    mantissa, exponent = _exponent_parts(abs(n), p - 1)
    if exponent < -6 or exponent >= p:
        return f"{sign}{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"
    return sign + _fixed(abs(n), p - 1 - exponent)


@register("number.gte", (2, 2), "`x >= y`.")
def gte(x: Any = UNDEFINED, y: Any = UNDEFINED) -> bool:
    return js.greater_equal(x, y)


@register("number.lte", (2, 2), "`x <= y`.")
def lte(x: Any = UNDEFINED, y: Any = UNDEFINED) -> bool:
    return js.less_equal(x, y)


@register("number.gt", (2, 2), "`x > y`.")
def gt(x: Any = UNDEFINED, y: Any = UNDEFINED) -> bool:
    return js.greater_than(x, y)


@register("number.lt", (2, 2), "`x < y`.")
def lt(x: Any = UNDEFINED, y: Any = UNDEFINED) -> bool:
    return js.less_than(x, y)


@register("number.max", (0, None), "Largest argument (as `Math.max`).")
def max_(*values: Any) -> Any:
    return jsmath.max_(*values)


@register("number.min", (0, None), "Smallest argument (as `Math.min`).")
def min_(*values: Any) -> Any:
    return jsmath.min_(*values)


@register("number.pow", (2, 2), "`base` to the power `exponent`.")
def pow_(base: Any = UNDEFINED, exponent: Any = UNDEFINED) -> Any:
    return jsmath.power(base, exponent)


@register("number.round", (1, 1), "Round to the nearest integer; halves round up.")
def round_(x: Any = UNDEFINED) -> Any:
    return js.js_round(x)
