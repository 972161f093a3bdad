"""@math: JavaScript's Math object plus add/subtract/multiply/divide folds."""

from __future__ import annotations

import math
import random as _random
import struct
from collections.abc import Callable
from typing import Any

from hotmesh import errors
from hotmesh.expr.functions.registry import register
from hotmesh.expr.js import UNDEFINED, js_round, to_int32, to_number, to_uint32

Number = int | float


def narrow(value: float | int) -> Number:
    """Integral results within 2**53 are ints (JSON shows ``15``, not ``15.0``).

    Larger ints become floats: JavaScript numbers are doubles.
    """
    if isinstance(value, int):
        return value if abs(value) < 2**53 else to_number(value)
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _safe(fn: Callable[[float], float], x: Any) -> Number:
    number = to_number(x)
    try:
        return narrow(fn(float(number)))
    except ValueError:  # outside the domain (poles are handled by each function)
        return math.nan
    except OverflowError:  # only positive overflows reach here; sinh keeps its sign
        return math.inf


def _unary(name: str, fn: Callable[[float], float], doc: str) -> None:
    register(f"math.{name}", (1, 1), doc)(lambda x=UNDEFINED: _safe(fn, x))


def _sign(x: float) -> float:
    if math.isnan(x) or x == 0:
        return x
    return 1.0 if x > 0 else -1.0


def _fround(x: float) -> float:
    try:
        return float(struct.unpack("f", struct.pack("f", x))[0])
    except OverflowError:
        return math.copysign(math.inf, x)


def _trunc(x: float) -> float:
    return x if not math.isfinite(x) else float(math.trunc(x))


def _ceil(x: float) -> float:
    return x if not math.isfinite(x) else float(math.ceil(x))


def _floor(x: float) -> float:
    return x if not math.isfinite(x) else float(math.floor(x))


def _cbrt(x: float) -> float:
    return math.copysign(abs(x) ** (1 / 3), x) if math.isfinite(x) else x


def _atanh(x: float) -> float:
    # The poles are infinities in JavaScript; Python raises a domain error.
    if abs(x) == 1:
        return math.copysign(math.inf, x)
    return math.atanh(x)


def _log1p(x: float) -> float:
    return -math.inf if x == -1 else math.log1p(x)


def _sinh(x: float) -> float:
    try:
        return math.sinh(x)
    except OverflowError:  # the overflow keeps the sign of x, as in JavaScript
        return math.copysign(math.inf, x)


def _log(fn: Callable[[float], float]) -> Callable[[float], float]:
    def log(x: float) -> float:
        if x == 0:
            return -math.inf
        return fn(x) if x == x and x != math.inf else (x if x == math.inf else math.nan)

    return log


_UNARY: dict[str, tuple[Callable[[float], float], str]] = {
    "abs": (abs, "Absolute value."),
    "acos": (math.acos, "Arc cosine (radians)."),
    "acosh": (math.acosh, "Hyperbolic arc cosine."),
    "asin": (math.asin, "Arc sine (radians)."),
    "asinh": (math.asinh, "Hyperbolic arc sine."),
    "atan": (math.atan, "Arc tangent (radians)."),
    "atanh": (_atanh, "Hyperbolic arc tangent (±Infinity at ±1)."),
    "cbrt": (_cbrt, "Cube root."),
    "ceil": (_ceil, "Smallest integer ≥ x."),
    "cos": (math.cos, "Cosine."),
    "cosh": (math.cosh, "Hyperbolic cosine."),
    "exp": (math.exp, "e to the power x."),
    "expm1": (math.expm1, "e^x − 1."),
    "floor": (_floor, "Largest integer ≤ x."),
    "fround": (_fround, "Nearest 32-bit float."),
    "log": (_log(math.log), "Natural logarithm."),
    "log10": (_log(math.log10), "Base-10 logarithm."),
    "log1p": (_log1p, "ln(1 + x) (-Infinity at -1)."),
    "log2": (_log(math.log2), "Base-2 logarithm."),
    "sign": (_sign, "-1, 0 or 1 by the sign of x (NaN stays NaN)."),
    "sin": (math.sin, "Sine."),
    "sinh": (_sinh, "Hyperbolic sine (overflow keeps the sign: ±Infinity)."),
    "sqrt": (math.sqrt, "Square root (NaN for negatives)."),
    "tan": (math.tan, "Tangent."),
    "tanh": (math.tanh, "Hyperbolic tangent."),
    "trunc": (_trunc, "Integer part of x."),
}
for _name, (_fn, _doc) in _UNARY.items():
    _unary(_name, _fn, _doc)


@register(
    "math.round",
    (1, 1),
    "Round to the nearest integer; halves round up (`round(-2.5) == -2`).",
)
def round_(x: Any = UNDEFINED) -> Number:
    return js_round(x)


