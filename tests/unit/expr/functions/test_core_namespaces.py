"""@array, @bitwise, @conditional, @logical, @math, @number, @unary, @symbol, @json.

Each case is (function, arguments, expected); NaN equals NaN and int/float/bool
must match exactly (JSON output depends on it).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from hotmesh import errors
from hotmesh.expr import UNDEFINED
from hotmesh.expr.functions import registry
from tests.unit.expr.functions._call import call, same

NAN = math.nan
INF = math.inf
U = UNDEFINED

CASES: list[tuple[str, tuple[Any, ...], Any]] = [
    # @array
    ("array.get", (["a", "b"], 1), "b"),
    ("array.get", (["a", "b"],), "a"),
    ("array.get", (["a"], 5), U),
    ("array.get", (None, 0), U),
    ("array.length", ([1, 2, 3],), 3),
    ("array.length", ([],), 0),
    ("array.length", (None,), U),
    ("array.concat", ([1], [2, 3], 4), [1, 2, 3, 4]),
    ("array.concat", ([], []), []),
    ("array.indexOf", ([1, "1", 1], "1"), 1),
    ("array.indexOf", ([1, 2, 1], 1, 1), 2),
    ("array.indexOf", ([NAN], NAN), -1),
    ("array.lastIndexOf", ([1, 2, 1], 1), 2),
    ("array.lastIndexOf", ([1, 2, 1], 1, -2), 0),
    ("array.lastIndexOf", ([], 1), -1),
    ("array.join", (["a", None, 1, U],), "a,,1,"),
    ("array.join", (["x", "y"], " – "), "x – y"),
    ("array.join", ([],), ""),
    ("array.pop", ([1, 2],), 2),
    ("array.pop", ([],), U),
    ("array.push", ([1], 2, 3), [1, 2, 3]),
    ("array.push", ([],), []),
    ("array.reverse", ([1, 2, 3],), [3, 2, 1]),
    ("array.reverse", ([],), []),
    ("array.shift", ([1, 2],), 1),
    ("array.shift", ([],), U),
    ("array.slice", ([1, 2, 3, 4], 1, -1), [2, 3]),
    ("array.slice", ([1, 2, 3], -2), [2, 3]),
    ("array.slice", ([1, 2, 3],), [1, 2, 3]),
    ("array.sort", ([3, None, 1, 2],), [None, 1, 2, 3]),
    ("array.sort", ([3, None, 1, 2], "DESCENDING"), [3, 2, 1, None]),
    ("array.sort", (["b", "a", "C"],), ["a", "b", "C"]),
    ("array.splice", ([1, 2, 3, 4], 1, 2, "x"), [2, 3]),
    ("array.splice", ([1, 2, 3], -1), [3]),
    ("array.unshift", ([2], 0, 1), 3),
    ("array.unshift", ([],), 0),
    # @bitwise
    ("bitwise.and", (5, 3), 1),
    ("bitwise.and", ("12", 10), 8),
    ("bitwise.or", (5, 3), 7),
    ("bitwise.or", (2**32 + 1, 0), 1),
    ("bitwise.xor", (5, 3), 6),
    ("bitwise.xor", (NAN, 1), 1),
    ("bitwise.leftShift", (1, 31), -2147483648),
    ("bitwise.leftShift", (1, 33), 2),
    ("bitwise.rightShift", (-8, 1), -4),
    ("bitwise.rightShift", (8, 2), 2),
    ("bitwise.unsignedRightShift", (-1, 0), 4294967295),
    ("bitwise.unsignedRightShift", (-8, 28), 15),
    # @conditional
    ("conditional.ternary", ([], "yes", "no"), "yes"),
    ("conditional.ternary", ("", "yes", "no"), "no"),
    ("conditional.ternary", (NAN, "yes", "no"), "no"),
    ("conditional.equality", (1, "1"), True),
    ("conditional.equality", (None, U), True),
    ("conditional.equality", (0, None), False),
    ("conditional.equality", (True, 1), True),
    ("conditional.equality", ([], ""), True),
    ("conditional.inequality", (NAN, NAN), True),
    ("conditional.inequality", ("a", "a"), False),
    ("conditional.strict_equality", (1, "1"), False),
    ("conditional.strict_equality", (1, 1.0), True),
    ("conditional.strict_equality", (None, U), False),
    ("conditional.strict_inequality", (1, "1"), True),
    ("conditional.strict_inequality", ("é", "é"), False),
    ("conditional.greater_than", ("10", 9), True),
    ("conditional.greater_than", ("10", "9"), False),
    ("conditional.greater_than", (U, 0), False),
    ("conditional.less_than", (-1, 0), True),
    ("conditional.less_than", (None, 1), True),
    ("conditional.greater_than_or_equal", (5, 5), True),
    ("conditional.greater_than_or_equal", (NAN, 1), False),
    ("conditional.less_than_or_equal", ("a", "b"), True),
    ("conditional.less_than_or_equal", (U, U), False),
    ("conditional.nullish", (None, "d"), "d"),
    ("conditional.nullish", (0, "d"), 0),
    ("conditional.nullish", (U, False), False),
    # @logical
    ("logical.and", (1, "b"), "b"),
    ("logical.and", ("", "b"), ""),
    ("logical.and", (None, True), None),
    ("logical.or", (0, "b"), "b"),
    ("logical.or", ("a", "b"), "a"),
    ("logical.or", (U, None), None),
    # @unary
    ("unary.not", ([],), False),
    ("unary.not", (0,), True),
    ("unary.positive", ("42",), 42),
    ("unary.positive", ("4x",), NAN),
    ("unary.positive", (None,), 0),
    ("unary.negative", ("3",), -3),
    ("unary.negative", (U,), NAN),
    ("unary.bitwise_not", (5,), -6),
    ("unary.bitwise_not", (NAN,), -1),
    # @symbol
    ("symbol.null", (), None),
    ("symbol.undefined", (), U),
    ("symbol.whitespace", (), " "),
    ("symbol.object", (), {}),
    ("symbol.array", (), []),
    ("symbol.posInfinity", (), INF),
    ("symbol.negInfinity", (), -INF),
    ("symbol.NaN", (), NAN),
    # extra arguments are ignored, as in JavaScript
    ("symbol.null", ("extra",), None),
    ("symbol.undefined", (1,), U),
    ("symbol.whitespace", (1, 2), " "),
    ("symbol.object", ({"a": 1},), {}),
    ("symbol.array", ([1],), []),
    ("symbol.posInfinity", (0,), INF),
    ("symbol.negInfinity", (0,), -INF),
    ("symbol.NaN", (0,), NAN),
    # @json
    (
        "json.stringify",
        ({"a": [1, 2.0, None, NAN], "b": "é", "c": U},),
        '{"a":[1,2,null,null],"b":"é"}',
    ),
    ("json.stringify", ([U, INF],), "[null,null]"),
    ("json.stringify", (U,), U),
    ("json.stringify", ({"a": 1}, None, 2), '{\n  "a": 1\n}'),
    ("json.stringify", ('x"y',), '"x\\"y"'),
    ("json.parse", ('{"a": [1, 2.5, null]}',), {"a": [1, 2.5, None]}),
    ("json.parse", ('"ü"',), "ü"),
]


@pytest.mark.parametrize(
    ("name", "args", "expected"), CASES, ids=lambda v: v if isinstance(v, str) else None
)
def test_function(name: str, args: tuple[Any, ...], expected: Any) -> None:
    result = call(name, *[list(a) if isinstance(a, list) else a for a in args])
    assert same(result, expected), (
        f"@{name}{args!r} = {result!r}, expected {expected!r}"
    )


MATH_CASES: list[tuple[str, tuple[Any, ...], Any]] = [
    ("math.add", (1, [2, [3]], "4"), 10),
    ("math.add", (), 0),
    ("math.add", (0.1, 0.2), 0.3),
    ("math.add", (1, U), NAN),
    ("math.subtract", (5, 4, 3, 2, 1), -5),
    ("math.subtract", ([10, 3],), 7),
    ("math.multiply", (5, 4, 3, 2, 1), 120),
    ("math.multiply", ([2, [3]], 4), 24),
    ("math.multiply", (), 1),
    ("math.divide", (100, 4, 5), 5),
    ("math.divide", (1, 0), NAN),
    ("math.divide", (1, 4), 0.25),
    ("math.abs", (-3,), 3),
    ("math.abs", ("-2.5",), 2.5),
    ("math.acos", (1,), 0),
    ("math.acos", (2,), NAN),
    ("math.acosh", (1,), 0),
    ("math.acosh", (0,), NAN),
    ("math.asin", (0,), 0),
    ("math.asin", (2,), NAN),
    ("math.asinh", (0,), 0),
    ("math.asinh", (None,), 0),
    ("math.atan", (0,), 0),
    ("math.atan", (INF,), math.pi / 2),
    ("math.atanh", (0,), 0),
    ("math.atanh", (2,), NAN),
    ("math.cbrt", (27,), 3),
    ("math.cbrt", (-8,), -2),
    ("math.ceil", (1.2,), 2),
    ("math.ceil", (-1.2,), -1),
    ("math.cos", (0,), 1),
    ("math.cos", (U,), NAN),
    ("math.cosh", (0,), 1),
    ("math.cosh", (1000,), INF),
    ("math.exp", (0,), 1),
    ("math.exp", (1000,), INF),
    ("math.expm1", (0,), 0),
    ("math.expm1", ("x",), NAN),
    ("math.floor", (1.8,), 1),
    ("math.floor", (-1.2,), -2),
    ("math.fround", (5.5,), 5.5),
    ("math.fround", (5.05,), 5.050000190734863),
    ("math.log", (1,), 0),
    ("math.log", (0,), -INF),
    ("math.log", (-1,), NAN),
    ("math.log10", (1000,), 3),
    ("math.log10", (0,), -INF),
    ("math.log1p", (0,), 0),
    ("math.log1p", (-2,), NAN),
    ("math.log2", (8,), 3),
    ("math.log2", (-1,), NAN),
    ("math.round", (2.5,), 3),
    ("math.round", (-2.5,), -2),
    ("math.round", (NAN,), NAN),
    ("math.sign", (-3,), -1),
    ("math.sign", (0,), 0),
    ("math.sin", (0,), 0),
    ("math.sin", (INF,), NAN),
    ("math.sinh", (0,), 0),
    ("math.sinh", (None,), 0),
    ("math.sqrt", (16,), 4),
    ("math.sqrt", (-1,), NAN),
    ("math.tan", (0,), 0),
    ("math.tan", ("a",), NAN),
    ("math.tanh", (0,), 0),
    ("math.tanh", (INF,), 1),
    ("math.trunc", (-4.7,), -4),
    ("math.trunc", (INF,), INF),
    ("math.clz32", (1,), 31),
    ("math.clz32", (0,), 32),
    ("math.atan2", (1, 1), math.pi / 4),
    ("math.atan2", (0, -1), math.pi),
    ("math.hypot", (3, 4), 5),
    ("math.hypot", (), 0),
    ("math.imul", (3, 4), 12),
    ("math.imul", (0xFFFFFFFF, 5), -5),
    ("math.max", (1, "3", 2), 3),
    ("math.max", (), -INF),
    ("math.max", (1, NAN), NAN),
    ("math.min", (1, -3), -3),
    ("math.min", (), INF),
    ("math.pow", (2, 10), 1024),
    ("math.pow", (4, 0.5), 2),
    ("math.pow", (-8, 1 / 3), NAN),
    ("math.pow", (10, 400), INF),
    # @number
    ("number.isFinite", (5,), True),
    ("number.isFinite", ("5",), False),
    ("number.isFinite", (INF,), False),
    ("number.isInteger", (5.0,), True),
    ("number.isInteger", (5.5,), False),
    ("number.isInteger", ("5",), False),
    ("number.isNaN", (NAN,), True),
    ("number.isNaN", ("abc",), False),
    ("number.isEven", (4,), True),
    ("number.isEven", ("3",), False),
    ("number.isEven", (NAN,), False),
    ("number.isOdd", (-3,), True),
    ("number.isOdd", (2,), False),
    ("number.parseFloat", ("3.14abc",), 3.14),
    ("number.parseFloat", (".5e1",), 5),
    ("number.parseFloat", ("abc",), NAN),
    ("number.parseFloat", ("-Infinity!",), -INF),
    ("number.parseInt", ("12px",), 12),
    ("number.parseInt", ("0x1F",), 31),
    ("number.parseInt", ("  -42",), -42),
    ("number.parseInt", ("z", 36), 35),
    ("number.parseInt", ("101", 2), 5),
    ("number.parseInt", ("abc",), NAN),
    ("number.parseInt", (15.99,), 15),
    ("number.toFixed", (1.005, 2), "1.00"),
    ("number.toFixed", (2.5,), "3"),
    ("number.toFixed", (-2.5,), "-3"),
    ("number.toFixed", (123.456, 1), "123.5"),
    ("number.toFixed", (NAN, 2), "NaN"),
    ("number.toFixed", (1e21, 2), "1e+21"),
    ("number.toExponential", (123456,), "1.23456e+5"),
    ("number.toExponential", (123456, 2), "1.23e+5"),
    ("number.toExponential", (0.00015,), "1.5e-4"),
    ("number.toExponential", (0,), "0e+0"),
    ("number.toExponential", (-INF,), "-Infinity"),
    ("number.toPrecision", (123.456, 4), "123.5"),
    ("number.toPrecision", (0.000123, 2), "0.00012"),
    ("number.toPrecision", (123456, 2), "1.2e+5"),
    ("number.toPrecision", (0, 3), "0.00"),
    ("number.toPrecision", (5,), "5"),
    ("number.gte", (5, 5), True),
    ("number.gte", ("4", 5), False),
    ("number.lte", (4, "5"), True),
    ("number.lte", (NAN, 5), False),
    ("number.gt", (6, 5), True),
    ("number.gt", (None, -1), True),
    ("number.lt", (-1, 0), True),
    ("number.lt", (U, 0), False),
    ("number.max", (1, 9, 3), 9),
    ("number.max", (), -INF),
    ("number.min", (1, 9, 3), 1),
    ("number.min", ("a", 1), NAN),
    ("number.pow", (2, 3), 8),
    ("number.pow", (2, -1), 0.5),
    ("number.round", (1.5,), 2),
    ("number.round", (-1.5,), -1),
]


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    MATH_CASES,
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_numeric_function(name: str, args: tuple[Any, ...], expected: Any) -> None:
    result = call(name, *args)
    if (
        isinstance(expected, float)
        and not math.isnan(expected)
        and not math.isinf(expected)
    ):
        assert isinstance(result, float) and math.isclose(
            result, expected, rel_tol=1e-12
        ), (name, args, result)
    else:
        assert same(result, expected), (
            f"@{name}{args!r} = {result!r}, expected {expected!r}"
        )


def test_mutators_change_the_array_in_place_like_javascript() -> None:
    data = [3, 1, 2]
    assert call("array.sort", data) is data
    assert data == [1, 2, 3]
    call("array.push", data, 4)
    assert data == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("array.join", ("not an array",)),
        ("array.push", (None, 1)),
        ("json.parse", ("{bad",)),
        ("json.parse", ("NaN",)),
        ("math.subtract", ()),
        ("number.toFixed", (1, 101)),
        ("number.toPrecision", (1, 0)),
    ],
)
def test_bad_input_raises_evaluation_error(name: str, args: tuple[Any, ...]) -> None:
    with pytest.raises(errors.EvaluationError):
        call(name, *args)


def test_symbol_containers_are_fresh_each_call() -> None:
    first = call("symbol.array")
    first.append(1)
    assert call("symbol.array") == []


def test_clock_and_random_functions_are_marked_impure() -> None:
    assert registry.lookup("math.random").pure is False  # type: ignore[union-attr]
    assert registry.lookup("symbol.date").pure is False  # type: ignore[union-attr]
    assert 0 <= call("math.random") < 1
    assert isinstance(call("symbol.date"), int)


SPEC_NAMES = {
    "array": "get length concat indexOf lastIndexOf join pop push reverse shift slice sort splice unshift",
    "bitwise": "and or xor leftShift rightShift unsignedRightShift",
    "conditional": "ternary equality inequality strict_equality strict_inequality greater_than less_than "
    "greater_than_or_equal less_than_or_equal nullish",
    "logical": "and or",
    "math": "add subtract multiply divide abs acos acosh asin asinh atan atanh cbrt ceil clz32 cos cosh exp "
    "expm1 floor fround log log10 log1p log2 round sign sin sinh sqrt tan tanh trunc atan2 hypot imul max "
    "min pow random",
    "number": "isFinite isInteger isNaN isEven isOdd parseFloat parseInt toFixed toExponential toPrecision "
    "gte lte gt lt max min pow round",
    "symbol": "null undefined whitespace object array posInfinity negInfinity NaN date",
    "unary": "not positive negative bitwise_not",
    "json": "stringify parse",
}


@pytest.mark.parametrize("namespace", sorted(SPEC_NAMES))
def test_every_catalogue_function_is_registered_with_a_doc(namespace: str) -> None:
    for short in SPEC_NAMES[namespace].split():
        spec = registry.lookup(f"{namespace}.{short}")
        assert spec is not None, f"@{namespace}.{short} missing"
        assert spec.doc.strip() and "\n" not in spec.doc


def test_every_case_table_covers_each_function_twice() -> None:
    counts: dict[str, int] = {}
    for name, _args, _expected in CASES + MATH_CASES:
        counts[name] = counts.get(name, 0) + 1
    expected = {
        f"{ns}.{short}" for ns, shorts in SPEC_NAMES.items() for short in shorts.split()
    }
    thin = sorted(
        n
        for n in expected
        if counts.get(n, 0) < 2 and n not in {"math.random", "symbol.date"}
    )
    assert not thin, f"fewer than 2 cases: {thin}"
