"""Compiling and evaluating values: references, maps, paths of errors, collection."""

from __future__ import annotations

from typing import Any

import pytest

from hotmesh import errors, expr
from hotmesh.expr import UNDEFINED

CONTEXT: dict[str, Any] = {
    "metadata": {"jid": "job-1"},
    "data": {"total": 3},
    "a1": {
        "output": {"data": {"x": 5, "items": [10, 20], "name": "Ada", "obj": {"k": 1}}}
    },
    "$self": {"output": {"data": {"y": "self"}}},
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("{a1.output.data.x}", 5),
        ("{a1.output.data.items}", [10, 20]),
        ("{a1.output.data.items.1}", 20),
        ("{a1.output.data.items.length}", 2),
        ("{a1.output.data.name.length}", UNDEFINED),  # no steps into strings
        ("{a1.output.data.x.length}", UNDEFINED),
        ("{a1.output.data.items.01}", UNDEFINED),  # not an own index, as in JS
        ("{a1.output.data.obj}", {"k": 1}),
        ("{$self.output.data.y}", "self"),
        ("{$job.metadata.jid}", "job-1"),
        ("{$job.data.total}", 3),
        ("Hi {a1.output.data.name} #{a1.output.data.x}", "Hi Ada #5"),
        ("{a1.output.data.missing}", UNDEFINED),
        ("{a1.output.data.items.9}", UNDEFINED),
        ("{nope.output.data.x}", UNDEFINED),
        ("{a1.output.data.x.deeper}", UNDEFINED),
        (42, 42),
        (None, None),
        (True, True),
    ],
)
def test_resolve(rule: Any, expected: Any) -> None:
    assert expr.resolve(rule, CONTEXT) == expected


def test_whole_reference_keeps_type_interpolation_stringifies() -> None:
    assert expr.resolve("{a1.output.data.x}", CONTEXT) == 5
    assert expr.resolve("{a1.output.data.x}!", CONTEXT) == "5!"
    assert expr.resolve("[{a1.output.data.missing}]", CONTEXT) == "[]"
    ctx = {"a": {"l": [1, None, "x"], "o": {"k": 1}, "n": None}}
    assert expr.resolve("{a.l}|{a.o}|{a.n}", ctx) == "1,,x|[object Object]|null"


def test_job_falls_back_to_whole_context_and_prefers_explicit_job() -> None:
    assert expr.resolve("{$job.data.total}", {"data": {"total": 1}}) == 1
    explicit = {"data": {"total": 1}, "$job": {"data": {"total": 2}}}
    assert expr.resolve("{$job.data.total}", explicit) == 2


def test_reduce_variables_outside_a_reduce_are_undefined() -> None:
    assert expr.resolve("{$item.name}", CONTEXT) is UNDEFINED


def test_map_block_drops_undefined_keeps_null_lists_and_suffix_keys() -> None:
    block = {
        "x": "{a1.output.data.x}",
        "gone": "{a1.output.data.missing}",
        "nothing": None,
        "list": [1, "{a1.output.data.missing}", "{a1.output.data.x}"],
        "nested": {"name": "{a1.output.data.name}", "gone": "{zz}"},
        "slots[3]": "{a1.output.data.items}",
        "marks[-]": {"-seen-": 1},
        "search[_]": {"_k": "v"},
    }
    assert expr.compile_map(block).evaluate(CONTEXT) == {
        "x": 5,
        "nothing": None,
        "list": [1, None, 5],
        "nested": {"name": "Ada"},
        "slots[3]": [10, 20],
        "marks[-]": {"-seen-": 1},
        "search[_]": {"_k": "v"},
    }


def test_references_and_functions_are_collected_everywhere() -> None:
    rule = expr.compile(
        {
            "a": "{a1.output.data.x}",
            "b": ["x {$job.metadata.jid} y"],
            "c": {"@pipe": [["{t.output.data.n}", 2], {"@pipe": [["{$item.z}"]]}]},
        }
    )
    assert rule.references == {
        "a1.output.data.x",
        "$job.metadata.jid",
        "t.output.data.n",
        "$item.z",
    }
    assert not rule.is_constant
    assert expr.compile({"k": [1, "two"]}).is_constant


def test_errors_carry_the_path_inside_the_value() -> None:
    with pytest.raises(errors.ExpressionSyntaxError) as info:
        expr.compile({"outer": {"inner": ["ok", "{a..b}"]}})
    assert info.value.path == ("outer", "inner", 1)
    with pytest.raises(errors.ExpressionSyntaxError) as pipe_info:
        expr.compile({"@pipe": [["{a.b}"], ["{x.}"]]})
    assert pipe_info.value.path == ("@pipe", 1, 0)
    with pytest.raises(errors.ExpressionSyntaxError) as row_info:
        expr.compile({"@pipe": [["{a.b}"], "not a row"]})
    assert row_info.value.path == ("@pipe", 1)


def test_literal_containers_are_copied_per_evaluation() -> None:
    rule = expr.compile({"@pipe": [[[1, 2]]]})
    first = rule.evaluate({})
    first.append(3)
    assert rule.evaluate({}) == [1, 2]
