"""@string: JavaScript String methods, with coercion, null receivers and unicode."""

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
    ("string.split", ("a,b,,c", ","), ["a", "b", "", "c"]),
    ("string.split", ("abc", ""), ["a", "b", "c"]),
    ("string.split", ("abc",), ["abc"]),
    ("string.split", ("a,b,c", ",", 2), ["a", "b"]),
    ("string.split", ("a,b,c", ",", 0), []),
    ("string.split", ("a,b", ",", INF), []),  # ToUint32(Infinity) is 0
    ("string.split", ("", ","), [""]),
    ("string.split", ("", ""), []),
    ("string.split", ("1null2", None), ["1", "2"]),
    ("string.split", ("a😀b", ""), ["a", "\ud83d", "\ude00", "b"]),
    ("string.charAt", ("abc", 1), "b"),
    ("string.charAt", ("abc",), "a"),
    ("string.charAt", ("abc", -1), ""),
    ("string.charAt", ("abc", 9), ""),
    ("string.charAt", ("abc", NAN), "a"),
    ("string.charAt", ("abc", "2"), "c"),
    ("string.concat", ("a", 1, None, U, True, 1.5), "a1true1.5"),
    ("string.concat", (), ""),
    ("string.concat", ([1, 2], {}), "1,2[object Object]"),
    ("string.includes", ("hello", "ell"), True),
    ("string.includes", ("hello", "ell", 2), False),
    ("string.includes", ("hello", ""), True),
    ("string.includes", ("null", None), True),
    ("string.includes", ("hello", "h", -5), True),
    ("string.indexOf", ("banana", "an"), 1),
    ("string.indexOf", ("banana", "an", 2), 3),
    ("string.indexOf", ("banana", "x"), -1),
    ("string.indexOf", ("abc", "", 10), 3),
    ("string.indexOf", ("a1", 1), 1),
    ("string.lastIndexOf", ("banana", "an"), 3),
    ("string.lastIndexOf", ("banana", "an", 2), 1),
    ("string.lastIndexOf", ("banana", "an", NAN), 3),
    ("string.lastIndexOf", ("banana", "b", -3), 0),
    ("string.lastIndexOf", ("", "a"), -1),
    ("string.slice", ("hello", 1, 3), "el"),
    ("string.slice", ("hello", -3), "llo"),
    ("string.slice", ("hello", -3, -1), "ll"),
    ("string.slice", ("hello", 3, 1), ""),
    ("string.slice", ("hello",), "hello"),
    ("string.slice", ("hello", -INF, INF), "hello"),
    ("string.substring", ("hello", 1, 3), "el"),
    ("string.substring", ("hello", 3, 1), "el"),
    ("string.substring", ("hello", -2, 2), "he"),
    ("string.substring", ("hello", NAN), "hello"),
    ("string.substring", ("", 0, 5), ""),
    ("string.toLowerCase", ("ÀBC",), "àbc"),
    ("string.toLowerCase", ("",), ""),
    ("string.toUpperCase", ("Straße",), "STRASSE"),
    ("string.toUpperCase", ("a😀",), "A😀"),
    ("string.toUpperCase", (12,), "12"),
    ("string.trim", ("\u00a0 x \n\t",), "x"),
    ("string.trim", ("",), ""),
    ("string.trimStart", ("  x  ",), "x  "),
    ("string.trimStart", ("\ufeffx",), "x"),
    ("string.trimEnd", ("  x  ",), "  x"),
    ("string.trimEnd", ("x\u3000",), "x"),
    ("string.padStart", ("5", 3, "0"), "005"),
    ("string.padStart", ("abc", 6, "12"), "121abc"),
    ("string.padStart", ("abc", 2), "abc"),
    ("string.padStart", ("a", 3), "  a"),
    ("string.padStart", ("a", 3, ""), "a"),
    ("string.padStart", ("a", -3, "x"), "a"),
    ("string.padStart", ("a", NAN, "x"), "a"),
    ("string.padStart", (7, 3, 0), "007"),
    ("string.padEnd", ("a", 3, "-"), "a--"),
    ("string.padEnd", ("a", 3), "a  "),
    ("string.padEnd", ("abc", 0), "abc"),
    ("string.replace", ("a-b-c", "-", "+"), "a+b-c"),
    ("string.replace", ("abc", "x", "y"), "abc"),
    ("string.replace", ("abc", "", "x"), "xabc"),
    ("string.replace", ("abc", "b", "[$&]"), "a[b]c"),
    ("string.replace", ("abc", "b", "$`$'"), "aacc"),
    ("string.replace", ("abc", "b", "$$"), "a$c"),
    ("string.replace", ("abc", "b", "$1"), "a$1c"),
    ("string.replace", ("a null", None, U), "a undefined"),
    ("string.search", ("abc123", "[0-9]+"), 3),
    ("string.search", ("abc", "z"), -1),
    ("string.search", ("abc",), 0),
    ("string.search", ("a.c", "."), 0),
    ("string.startsWith", ("hello", "he"), True),
    ("string.startsWith", ("hello", "ll", 2), True),
    ("string.startsWith", ("hello", "he", 1), False),
    ("string.startsWith", ("abc", "", 10), True),
    ("string.startsWith", ("undefinedx", U), True),
    ("string.endsWith", ("hello", "lo"), True),
    ("string.endsWith", ("hello", "ll", 4), True),
    ("string.endsWith", ("hello", "he", -1), False),
    ("string.endsWith", ("hello", ""), True),
    ("string.repeat", ("ab", 3), "ababab"),
    ("string.repeat", ("ab", 0), ""),
    ("string.repeat", ("ab", NAN), ""),
    ("string.repeat", ("ab", "2"), "abab"),
    ("string.repeat", ("", 5), ""),
    ("string.repeat", ("", 1e20), ""),
]


