"""JavaScript value semantics over JSON-shaped Python values.

Manifests written for upstream HotMesh rely on JavaScript coercion
(truthiness, ``==``, number formatting). These helpers reproduce it for the
Python values an expression can see: ``None`` (null), ``UNDEFINED``, bool,
int, float (including NaN and infinities), str, list and dict.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, Final

from hotmesh.expr import budget


class _Undefined:
    """JavaScript's ``undefined``: a missing value, distinct from ``None`` (null)."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()

_NUMERIC = re.compile(
    r"""^[+-]?(
        (\d+\.?\d*([eE][+-]?\d+)?)
      | (\.\d+([eE][+-]?\d+)?)
      | Infinity
    )$""",
    re.X | re.A,  # ASCII digits only, as in JS
)


def is_nullish(value: Any) -> bool:
    """True for null and undefined."""
    return value is None or value is UNDEFINED


def is_number(value: Any) -> bool:
    """True for JS numbers (bools are not numbers)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def typeof(value: Any) -> str:
    """JavaScript ``typeof``."""
    if value is UNDEFINED:
        return "undefined"
    if isinstance(value, bool):
        return "boolean"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if callable(value):
        return "function"
    return "object"


def truthy(value: Any) -> bool:
    """JavaScript truthiness: ``[]`` and ``{}`` are true, ``0``/``''``/NaN false."""
    if value is None or value is UNDEFINED:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        return value != ""
    return True


def to_number(value: Any) -> float | int:
    """JavaScript ``Number(value)``; returns an int when the result is integral."""
    if value is UNDEFINED:
        return math.nan
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        return value if abs(value) < 2**53 else _int_to_float(value)
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        lowered = text.lower()
        if lowered.startswith(("0x", "0o", "0b")) and len(text) > 2:
            base = {"x": 16, "o": 8, "b": 2}[lowered[1]]
            body = text[2:]
            # int() would also accept '_' separators and non-ASCII digits; JS does not.
            if not all(c in "0123456789abcdef"[:base] for c in body.lower()):
                return math.nan
            return _narrow(int(body, base))
        if not _NUMERIC.match(text):
            return math.nan
        number = float(text.replace("Infinity", "inf"))
        return _narrow(number)
    if isinstance(value, list):
        if not value:
            return 0
        if len(value) == 1:
            return to_number(to_string(value[0]))
        return math.nan
    return math.nan


def _narrow(number: float | int) -> float | int:
    if isinstance(number, int):
        return number if abs(number) < 2**53 else _int_to_float(number)
    if math.isfinite(number) and number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


def number_to_string(number: float | int) -> str:
    """Format a number as JavaScript does: ``1.0`` → ``"1"``, ``1e21`` → ``"1e+21"``."""
    if isinstance(number, bool):
        return "true" if number else "false"
    if isinstance(number, int):
        if abs(number) < 2**53:
            return str(number)
        number = _int_to_float(number)  # JS keeps only a double's digits
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "0"
    # repr() gives the shortest round-trip digits, as JS does; only the layout differs.
    exact = Decimal(repr(abs(number))).normalize()
    digits = "".join(map(str, exact.as_tuple().digits))
    point = exact.adjusted() + 1  # JS's n: digits before the decimal point
    sign = "-" if number < 0 else ""
    if len(digits) <= point <= 21:
        return sign + digits + "0" * (point - len(digits))
    if 0 < point <= 21:
        return f"{sign}{digits[:point]}.{digits[point:]}"
    if -6 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exponent = point - 1
    return f"{sign}{body}e{'+' if exponent > 0 else '-'}{abs(exponent)}"


def _int_to_float(number: int) -> float:
    try:
        return float(number)
    except OverflowError:  # beyond the largest double: JS would hold Infinity
        return math.inf if number > 0 else -math.inf


def to_string(value: Any) -> str:
    """JavaScript ``String(value)``."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_to_string(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join("" if is_nullish(v) else to_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def to_primitive(value: Any) -> Any:
    """JavaScript ToPrimitive for the values we model (lists/dicts → strings)."""
    if isinstance(value, list | dict):
        return to_string(value)
    return value


def strict_eq(a: Any, b: Any) -> bool:
    """JavaScript ``===`` (objects compare by identity, NaN is never equal)."""
    if is_number(a) and is_number(b):
        return bool(a == b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list | dict) or isinstance(b, list | dict):
        return a is b
    if type(a) is not type(b):
        return False
    return bool(a == b)


