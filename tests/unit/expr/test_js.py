"""JavaScript value semantics: formatting, coercion, equality, truthiness, rounding."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hotmesh.expr import js
from hotmesh.expr.js import UNDEFINED
from tests.unit.expr.functions._call import same


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1.0, "1"),
        (15, "15"),
        (-0.0, "0"),
        (0.5, "0.5"),
        (-0.5, "-0.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (123.456, "123.456"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (-1e21, "-1e+21"),
        (1.2345678901234568e20, "123456789012345680000"),
        (2**60, "1152921504606847000"),  # a JS number keeps only a double's digits
        (2**53 - 1, "9007199254740991"),
        (0.000001, "0.000001"),
        (0.00001234, "0.00001234"),
        (1e-7, "1e-7"),
        (1.5e-10, "1.5e-10"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (10**400, "Infinity"),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
    ],
)
def test_number_to_string_matches_javascript(number: float | int, text: str) -> None:
    assert js.number_to_string(number) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (UNDEFINED, "undefined"),
        (None, "null"),
        (True, "true"),
        ([1, [2, 3], None, UNDEFINED], "1,2,3,,"),
        ({"a": 1}, "[object Object]"),
        ("ünï", "ünï"),
        (3.0, "3"),
    ],
)
def test_to_string(value: Any, text: str) -> None:
    assert js.to_string(value) == text


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (UNDEFINED, math.nan),
        (None, 0),
        (True, 1),
        (False, 0),
        ("", 0),
        ("  12 ", 12),
        ("\u00a012\u2028", 12),
        ("1e3", 1000),
        (".5", 0.5),
        ("5.", 5),
        ("0x1F", 31),
        ("0b101", 5),
        ("-0x1F", math.nan),
        ("Infinity", math.inf),
        ("-Infinity", -math.inf),
        ("infinity", math.nan),
        ("1_000", math.nan),
        ("12px", math.nan),
        ("١٢", math.nan),  # Arabic-Indic digits are not JS numeric literals
        ([], 0),
        ([" 7"], 7),
        ([1, 2], math.nan),
        ({}, math.nan),
        (2**60, float(2**60)),
        (10**400, math.inf),
    ],
)
def test_to_number(value: Any, number: float | int) -> None:
    assert same(js.to_number(value), number)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([], True),
        ({}, True),
        ("", False),
        ("0", True),
        (" ", True),
        (0, False),
        (-0.0, False),
        (math.nan, False),
        (None, False),
        (UNDEFINED, False),
        (-1, True),
        (False, False),
    ],
)
def test_truthiness(value: Any, expected: bool) -> None:
    assert js.truthy(value) is expected


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (None, UNDEFINED, True),
        (None, 0, False),
        (UNDEFINED, 0, False),
        ("1", 1, True),
        (True, 1, True),
        (False, "", True),
        ("0", False, True),
        ([], "", True),
        ([1, 2], "1,2", True),
        ({}, "[object Object]", True),
        (math.nan, math.nan, False),
        (1, 1.0, True),
        ("a", "A", False),
        ([], [], False),  # distinct objects
    ],
)
def test_loose_equality_table(a: Any, b: Any, equal: bool) -> None:
    assert js.loose_eq(a, b) is equal
    assert js.loose_eq(b, a) is equal


def test_strict_equality_compares_objects_by_identity() -> None:
    shared = [1]
    assert js.strict_eq(shared, shared)
    assert not js.strict_eq([1], [1])
    assert not js.strict_eq(1, "1")
    assert not js.strict_eq(None, UNDEFINED)
    assert js.strict_eq(1, 1.0)
    assert not js.strict_eq(math.nan, math.nan)


@pytest.mark.parametrize(
    ("a", "b", "lt", "gt", "le", "ge"),
    [
        (1, 2, True, False, True, False),
        ("10", "9", True, False, True, False),  # strings compare as text
        ("10", 9, False, True, False, True),  # mixed compares as numbers
        ("a", "B", False, True, False, True),  # code units: 'B' < 'a'
        (None, 0, False, False, True, True),
        (UNDEFINED, 0, False, False, False, False),
        (math.nan, 1, False, False, False, False),
        ([2], 1, False, True, False, True),
    ],
)
def test_relational_comparisons(
    a: Any, b: Any, lt: bool, gt: bool, le: bool, ge: bool
) -> None:
    assert (js.less_than(a, b), js.greater_than(a, b)) == (lt, gt)
    assert (js.less_equal(a, b), js.greater_equal(a, b)) == (le, ge)


def test_strings_compare_by_utf16_code_units() -> None:
    # U+FF61 is above the surrogate range in code points but below it in UTF-16 units.
    assert js.less_than("\U0001f600", "\uff61")


@pytest.mark.parametrize(
    ("value", "int32", "uint32"),
    [
        (2**31, -(2**31), 2**31),
        (-1, -1, 2**32 - 1),
        (-1.5, -1, 2**32 - 1),
        (1e20, 1661992960, 1661992960),
        ("12", 12, 12),
        (math.nan, 0, 0),
        (math.inf, 0, 0),
        (2**60 + 3, 0, 0),  # 2**60 + 3 is 2**60 as a double
        (UNDEFINED, 0, 0),
    ],
)
def test_int32_conversions(value: Any, int32: int, uint32: int) -> None:
    assert js.to_int32(value) == int32
    assert js.to_uint32(value) == uint32


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (2.5, 3),
        (-2.5, -2),
        (-0.5, 0),
        (0.49999999999999994, 0),
        (1.4999999999999998, 1),
        ("3.5", 4),
        (None, 0),
        (UNDEFINED, math.nan),
        (math.inf, math.inf),
        (1e300, 1e300),
        (7, 7),
    ],
)
def test_js_round_halves_toward_positive_infinity(value: Any, rounded: Any) -> None:
    assert same(js.js_round(value), rounded)


@pytest.mark.parametrize(
    ("value", "integer"),
    [(3.9, 3), (-3.9, -3), (math.nan, 0), ("x", 0), (math.inf, math.inf), ("7", 7)],
)
def test_to_integer(value: Any, integer: Any) -> None:
    assert js.to_integer(value) == integer


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (UNDEFINED, "undefined"),
        (None, "object"),
        (True, "boolean"),
        (1.5, "number"),
        ("s", "string"),
        ([], "object"),
        ({}, "object"),
    ],
)
def test_typeof(value: Any, kind: str) -> None:
    assert js.typeof(value) == kind


def test_undefined_is_a_falsy_singleton() -> None:
    assert js._Undefined() is UNDEFINED
    assert not UNDEFINED
    assert repr(UNDEFINED) == "undefined"
    assert js.is_nullish(UNDEFINED) and js.is_nullish(None) and not js.is_nullish(0)
