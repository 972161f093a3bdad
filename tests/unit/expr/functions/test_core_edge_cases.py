"""Edge cases of the core namespaces where a naive Python port departs from JavaScript."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hotmesh.expr import UNDEFINED
from tests.unit.expr.functions._call import call, same

U = UNDEFINED
NAN = math.nan
INF = math.inf

EDGE_CASES: list[tuple[str, tuple[Any, ...], Any]] = [
    # ** follows JS, not Python: 1 ** Infinity is NaN, odd powers keep the sign.
    ("math.pow", (1, INF), NAN),
    ("math.pow", (-1, -INF), NAN),
    ("math.pow", (-10, 1001), -INF),
    ("math.pow", (-10, 1000), INF),
    ("math.pow", (10, 10**400), INF),  # must not hang computing an exact int
    ("math.pow", (-0.0, -1), -INF),
    ("math.pow", (0, -2), INF),
    ("math.pow", (-8, 1 / 3), NAN),
    ("math.pow", (2, 60), float(2**60)),
    ("number.pow", (NAN, 0), 1),
    # sequential double addition, NaN/Infinity never raise
    ("math.add", (0.1, 0.2), 0.30000000000000004),
    ("math.add", (INF, -INF), NAN),
    ("math.add", (1e308, 1e308), INF),
    ("math.add", (2**53, 1), float(2**53)),
    ("math.multiply", (10**400, 1), INF),
    ("math.multiply", (2**40, 2**40), float(2**80)),
    ("math.round", (0.49999999999999994,), 0),
    ("unary.negative", (-(2**60),), float(2**60)),
    ("bitwise.or", (2**60 + 3, 0), 0),
    # parseInt takes ToInt32 of the radix
    ("number.parseInt", ("10", 2**32 + 16), 16),
    ("number.parseInt", ("10", NAN), 10),
    ("number.parseFloat", ("١٢",), NAN),  # Arabic-Indic digits are not JS digits
    ("number.parseInt", ("١٢",), NAN),
    ("unary.positive", ("0x1_F",), NAN),
    # array.get is value[index]: non-index keys are undefined, strings/objects index too
    ("array.get", ([1, 2], 1.5), U),
    ("array.get", ([1, 2], "x"), U),
    ("array.get", ([1, 2], "01"), U),
    ("array.get", ([1, 2], "1"), 2),
    ("array.get", ([1, 2], -1), U),
    ("array.get", ("héllo", 1), "é"),
    ("array.get", ({"1": "a"}, 1), "a"),
    ("array.get", ([1, 2], None), 1),
    # JSON numbers are doubles
    ("json.parse", ("1.0",), 1),
    ("json.parse", ("-0",), 0),
    ("json.parse", ("12345678901234567890",), 12345678901234567000.0),
    ("json.parse", ("1e400",), INF),
    ("json.stringify", ("\ud800",), '"\\ud800"'),
    ("json.stringify", ({"k": "\u2028é"},), '{"k":"\u2028é"}'),
    ("json.stringify", (2**60,), "1152921504606847000"),
]


@pytest.mark.parametrize(("name", "args", "expected"), EDGE_CASES)
def test_edge_case(name: str, args: tuple[Any, ...], expected: Any) -> None:
    result = call(name, *args)
    assert same(result, expected), (
        f"@{name}{args!r} = {result!r}, expected {expected!r}"
    )


@pytest.mark.parametrize(
    ("data", "order", "expected"),
    [
        (["b", "B", "a", "ä", "z"], "ASCENDING", ["a", "ä", "b", "B", "z"]),
        (["b", "B", "a", "ä", "z"], "DESCENDING", ["z", "B", "b", "ä", "a"]),
        ([10, 9, 1, None], "ASCENDING", [None, 1, 9, 10]),
        ([10, None, 9, U], "DESCENDING", [10, 9, None, U]),
    ],
)
def test_sort_orders_like_locale_compare(
    data: list[Any], order: str, expected: list[Any]
) -> None:
    assert call("array.sort", data, order) == expected


def test_sort_of_mixed_types_does_not_raise() -> None:
    data = [3, None, "b", True, [1], {}, 2.5, NAN, U, "A"]
    result = call("array.sort", data)
    assert result is data and len(result) == 10
    assert result[:2] == [None, U] or result[:2] == [U, None]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (U, [None, 1, 2, 3]),  # omitted: the default 'ASCENDING'
        ("ASCENDING", [None, 1, 2, 3]),
        # Upstream sorts descending for any order other than exactly 'ASCENDING'.
        ("DESCENDING", [3, 2, 1, None]),
        ("desc", [3, 2, 1, None]),
        ("descending", [3, 2, 1, None]),
        ("ascending", [3, 2, 1, None]),
        ("asc", [3, 2, 1, None]),
        ("", [3, 2, 1, None]),
        (None, [3, 2, 1, None]),
        (1, [3, 2, 1, None]),
    ],
)
def test_sort_order_argument_as_upstream(order: Any, expected: list[Any]) -> None:
    assert call("array.sort", [2, None, 3, 1], order) == expected