def loose_eq(a: Any, b: Any) -> bool:
    """JavaScript ``==`` with its coercions (``1 == '1'``, ``null == undefined``)."""
    if is_nullish(a) or is_nullish(b):
        return is_nullish(a) and is_nullish(b)
    if typeof(a) == typeof(b):
        return strict_eq(a, b)
    if isinstance(a, bool):
        return loose_eq(to_number(a), b)
    if isinstance(b, bool):
        return loose_eq(a, to_number(b))
    if is_number(a) and isinstance(b, str):
        return bool(a == to_number(b))
    if isinstance(a, str) and is_number(b):
        return bool(to_number(a) == b)
    if isinstance(a, list | dict) and not isinstance(b, list | dict):
        return loose_eq(to_primitive(a), b)
    if isinstance(b, list | dict) and not isinstance(a, list | dict):
        return loose_eq(a, to_primitive(b))
    return False


def compare(a: Any, b: Any) -> bool | None:
    """JavaScript abstract relational comparison ``a < b``; None means undefined (NaN)."""
    pa, pb = to_primitive(a), to_primitive(b)
    if isinstance(pa, str) and isinstance(pb, str):
        return _utf16(pa) < _utf16(pb)
    na, nb = to_number(pa), to_number(pb)
    if math.isnan(na) or math.isnan(nb):
        return None
    return bool(na < nb)


def _utf16(text: str) -> bytes:
    # JS compares strings by UTF-16 code units, not code points.
    return text.encode("utf-16-be")


def code_units(text: str) -> str:
    """``text`` with every character outside the BMP split into its UTF-16
    surrogate pair, so that Python's indexes and ``len`` count as JavaScript's."""
    if text.isascii() or not _ASTRAL.search(text):
        return text
    # A Python step per astral character: charged so a long text cannot hold the loop.
    astral = len(text.encode("utf-16-le", "surrogatepass")) // 2 - len(text)
    budget.charge(astral * budget.ASTRAL)
    return _ASTRAL.sub(lambda m: _pair(m.group()), text)


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _pair(char: str) -> str:
    offset = ord(char) - 0x10000
    return chr(0xD800 + (offset >> 10)) + chr(0xDC00 + (offset & 0x3FF))


def from_code_units(units: str) -> str:
    """Inverse of ``code_units``: join surrogate pairs back into characters.

    A lone surrogate (a pair cut in two, as JavaScript's ``slice`` may leave)
    stays a lone surrogate, as in JavaScript.
    """
    if units.isascii() or not _SURROGATE.search(units):
        return units
    return units.encode("utf-16-le", "surrogatepass").decode(
        "utf-16-le", "surrogatepass"
    )


_SURROGATE = re.compile("[\ud800-\udfff]")


def length(text: str) -> int:
    """JavaScript ``text.length``: UTF-16 code units (an emoji counts two)."""
    return len(code_units(text))


def less_than(a: Any, b: Any) -> bool:
    """``a < b``."""
    return compare(a, b) is True


def greater_than(a: Any, b: Any) -> bool:
    """``a > b``."""
    return compare(b, a) is True


def less_equal(a: Any, b: Any) -> bool:
    """``a <= b`` (false when either side is NaN)."""
    result = compare(b, a)
    return result is False


def greater_equal(a: Any, b: Any) -> bool:
    """``a >= b`` (false when either side is NaN)."""
    result = compare(a, b)
    return result is False


def to_int32(value: Any) -> int:
    """JavaScript ToInt32, used by bitwise operators."""
    number = to_number(value)
    if isinstance(number, float) and (math.isnan(number) or math.isinf(number)):
        return 0
    n = int(number) & 0xFFFFFFFF
    return n - 0x100000000 if n >= 0x80000000 else n


def to_uint32(value: Any) -> int:
    """JavaScript ToUint32."""
    return to_int32(value) & 0xFFFFFFFF


def to_integer(value: Any) -> int | float:
    """JavaScript ToIntegerOrInfinity (NaN → 0)."""
    number = to_number(value)
    if isinstance(number, float):
        if math.isnan(number):
            return 0
        if math.isinf(number):
            return number
        return int(number)
    return number


def js_round(value: Any) -> float | int:
    """``Math.round``: halves round toward +∞ (``round(-2.5) == -2``)."""
    number = to_number(value)
    if isinstance(number, int) or not math.isfinite(number):
        return number
    # floor(x + 0.5) would round 0.49999999999999994 up; compare the fraction instead.
    whole = math.floor(number)
    return _narrow(whole + 1 if number - whole >= 0.5 else whole)


def relative_index(value: Any, length: int, default: int) -> int:
    """JS relative index: negatives count from the end; clamped to [0, length]."""
    if value is UNDEFINED:
        return default
    n = to_integer(value)
    if n < 0:
        return int(max(length + n, 0))
    return int(min(n, length))
