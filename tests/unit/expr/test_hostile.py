"""Hostile expressions (issue 20 §3): catastrophic regexes and runaway work.

Each attack used to hold the event loop for seconds to minutes. Here it either
finishes in time linear in its input (regexes, on RE2) or fails at once with an
``EvaluationError`` naming the function (the evaluation budget).
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest

from hotmesh import errors, expr
from hotmesh.expr import budget
from tests.unit.expr.functions._call import call

#: patterns that backtrack exponentially (or polynomially) in Python's ``re`` and V8
CATASTROPHIC = [
    ("(a+)+$", "a" * 5000 + "b"),
    ("(a|a)*$", "a" * 5000 + "b"),
    ("(a|aa)+$", "a" * 5000 + "b"),
    ("^(\\w+\\s?)*$", "word " * 1000 + "!"),
    ("(x+x+)+y", "x" * 5000),
    ("(.*a){20}", "a" * 5000),
    ("^(([a-z])+.)+[A-Z]([a-z])+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!" * 100),
]


@pytest.mark.parametrize(("pattern", "text"), CATASTROPHIC)
def test_a_catastrophic_pattern_takes_linear_time(pattern: str, text: str) -> None:
    started = time.perf_counter()
    result = call("string.search", text, pattern)
    elapsed = time.perf_counter() - started
    assert isinstance(result, int)
    # Python's re takes hours on these; the bound is generous on purpose.
    assert elapsed < 2.0, (pattern, elapsed)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(a)\\1", "invalid escape sequence"),
        ("(?=a)a", "invalid perl operator"),
        ("(?<=a)b", "invalid perl operator"),
        ("(?!a)b", "invalid perl operator"),
        ("x" * 10_001, "longer than 10000"),
    ],
)
def test_backtracking_forms_are_refused_naming_the_function(
    pattern: str, reason: str
) -> None:
    with pytest.raises(errors.EvaluationError, match=f"@string.search: .*{reason}"):
        call("string.search", "abc", pattern)


@pytest.mark.parametrize(
    ("text", "pattern", "index"),
    [
        ("caf\u00e9!", "\\u00e9", 3),  # \uXXXX as JavaScript writes it
        ("x\ud800y", "y", 2),  # a lone surrogate in the text (UTF-8 cannot hold one)
        ("\U0001f600b", "b", 2),  # UTF-16 index after an emoji
        ("ab\ncd", "b$", -1),  # $ is the end of input, as in JS (Python's re: 1)
        ("A1", "(?<digit>\\d)", 1),
    ],
)
def test_javascript_forms_match_as_in_javascript(
    text: str, pattern: str, index: int
) -> None:
    assert call("string.search", text, pattern) == index


def test_doubling_in_a_reduce_fails_naming_the_function() -> None:
    # 40 laps that double a string: 5 bytes * 2**40 without the budget.
    rows = [
        ["{xs}", "hello"],
        {"@reduce": [["{$output}", "{$output}"], ["{@string.concat}"]]},
    ]
    started = time.perf_counter()
    with pytest.raises(errors.EvaluationError, match=r"@string\.concat: result larger"):
        expr.resolve({"@pipe": rows}, {"xs": list(range(40))})
    assert time.perf_counter() - started < 2.0


def test_concat_refuses_a_result_over_the_budget_before_building_it() -> None:
    limits = budget.LIMITS
    budget.LIMITS = budget.Limits(max_work=limits.max_work, max_result=1_000_000)
    half = "x" * 600_000
    try:
        assert call("string.concat", "ab", None, 12) == "ab12"
        tracemalloc.start()
        try:
            with pytest.raises(
                errors.EvaluationError,
                match=r"^@string\.concat: result larger than the evaluation budget "
                "of 1,000,000 ",
            ):
                call("string.concat", half, half)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 600_000  # the 1.2 MB result was never allocated
    finally:
        budget.LIMITS = limits


def test_nested_doubling_of_arrays_is_measured_not_just_its_length() -> None:
    # [o, o] shares o: two elements, but 2**k when stored (and when copied).
    rows = [
        ["{xs}", ["x"]],
        {"@reduce": [["{$output}", "{$output}"], ["{@array.concat}"]]},
    ]
    with pytest.raises(errors.EvaluationError, match=r"@array\.concat"):
        expr.resolve({"@pipe": rows}, {"xs": list(range(40))})


def test_quadratic_work_stops_at_the_work_budget() -> None:
    # Each lap copies the growing string: 4,000 laps of up to 4,000 * 1,500 chars
    # stay under max_result but sum to billions of units of work.
    rows = [
        ["{xs}", ""],
        {"@reduce": [["{$output}", "{pad}"], ["{@string.concat}"]]},
    ]
    ctx = {"xs": list(range(4000)), "pad": "y" * 1500}
    limit = f"evaluation budget of {budget.LIMITS.max_work:,} work units"
    with pytest.raises(errors.EvaluationError, match=limit):
        expr.resolve({"@pipe": rows}, ctx)


def test_indented_stringify_of_a_deep_value_is_refused_while_building() -> None:
    deep: Any = list(range(200_000))
    for _ in range(60):
        deep = [deep]
    started = time.perf_counter()
    # 200,000 numbers 60 levels down: refused by the work of reading them all.
    with pytest.raises(errors.EvaluationError, match=r"^@json\.stringify: the expr"):
        call("json.stringify", deep, None, 10)
    assert time.perf_counter() - started < 2.0


def test_a_long_reduce_of_cheap_laps_is_bounded_too() -> None:
    limits = budget.LIMITS
    work = 1000 * budget.LAP
    budget.LIMITS = budget.Limits(max_work=work, max_result=limits.max_result)
    try:
        rows = [["{xs}", 0], {"@reduce": [["{$index}"]]}]
        assert expr.resolve({"@pipe": rows}, {"xs": list(range(999))}) == 998
        with pytest.raises(
            errors.EvaluationError, match=rf"@reduce: .*budget of {work:,}"
        ):
            expr.resolve({"@pipe": rows}, {"xs": list(range(1001))})
    finally:
        budget.LIMITS = limits


def test_each_evaluation_has_its_own_budget() -> None:
    rule = expr.compile({"@pipe": [["{s}", 1000], ["{@string.repeat}"]]})
    for _ in range(10_000):  # 10,000 * 1,001 units: over one budget, not over each
        assert len(rule.evaluate({"s": "ab"})) == 2000


def test_size_stops_counting_past_the_limit() -> None:
    shared = ["x" * 10]
    for _ in range(100):  # 2**100 characters if fully walked
        shared = [shared, shared]
    assert 1000 < budget.size(shared, 1000) < 1100
    assert budget.size({"a": [1, "bc"], "d": None}, 100) == 2 + 2 + 1 + 2 + 1
