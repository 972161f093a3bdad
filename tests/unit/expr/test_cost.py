"""The evaluation budget charges what each function really does (issue 20 §3).

Before, inputs were free: a 1M-item @array.indexOf, a 1M-string @array.sort or
a 1.9M-lap @reduce ran for 0.4 to 70 s of CPU under the budget. Now every
charge is made before the work, in units calibrated as about a nanosecond of
CPU each (bench/expr_cost.py), so such an evaluation fails at once naming the
function and the limit, and the charges grow with the input as the work does.
"""

from __future__ import annotations

import random
import string
import tracemalloc
from typing import Any

import pytest

from hotmesh import errors, expr
from hotmesh.expr import budget

OVER = (
    r"^@{}: the expression exceeded its evaluation budget of "
    rf"{budget.LIMITS.max_work:,} work units \(max_work"
)

random.seed(3)
WORDS = ["".join(random.choices(string.ascii_lowercase, k=8)) for _ in range(300_000)]


def pipe(*rows: Any) -> dict[str, Any]:
    return {"@pipe": list(rows)}


def reduce_of(seed: Any, *body: Any) -> dict[str, Any]:
    return {"@pipe": [["{xs}", seed], {"@reduce": list(body)}]}


def nested(n: int) -> Any:
    value: Any = [[i, {"k": i}] for i in range(n)]
    for _ in range(5):
        value = [value]
    return value


def spent(source: Any, context: dict[str, Any]) -> int:
    """Work units one evaluation of ``source`` charges."""
    meter = budget.Meter(budget.LIMITS)
    budget.metered(expr.compile(source).evaluate, context, meter=meter)
    return meter.work


# (function named in the error, expression, context over the budget)
HOSTILE: list[tuple[str, Any, dict[str, Any]]] = [
    ("reduce", reduce_of(0, ["{$index}"]), {"xs": list(range(1_900_000))}),
    (
        "math.add",
        reduce_of(0, ["{$output}", "{$item}"], ["{@math.add}"]),
        {"xs": list(range(1_900_000))},
    ),
    (
        "array.indexOf",
        pipe(["{xs}", -5], ["{@array.indexOf}"]),
        {"xs": list(range(1_000_000))},
    ),
    ("array.sort", pipe(["{xs}"], ["{@array.sort}"]), {"xs": WORDS}),
    ("array.sort", pipe(["{xs}"], ["{@array.sort}"]), {"xs": [None, 1.5] * 50_000}),
    (
        "array.join",
        pipe(["{xs}", "-"], ["{@array.join}"]),
        {"xs": list(range(1_000_000))},
    ),
    ("object.keys", pipe(["{xs}"], ["{@object.keys}"]), {"xs": list(range(1_000_000))}),
    (
        "array.slice",
        pipe(["{xs}", 1], ["{@array.slice}"]),
        {"xs": list(range(4_000_000))},
    ),
    ("string.split", pipe(["{s}", ","], ["{@string.split}"]), {"s": "ab," * 1_000_000}),
    (
        "string.slice",
        pipe(["{s}", 1], ["{@string.slice}"]),
        {"s": "a\U0001f600" * 1_000_000},
    ),
    ("json.stringify", pipe(["{v}"], ["{@json.stringify}"]), {"v": nested(100_000)}),
    (
        "json.parse",
        pipe(["{s}"], ["{@json.parse}"]),
        {"s": "[" + "1," * 500_000 + "1]"},
    ),
    ("pipe", "ids: {xs}", {"xs": list(range(1_000_000))}),
    (
        "array.get",
        pipe(["{xs}", 0], ["{@array.get}"]),
        {"xs": [list(range(1_000_000))]},
    ),
]


@pytest.mark.parametrize(("function", "source", "context"), HOSTILE, ids=lambda v: "")
def test_a_large_input_fails_naming_the_function_and_the_limit(
    function: str, source: Any, context: dict[str, Any]
) -> None:
    with pytest.raises(errors.EvaluationError, match=OVER.format(function)):
        expr.compile(source).evaluate(context)


def per_item(source: Any, make: Any, n: int = 1000) -> int:
    """Extra work units of ``n`` more items: the charge of one item, times n."""
    return spent(source, make(2 * n)) - spent(source, make(n))


def test_searching_an_array_costs_each_entry_it_may_visit() -> None:
    source = pipe(["{xs}", -5], ["{@array.indexOf}"])
    assert per_item(source, lambda n: {"xs": list(range(n))}) == 1000 * budget.ENTRY


