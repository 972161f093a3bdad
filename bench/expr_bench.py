"""Time expression evaluation: a reference, a 3-row @pipe, a 100-item @reduce.

Run: python bench/expr_bench.py
Targets (issue 3): ≤ 3 µs, ≤ 20 µs, ≤ 2 ms per evaluation of a compiled rule.
"""

from __future__ import annotations

import timeit
from typing import Any

from hotmesh import expr

CONTEXT: dict[str, Any] = {
    "a1": {"output": {"data": {"x": 5, "full_name": "Luke Birdeau"}}},
    "a2": {
        "output": {"data": {"people": [{"name": f"p{i}", "n": i} for i in range(100)]}}
    },
}

CASES: list[tuple[str, Any, float]] = [
    ("reference {a1.output.data.x}", "{a1.output.data.x}", 3e-6),
    (
        "3-row @pipe (split, get)",
        {
            "@pipe": [
                ["{a1.output.data.full_name}", " "],
                ["{@string.split}", 0],
                ["{@array.get}"],
            ]
        },
        20e-6,
    ),
    (
        "100-item @reduce (sum)",
        {
            "@pipe": [
                ["{a2.output.data.people}", 0],
                {"@reduce": [["{$output}", "{$item.n}"], ["{@math.add}"]]},
            ]
        },
        2e-3,
    ),
]


def main() -> None:
    print(f"{'case':<34} {'per op':>12} {'target':>10}")
    for name, value, target in CASES:
        rule = expr.compile(value)
        rule.evaluate(CONTEXT)
        timer = timeit.Timer(lambda rule=rule: rule.evaluate(CONTEXT))
        loops, _ = timer.autorange()
        best = min(timer.repeat(repeat=5, number=loops)) / loops
        verdict = "ok" if best <= target else "MISSED"
        print(f"{name:<34} {best * 1e6:>10.2f}µs {target * 1e6:>8.0f}µs  {verdict}")


if __name__ == "__main__":
    main()
