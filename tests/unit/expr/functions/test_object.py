"""@object: JavaScript Object functions over JSON objects and lists."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hotmesh import errors
from hotmesh.expr import UNDEFINED
from hotmesh.expr.functions import registry
from tests.unit.expr.functions._call import call, same

U = UNDEFINED
DESC = {"writable": True, "enumerable": True, "configurable": True}

CASES: list[tuple[str, tuple[Any, ...], Any]] = [
    ("object.get", ({"a": 1}, "a"), 1),
    ("object.get", ({"a": 1}, "b"), U),
    ("object.get", (None, "a"), U),
    ("object.get", (U, "a"), U),
    ("object.get", ({"1": "x"}, 1), "x"),
    ("object.get", (["a", "b"], 1), "b"),
    ("object.get", (["a", "b"], "length"), 2),
    ("object.get", ("hey", "length"), 3),
    ("object.get", (5, "a"), U),
    ("object.get", ({"null": 0}, None), 0),
    ("object.set", ({"a": 1}, "b", 2), {"a": 1, "b": 2}),
    ("object.set", (None, "a", 1), {"a": 1}),
    ("object.set", (U, "a", 1), {"a": 1}),
    ("object.set", (0, "a", 1), {"a": 1}),
    ("object.set", ({"a": 1}, "a", U), {}),
    ("object.set", ({}, 1, None), {"1": None}),
    ("object.set", ([1], 2, 3), [1, None, 3]),
    ("object.set", ([1], "x", 3), [1]),
    ("object.set", ("str", "x", 3), "str"),
    ("object.create", ("a", 1, "b", [2]), {"a": 1, "b": [2]}),
    ("object.create", (), {}),
    ("object.create", ("a",), {}),
    ("object.create", (1, None, "x", U), {"1": None}),
    ("object.keys", ({"a": 1, "b": 2},), ["a", "b"]),
    ("object.keys", ({},), []),
    ("object.keys", (None,), []),
    ("object.keys", (U,), []),
    ("object.keys", (["x", "y"],), ["0", "1"]),
    ("object.keys", ("ab",), ["0", "1"]),
    ("object.keys", (42,), []),
    ("object.values", ({"a": 1, "b": None},), [1, None]),
    ("object.values", (None,), []),
    ("object.values", (["x"],), ["x"]),
    ("object.entries", ({"a": 1},), [["a", 1]]),
    ("object.entries", ({},), []),
    ("object.entries", (0,), []),
    ("object.entries", ([7],), [["0", 7]]),
    ("object.fromEntries", ([["a", 1], ["b", 2]],), {"a": 1, "b": 2}),
    ("object.fromEntries", ([],), {}),
    ("object.fromEntries", ([[1, "x"], ["a", 1], ["a", 2]],), {"1": "x", "a": 2}),
    ("object.fromEntries", ([["a"]],), {}),
    ("object.assign", ({"a": 1}, {"b": 2}, {"a": 3}), {"a": 3, "b": 2}),
    ("object.assign", (None, {"b": 2}), {"b": 2}),
    ("object.assign", (U,), {}),
    ("object.assign", ({}, None, ["x"]), {"0": "x"}),
    ("object.getOwnPropertyNames", ({"a": 1},), ["a"]),
    ("object.getOwnPropertyNames", (["x"],), ["0", "length"]),
    ("object.getOwnPropertyNames", ({},), []),
    ("object.getOwnPropertySymbols", ({"a": 1},), []),
    ("object.getOwnPropertySymbols", ({},), []),
    ("object.getOwnPropertyDescriptor", ({"a": 1}, "a"), {"value": 1, **DESC}),
    ("object.getOwnPropertyDescriptor", ({"a": 1}, "b"), U),
    ("object.getOwnPropertyDescriptor", (None, "a"), U),
    ("object.defineProperty", ({}, "a", {"value": 1}), {"a": 1}),
    ("object.defineProperty", ({"a": 1}, "a", {"enumerable": False}), {"a": 1}),
    (
        "object.defineProperties",
        ({}, {"a": {"value": 1}, "b": {"value": 2}}),
        {"a": 1, "b": 2},
    ),
    ("object.defineProperties", ({"a": 0}, {}), {"a": 0}),
    ("object.freeze", ({"a": 1},), {"a": 1}),
    ("object.freeze", (None,), None),
    ("object.isFrozen", ({},), False),
    ("object.isFrozen", (1,), True),
    ("object.seal", ([1],), [1]),
    ("object.seal", (U,), U),
    ("object.isSealed", ({"a": 1},), False),
    ("object.isSealed", ("s",), True),
    ("object.preventExtensions", ({"a": 1},), {"a": 1}),
    ("object.preventExtensions", ("s",), "s"),
    ("object.isExtensible", ({},), True),
    ("object.isExtensible", ([],), True),
    ("object.isExtensible", (None,), False),
    ("object.hasOwnProperty", ({"a": None}, "a"), True),
    ("object.hasOwnProperty", ({"a": 1}, "b"), False),
    ("object.hasOwnProperty", (None, "a"), False),
    ("object.hasOwnProperty", (["x"], 0), True),
    ("object.hasOwnProperty", (["x"], "length"), True),
    ("object.isPrototypeOf", ({}, {}), False),
    ("object.isPrototypeOf", (None, U), False),
    ("object.propertyIsEnumerable", ({"a": 1}, "a"), True),
    ("object.propertyIsEnumerable", ({"a": 1}, "b"), False),
    ("object.propertyIsEnumerable", (["x"], "length"), False),
    ("object.propertyIsEnumerable", (U, "a"), False),
]


@pytest.mark.parametrize(("name", "args", "expected"), CASES)
def test_object_function(name: str, args: tuple[Any, ...], expected: Any) -> None:
    result = call(name, *args)
    assert same(result, expected), f"@{name}{args!r} = {result!r}, want {expected!r}"


def test_set_and_assign_return_the_target_itself() -> None:
    target: dict[str, Any] = {"a": 1}
    assert call("object.set", target, "b", 2) is target
    assert call("object.assign", target, {"c": 3}) is target
    assert target == {"a": 1, "b": 2, "c": 3}


def test_freeze_returns_the_same_object() -> None:
    obj: dict[str, Any] = {"a": 1}
    assert call("object.freeze", obj) is obj
    assert call("object.isFrozen", obj) is False  # Python dicts cannot be frozen


def test_get_nan_key_stringifies() -> None:
    assert call("object.get", {"NaN": 1}, math.nan) == 1


@pytest.mark.parametrize("pairs", [None, U, 5, "ab", [1], [None]])
def test_from_entries_rejects_what_javascript_rejects(pairs: Any) -> None:
    with pytest.raises(errors.EvaluationError, match=r"@object\.fromEntries"):
        call("object.fromEntries", pairs)


def test_every_catalogue_object_function_is_documented() -> None:
    for method in [
        "get", "set", "create", "keys", "values", "entries", "fromEntries",
        "assign", "getOwnPropertyNames", "getOwnPropertySymbols",
        "getOwnPropertyDescriptor", "defineProperty", "defineProperties",
        "freeze", "isFrozen", "seal", "isSealed", "preventExtensions",
        "isExtensible", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable",
    ]:  # fmt: skip
        spec = registry.lookup(f"object.{method}")
        assert spec is not None, f"@object.{method} is not registered"
        assert spec.doc.strip(), f"@object.{method} has no doc"