@register("math.clz32", (1, 1), "Leading zero bits of the 32-bit unsigned integer.")
def clz32(x: Any = UNDEFINED) -> int:
    return 32 - to_uint32(x).bit_length()


@register("math.imul", (2, 2), "32-bit integer multiplication.")
def imul(x: Any = UNDEFINED, y: Any = UNDEFINED) -> int:
    return to_int32(to_int32(x) * to_int32(y))


@register(
    "math.atan2",
    (2, 2),
    "Angle of the point (x, y) from the x axis, for arguments (y, x).",
)
def atan2(y: Any = UNDEFINED, x: Any = UNDEFINED) -> Number:
    return narrow(math.atan2(float(to_number(y)), float(to_number(x))))


@register("math.hypot", (0, None), "Square root of the sum of squares.")
def hypot(*values: Any) -> Number:
    numbers = [float(to_number(v)) for v in values]
    if any(math.isinf(n) for n in numbers):
        return math.inf
    return narrow(math.hypot(*numbers))


@register(
    "math.max", (0, None), "Largest argument (-Infinity with none; NaN if any is NaN)."
)
def max_(*values: Any) -> Number:
    numbers = [to_number(v) for v in values]
    if any(isinstance(n, float) and math.isnan(n) for n in numbers):
        return math.nan
    return max(numbers, default=-math.inf)


@register(
    "math.min", (0, None), "Smallest argument (Infinity with none; NaN if any is NaN)."
)
def min_(*values: Any) -> Number:
    numbers = [to_number(v) for v in values]
    if any(isinstance(n, float) and math.isnan(n) for n in numbers):
        return math.nan
    return min(numbers, default=math.inf)


def _odd_integer(x: float) -> bool:
    return x.is_integer() and x % 2 == 1


def power(base: Any, exponent: Any) -> Number:
    """JavaScript ``base ** exponent`` (``1 ** Infinity`` is NaN, overflow is ±Infinity)."""
    b, e = to_number(base), to_number(exponent)
    if math.isnan(e):
        return math.nan
    if e == 0:
        return 1
    if math.isnan(b) or (abs(b) == 1 and math.isinf(e)):
        return math.nan
    # Exact int power only when the result stays small; a huge exponent would hang.
    if isinstance(b, int) and isinstance(e, int) and 0 < e * b.bit_length() <= 1100:
        return narrow(b**e)
    fb, fe = float(b), float(e)
    if fb == 0 and fe < 0:
        return math.copysign(math.inf, fb) if _odd_integer(fe) else math.inf
    try:
        return narrow(math.pow(fb, fe))
    except ValueError:  # negative base, fractional exponent
        return math.nan
    except OverflowError:
        return -math.inf if fb < 0 and _odd_integer(fe) else math.inf


@register("math.pow", (2, 2), "`x` to the power `y`.")
def pow_(x: Any = UNDEFINED, y: Any = UNDEFINED) -> Number:
    return power(x, y)


@register("math.random", (0, 0), "A pseudo-random number in [0, 1).", pure=False)
def random() -> float:
    return _random.random()


def _flatten(values: tuple[Any, ...]) -> list[Number]:
    out: list[Number] = []
    for value in values:
        if isinstance(value, list):
            out.extend(_flatten(tuple(value)))
        else:
            out.append(to_number(value))
    return out


_ARRAYS = "Array operands are flattened (upstream's array branch is broken; this is its intent)."


@register(
    "math.add",
    (0, None),
    "Sum of the operands (arrays summed recursively).",
    note=_ARRAYS,
)
def add(*operands: Any) -> Number:
    # Sequential addition, not fsum: JS gives 0.1 + 0.2 == 0.30000000000000004.
    total: Number = 0
    for n in _flatten(operands):
        total = narrow(total + n)
    return total


@register("math.subtract", (1, None), "Left fold `x0 − x1 − …` (arrays flattened).")
def subtract(*operands: Any) -> Number:
    numbers = _flatten(operands)
    if not numbers:
        raise errors.EvaluationError("@math.subtract needs at least one operand")
    result: Number = numbers[0]
    for n in numbers[1:]:
        result = result - n
    return narrow(result)


@register(
    "math.multiply",
    (0, None),
    "Product of the operands (arrays multiplied recursively).",
    note=_ARRAYS,
)
def multiply(*operands: Any) -> Number:
    result: Number = 1
    for n in _flatten(operands):
        result = narrow(result * n)  # ints stay below 2**53, so no OverflowError
    return result


@register(
    "math.divide",
    (1, None),
    "Left fold `x0 / x1 / …` (arrays flattened); any zero divisor gives NaN.",
)
def divide(*operands: Any) -> Number:
    numbers = _flatten(operands)
    if not numbers:
        return math.nan
    result: Number = numbers[0]
    for n in numbers[1:]:
        if n == 0:
            return math.nan
        result = result / n
    return narrow(result)