@pytest.mark.parametrize(("name", "args", "expected"), CASES)
def test_string_function(name: str, args: tuple[Any, ...], expected: Any) -> None:
    result = call(name, *args)
    assert same(result, expected), f"@{name}{args!r} = {result!r}, want {expected!r}"


RECEIVERS = [
    name
    for name in registry.names()
    if name.startswith("string.") and name != "string.concat"
]


@pytest.mark.parametrize("name", RECEIVERS)
@pytest.mark.parametrize("receiver", [U, None])
def test_string_method_on_null_receiver_raises(name: str, receiver: Any) -> None:
    with pytest.raises(errors.EvaluationError, match=rf"@{name}: cannot read"):
        call(name, receiver, "a", 1)


def test_non_string_receiver_is_coerced() -> None:
    assert call("string.split", 1.5, ".") == ["1", "5"]
    assert call("string.slice", [1, 2], 1) == ",2"
    assert call("string.toUpperCase", True) == "TRUE"


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("string.repeat", ("a", -1), "invalid count -1"),
        ("string.repeat", ("a", INF), "invalid count Infinity"),
        ("string.repeat", ("ab", 10**8), "longer than"),
        ("string.padStart", ("a", INF), "invalid string length"),
        ("string.padEnd", ("a", 10**9), "invalid string length"),
        ("string.search", ("abc", "("), "invalid regular expression '\\('"),
    ],
)
def test_js_range_errors(name: str, args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(errors.EvaluationError, match=message):
        call(name, *args)


def test_every_catalogue_string_function_is_documented() -> None:
    for method in [
        "split", "charAt", "concat", "includes", "indexOf", "lastIndexOf",
        "slice", "substring", "toLowerCase", "toUpperCase", "trim", "trimStart",
        "trimEnd", "padStart", "padEnd", "replace", "search", "startsWith",
        "endsWith", "repeat",
    ]:  # fmt: skip
        spec = registry.lookup(f"string.{method}")
        assert spec is not None, f"@string.{method} is not registered"
        assert spec.doc.strip(), f"@string.{method} has no doc"
        assert spec.pure
