"""The @pipe and @reduce algorithm, with the examples of spec §3.3–3.4 verbatim."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from hotmesh import expr
from hotmesh.expr import UNDEFINED


def pipe(rows: list[Any], context: dict[str, Any] | None = None) -> Any:
    return expr.resolve({"@pipe": rows}, context or {})


def test_join_names() -> None:
    assert (
        pipe([["{names}", " "], ["{@array.join}"]], {"names": ["Luke", "Birdeau"]})
        == "Luke Birdeau"
    )


def test_split_then_get() -> None:
    ctx = {"a": {"output": {"data": {"full_name": "Luke Birdeau"}}}}
    rows = [
        ["{a.output.data.full_name}", " "],
        ["{@string.split}", 0],
        ["{@array.get}"],
    ]
    assert pipe(rows, ctx) == "Luke"


def test_json_parse_then_join() -> None:
    assert (
        pipe([['["ke","bab","case"]'], ["{@json.parse}", "-"], ["{@array.join}"]])
        == "ke-bab-case"
    )


def test_sub_pipes_fan_in_to_object_create() -> None:
    ctx = {
        "a": {
            "output": {
                "data": {"workflowDimension": ",0,0,1", "index": 13, "duration": 1000}
            }
        }
    }
    rows = [
        {
            "@pipe": [
                [
                    "-sleep",
                    "{a.output.data.workflowDimension}",
                    "-",
                    "{a.output.data.index}",
                    "-",
                ],
                ["{@string.concat}"],
            ]
        },
        {"@pipe": [["{a.output.data.duration}"]]},
        ["{@object.create}"],
    ]
    assert pipe(rows, ctx) == {"-sleep,0,0,1-13-": 1000}


def test_ternary_on_number_comparison() -> None:
    rows = [
        ["{b.output.data.age}", 40],
        ["{@number.gte}", "Senior", "Junior"],
        ["{@conditional.ternary}"],
    ]
    assert pipe(rows, {"b": {"output": {"data": {"age": 30}}}}) == "Junior"
    assert pipe(rows, {"b": {"output": {"data": {"age": 40}}}}) == "Senior"


def test_nested_pipes_compute_capped_exponential_backoff() -> None:
    # min(initial * coeff ^ retry, maxInterval) with coeff 2, initial 3, retry 2, max 120
    ctx = {
        "p": {"output": {"data": {"coeff": 2, "initial": 3, "retry": 2, "max": 120}}}
    }
    rows = [
        {
            "@pipe": [
                {"@pipe": [["{p.output.data.initial}"]]},
                {
                    "@pipe": [
                        ["{p.output.data.coeff}", "{p.output.data.retry}"],
                        ["{@math.pow}"],
                    ]
                },
                ["{@math.multiply}"],
            ]
        },
        {"@pipe": [["{p.output.data.max}"]]},
        ["{@math.min}"],
    ]
    assert pipe(rows, ctx) == 12


def test_today_as_yyyymmdd() -> None:
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    assert pipe([["{@date.yyyymmdd}"]]) == today


def test_now_to_locale_string_shape() -> None:
    value = pipe([["{@date.now}", "en-US"], ["{@date.toLocaleString}"]])
    assert re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}, \d{1,2}:\d{2}:\d{2} [AP]M", value)


def test_reduce_builds_list_of_objects() -> None:
    ctx = {
        "a": {
            "output": {
                "data": {
                    "people": [{"full_name": "Luke Birdeau"}, {"full_name": "John Doe"}]
                }
            }
        }
    }

    def split_name(part: int) -> list[Any]:
        return [["{$item.full_name}", " "], ["{@string.split}", part], ["{@array.get}"]]

    rows = [
        ["{a.output.data.people}", []],
        {
            "@reduce": [
                {"@pipe": [["{$output}"]]},
                {
                    "@pipe": [
                        {"@pipe": [["first"]]},
                        {"@pipe": split_name(0)},
                        {"@pipe": [["last"]]},
                        {"@pipe": split_name(1)},
                        ["{@object.create}"],
                    ]
                },
                ["{@array.push}"],
            ]
        },
    ]
    assert pipe(rows, ctx) == [
        {"first": "Luke", "last": "Birdeau"},
        {"first": "John", "last": "Doe"},
    ]


def test_reduce_over_object_uses_key_index_and_set() -> None:
    ctx = {
        "a": {
            "output": {
                "data": {
                    "items": {"x": {"type": "t1"}, "y": {"type": "t2"}},
                    "dad": ",0",
                }
            }
        }
    }
    rows = [
        ["{a.output.data.items}", {}],
        {
            "@reduce": [
                {"@pipe": [["{$output}"]]},
                {
                    "@pipe": [
                        [
                            "-",
                            "{$item.type}",
                            "{a.output.data.dad}",
                            "-",
                            "{$index}",
                            "-",
                        ],
                        ["{@string.concat}"],
                    ]
                },
                {"@pipe": [["{$key}"]]},
                ["{@object.set}"],
            ]
        },
    ]
    assert pipe(rows, ctx) == {"-t1,0-0-": "x", "-t2,0-1-": "y"}


def test_reduce_accumulator_is_copied_not_shared() -> None:
    seed: list[Any] = []
    ctx = {"xs": [1, 2], "seed": seed}
    rows = [
        ["{xs}", "{seed}"],
        {
            "@reduce": [
                {"@pipe": [["{$output}"]]},
                {"@pipe": [["{$item}"]]},
                ["{@array.push}"],
            ]
        },
    ]
    assert pipe(rows, ctx) == [1, 2]
    assert seed == []


def test_reduce_over_non_collection_returns_accumulator() -> None:
    rows = [["{missing}", 7], {"@reduce": [["{@math.add}"]]}]
    assert pipe(rows) == 7


def test_context_variable_in_operator_position_is_a_lookup() -> None:
    rows = [["{xs}", 0], {"@reduce": [["{$index}"]]}]
    assert pipe(rows, {"xs": ["a", "b", "c"]}) == 2


def test_function_failure_becomes_evaluation_error() -> None:
    from hotmesh import errors

    try:
        pipe([["not json"], ["{@json.parse}"]])
    except errors.EvaluationError as exc:
        assert "json.parse" in str(exc)
    else:
        raise AssertionError("expected EvaluationError")


def test_empty_pipe_is_undefined() -> None:
    assert pipe([]) is UNDEFINED
