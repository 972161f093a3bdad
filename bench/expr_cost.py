"""Calibrate the evaluation budget (hotmesh/expr/budget.py) against CPU time.

For each expensive shape of expression, find the largest input that still fits
the budget (a binary search on its size), then time that evaluation: the worst
CPU one evaluation of that shape can take under the default limits. Also time
the size that used to run unbounded (issue 20 §3) to show it now fails fast.

Run: python bench/expr_cost.py [words of case names]   (CPU time: time.process_time, robust under load)
"""

from __future__ import annotations

import random
import string
import sys
import time
from collections.abc import Callable
from typing import Any

from hotmesh import errors, expr

Case = tuple[str, Any, Callable[[int], dict[str, Any]], int]

random.seed(7)
WORDS = ["".join(random.choices(string.ascii_lowercase, k=8)) for _ in range(2_000_000)]


def reduce_of(*body: Any) -> dict[str, Any]:
    return {"@pipe": [["{xs}", 0], {"@reduce": list(body)}]}


def pipe(*rows: Any) -> dict[str, Any]:
    return {"@pipe": list(rows)}


def deep(n: int) -> Any:
    value: Any = [[i, {"k": i}] for i in range(n)]
    for _ in range(5):
        value = [value]
    return value


CASES: list[Case] = [
    (
        "@reduce, no call in the lap",
        reduce_of(["{$index}"]),
        lambda n: {"xs": list(range(n))},
        1_900_000,
    ),
    (
        "@reduce of @math.add",
        reduce_of(["{$output}", "{$item}"], ["{@math.add}"]),
        lambda n: {"xs": list(range(n))},
        1_900_000,
    ),
    (
        "@reduce pushing to an array",
        {
            "@pipe": [
                ["{xs}", []],
                {"@reduce": [["{$output}", "{$item}"], ["{@array.push}"]]},
            ]
        },
        lambda n: {"xs": list(range(n))},
        1_900_000,
    ),
    (
        "@reduce concatenating arrays",
        {
            "@pipe": [
                ["{xs}", []],
                {"@reduce": [["{$output}", ["{$item}"]], ["{@array.concat}"]]},
            ]
        },
        lambda n: {"xs": list(range(n))},
        100_000,
    ),
    (
        "@array.indexOf (not found)",
        pipe(["{xs}", -5], ["{@array.indexOf}"]),
        lambda n: {"xs": list(range(n))},
        1_000_000,
    ),
    (
        "@array.sort of strings",
        pipe(["{xs}"], ["{@array.sort}"]),
        lambda n: {"xs": WORDS[:n]},
        1_000_000,
    ),
    (
        "@array.sort of numbers and nulls",
        pipe(["{xs}"], ["{@array.sort}"]),
        lambda n: {"xs": [None if i % 7 == 0 else (i * 7919) % 1000 for i in range(n)]},
        1_000_000,
    ),
    (
        "@array.join of numbers",
        pipe(["{xs}", "-"], ["{@array.join}"]),
        lambda n: {"xs": list(range(n))},
        1_000_000,
    ),
    (
        "@object.keys of an array",
        pipe(["{xs}"], ["{@object.keys}"]),
        lambda n: {"xs": list(range(n))},
        1_000_000,
    ),
    (
        "@array.slice",
        pipe(["{xs}", 1], ["{@array.slice}"]),
        lambda n: {"xs": list(range(n))},
        4_000_000,
    ),
    (
        "@string.slice of emoji text",
        pipe(["{s}", 1], ["{@string.slice}"]),
        lambda n: {"s": "a\U0001f600" * n},
        2_000_000,
    ),
    (
        "@string.split of text",
        pipe(["{s}", ","], ["{@string.split}"]),
        lambda n: {"s": "ab," * n},
        2_000_000,
    ),
    (
        "@json.stringify of a nested value",
        pipe(["{v}"], ["{@json.stringify}"]),
        lambda n: {"v": deep(n)},
        300_000,
    ),
    (
        "@json.parse of numbers",
        pipe(["{s}"], ["{@json.parse}"]),
        lambda n: {"s": "[" + "1," * n + "1]"},
        1_000_000,
    ),
    (
        "@json.parse of objects",
        pipe(["{s}"], ["{@json.parse}"]),
        lambda n: {"s": "[" + ",".join(['{"a":1}'] * n) + "]"},
        1_000_000,
    ),
    (
        "String() of an array in text",
        "ids: {xs}",
        lambda n: {"xs": list(range(n))},
        1_000_000,
    ),
    (
        "@array.get of a large element",
        pipe(["{xs}", 0], ["{@array.get}"]),
        lambda n: {"xs": [list(range(n))]},
        1_000_000,
    ),
]


def run(rule: expr.Rule, context: dict[str, Any]) -> tuple[float, str]:
    started = time.process_time()
    try:
        rule.evaluate(context)
        outcome = "ok"
    except errors.EvaluationError as exc:
        outcome = str(exc).split(":")[0] + ": over budget"
    return (time.process_time() - started) * 1000, outcome


def largest(rule: expr.Rule, make: Callable[[int], dict[str, Any]], high: int) -> int:
    """Largest n <= high whose evaluation passes (0 if none)."""
    low = 0
    while low < high:
        mid = (low + high + 1) // 2
        if run(rule, make(mid))[1] == "ok":
            low = mid
        else:
            high = mid - 1
    return low


def main() -> None:
    """Every case, or those whose name contains an argument."""
    only = sys.argv[1:]
    print(
        f"{'case':40} {'hostile n':>10} {'CPU ms':>8}  {'largest ok n':>12} {'CPU ms':>7}"
    )
    for name, source, make, hostile in CASES:
        if only and not any(word in name for word in only):
            continue
        rule = expr.compile(source)
        took, outcome = run(rule, make(hostile))
        fits = largest(rule, make, hostile)
        worst = max(run(rule, make(fits))[0] for _ in range(3))
        print(
            f"{name:40} {hostile:>10,} {took:>8.1f}  {fits:>12,} {worst:>7.1f}   {outcome}"
        )


if __name__ == "__main__":
    main()
