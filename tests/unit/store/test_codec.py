"""``codec.dumps``: the jsonb text of every value the store writes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hotmesh.store.codec import dumps

_REFERENCE = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode

VALUES: list[Any] = [
    {"a": 1, "b": [1, 2.5, None, True, False], "c": {"d": {}, "e": []}},
    {"text": 'é ü 中 \u2028 \x00 "quoted" \\ back', "emoji": "\U0001f600"},
    {1: "int key", None: "null key", 2.5: "float key", False: "bool key"},
    [10**30, -(10**30), -0.0, 1e300, 5e-324, 0.1],
    "a bare string",
    42,
    None,
    [],
    {"deep": [[[[{"x": [1, {"y": "z"}]}]]]]},
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_is_compact_unescaped_json(value: Any) -> None:
    assert dumps(value) == _REFERENCE(value)
    assert json.loads(dumps(value)) == json.loads(_REFERENCE(value))


def test_non_finite_numbers_become_null() -> None:
    value = {"nan": float("nan"), "list": [float("inf"), -float("inf"), 1.5]}
    assert dumps(value) == '{"nan":null,"list":[null,null,1.5]}'


def test_a_value_json_cannot_hold_is_refused_by_type() -> None:
    with pytest.raises(TypeError, match="object is not JSON serializable"):
        dumps({"x": object()})


def test_the_encoder_is_reusable_after_a_failure() -> None:
    with pytest.raises(TypeError):
        dumps([1, {"x": {1, 2}}])
    assert dumps([1, {"x": [1, 2]}]) == '[1,{"x":[1,2]}]'