def test_each_reduce_lap_costs_a_lap_and_its_calls() -> None:
    laps = reduce_of(0, ["{$index}"])
    assert per_item(laps, lambda n: {"xs": list(range(n))}) == 1000 * budget.LAP
    adds = reduce_of(0, ["{$output}", "{$item}"], ["{@math.add}"])
    # a lap, a call, and measuring its one-number result
    lap = budget.LAP + budget.CALL + budget.NODE
    assert per_item(adds, lambda n: {"xs": list(range(n))}) == 1000 * lap


def test_accumulating_with_push_costs_what_is_added_not_the_whole_array() -> None:
    source = reduce_of([], ["{$output}", "{$item}"], ["{@array.push}"])
    make = lambda n: {"xs": [{"id": i} for i in range(n)]}  # noqa: E731
    first, second = per_item(source, make), per_item(source, make, 2000)
    assert second == 2 * first  # linear: 2,000 more laps cost twice 1,000 more


def test_splitting_costs_each_part_before_building_it() -> None:
    source = pipe(["{s}", ","], ["{@string.split}"])
    charged = per_item(source, lambda n: {"s": "ab," * n})
    assert charged >= 1000 * (budget.PART + budget.NODE)


def test_sorting_costs_n_log_n_comparisons() -> None:
    source = pipe(["{xs}"], ["{@array.sort}"])
    mixed = spent(source, {"xs": [None, 2, 1.5] * 300})
    assert mixed >= budget.sort_cost(900, budget.COMPARE)
    assert budget.sort_cost(2048, 10) == 2048 * 12 * 10


def test_reading_a_nested_value_costs_every_node() -> None:
    source = pipe(["{v}"], ["{@json.stringify}"])
    # each item is 4 nodes: [i, {"k": i}] holds i, the dict, and i again
    assert per_item(source, lambda n: {"v": nested(n)}) >= 4000 * budget.NODE


def test_text_with_emoji_costs_each_astral_character() -> None:
    source = pipe(["{s}", 1], ["{@string.slice}"])
    emoji = per_item(source, lambda n: {"s": "\U0001f600" * n})
    ascii_ = per_item(source, lambda n: {"s": "ab" * n})
    assert emoji >= 1000 * budget.ASTRAL > 10 * ascii_


@pytest.mark.parametrize(
    ("source", "context"),
    [
        (pipe(["{xs}", 9_999], ["{@array.indexOf}"]), {"xs": list(range(10_000))}),
        (pipe(["{xs}"], ["{@array.sort}"]), {"xs": WORDS[:2000]}),
        (pipe(["{xs}", ","], ["{@array.join}"]), {"xs": list(range(5000))}),
        (
            reduce_of([], ["{$output}", "{$item.id}"], ["{@array.push}"]),
            {"xs": [{"id": i} for i in range(5000)]},
        ),
        (pipe(["{s}"], ["{@json.parse}"]), {"s": '{"a": [' + "1," * 20_000 + "1]}"}),
        (pipe(["{s}", " "], ["{@string.split}"]), {"s": "word " * 20_000}),
    ],
)
def test_real_sizes_fit_the_budget(source: Any, context: dict[str, Any]) -> None:
    expr.compile(source).evaluate(context)


def test_a_value_that_contains_itself_is_refused() -> None:
    source = reduce_of([], ["{$output}", "{$output}"], ["{@array.push}"])
    # measuring it goes round the cycle until the budget stops it
    with pytest.raises(errors.EvaluationError, match=r"^@array\.push: "):
        expr.compile(source).evaluate({"xs": [1, 2]})


def test_an_error_names_the_function_and_the_limit_in_milliseconds() -> None:
    limits = budget.LIMITS
    budget.LIMITS = budget.Limits(max_work=5_000_000, max_result=limits.max_result)
    try:
        with pytest.raises(errors.EvaluationError) as caught:
            expr.compile(pipe(["{xs}", 1], ["{@array.indexOf}"])).evaluate(
                {"xs": list(range(20_000))}
            )
    finally:
        budget.LIMITS = limits
    assert str(caught.value).startswith(
        "@array.indexOf: the expression exceeded its evaluation budget of "
        "5,000,000 work units (max_work, about 5 ms of CPU"
    )


def test_setting_a_far_index_is_refused_before_the_holes_are_built() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(
            errors.EvaluationError, match=r"^@object\.set: result larger"
        ):
            expr.compile(pipe(["{xs}", "30000000", 1], ["{@object.set}"])).evaluate(
                {"xs": []}
            )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000  # 480 MB of nulls before the result was measured
