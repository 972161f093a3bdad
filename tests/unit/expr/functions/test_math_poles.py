"""JavaScript Math at its poles and on overflow: a pole is a signed Infinity,
an overflow keeps the sign of the true result, and only arguments outside a
function's domain give NaN. Expected values are what Node prints.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.unit.expr.functions._call import call, same

INF = math.inf
NAN = math.nan
BIG = 1000  # e**1000 overflows a double

POLES: list[tuple[str, tuple[Any, ...], Any]] = [
    # poles: the function tends to an infinity there
    ("math.atanh", (1,), INF),
    ("math.atanh", (-1,), -INF),
    ("math.atanh", ("1",), INF),
    ("math.log1p", (-1,), -INF),
    ("math.log", (0,), -INF),
    ("math.log", (-0.0,), -INF),
    ("math.log2", (0,), -INF),
    ("math.log10", (0,), -INF),
    ("math.log10", (None,), -INF),  # null is 0
    ("math.pow", (0, -1), INF),
    ("math.pow", (-0.0, -1), -INF),
    ("math.pow", (-0.0, -2), INF),
    ("math.pow", (0, -0.5), INF),
    # overflow keeps the sign
    ("math.sinh", (BIG,), INF),
    ("math.sinh", (-BIG,), -INF),
    ("math.sinh", ("-1000",), -INF),
    ("math.cosh", (BIG,), INF),
    ("math.cosh", (-BIG,), INF),
    ("math.exp", (BIG,), INF),
    ("math.exp", (-BIG,), 0),
    ("math.expm1", (BIG,), INF),
    ("math.expm1", (-BIG,), -1),
    ("math.pow", (-10, 309), -INF),
    ("math.pow", (-10, 310), INF),
    ("math.pow", (10, 309), INF),
    ("math.pow", (-1e200, 3), -INF),
    ("number.pow", (-10, 309), -INF),
    ("math.multiply", (-1e200, 1e200), -INF),
    ("math.add", (-1.7e308, -1.7e308), -INF),
    ("math.subtract", (-1.7e308, 1.7e308), -INF),
    ("math.fround", (-1e39,), -INF),
    ("math.hypot", (1e308, 1e308), 1.4142135623730951e308),
    ("math.hypot", (-INF, NAN), INF),
    # just inside the poles: finite
    ("math.atanh", (0.5,), 0.5493061443340548),
    ("math.log1p", (-0.5,), -0.6931471805599453),
    # outside the domain: NaN
    ("math.atanh", (1.5,), NAN),
    ("math.atanh", (-2,), NAN),
    ("math.log1p", (-1.5,), NAN),
    ("math.log", (-1,), NAN),
    ("math.log2", (-INF,), NAN),
    ("math.sqrt", (-1,), NAN),
    ("math.acosh", (0.5,), NAN),
    ("math.asin", (2,), NAN),
    ("math.acos", (-2,), NAN),
    ("math.pow", (-8, 1 / 3), NAN),
    ("math.pow", (1, INF), NAN),
    # infinities in, as JavaScript gives
    ("math.atanh", (INF,), NAN),
    ("math.log1p", (INF,), INF),
    ("math.sinh", (-INF,), -INF),
    ("math.cosh", (-INF,), INF),
    ("math.exp", (-INF,), 0),
    ("math.tanh", (-INF,), -1),
    ("math.asinh", (-INF,), -INF),
    ("math.acosh", (INF,), INF),
    ("math.cbrt", (-INF,), -INF),
    ("math.sin", (INF,), NAN),
]


@pytest.mark.parametrize(("name", "args", "expected"), POLES)
def test_pole_or_overflow(name: str, args: tuple[Any, ...], expected: Any) -> None:
    result = call(name, *args)
    assert same(result, expected), f"@{name}{args!r} = {result!r}, want {expected!r}"


def test_overflow_sign_follows_the_argument_across_the_range() -> None:
    near = call("math.sinh", -710)  # the last whole number before the overflow
    assert math.isfinite(near) and near < -1e307
    for x in (711, 800, 1e5, 1e308):
        assert call("math.sinh", x) == INF
        assert call("math.sinh", -x) == -INF
        assert call("math.cosh", -x) == INF
