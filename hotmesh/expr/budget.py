"""The evaluation budget: how much work one expression may do, and how big a value
one function may build.

Expressions run on the event loop, inside a job's step. Without a bound, one
job's ``@reduce`` that doubles a string or an array on every lap builds
hundreds of megabytes and holds the loop (and every other job) for seconds.
Every evaluation of a rule or map block therefore gets a :class:`Meter`:

* each function call costs one unit plus the size of what it returns, and each
  ``@reduce`` lap costs one unit; past ``max_work`` units the evaluation stops;
* one function result may not be larger than ``max_result`` units.

Size units: a string counts its characters, an array or object its entries
plus the size of each entry, a number, boolean or null counts 1. The limits
are far above any real mapping and documented in
``docs/reference/functions.md``; going over fails the job with an
``EvaluationError`` naming the function.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from hotmesh import errors


@dataclass(frozen=True, slots=True)
class Limits:
    """Budget of one evaluation (one rule, or one map block)."""

    #: units of work: calls, @reduce laps and the sizes of what calls return
    max_work: int = 20_000_000
    #: size units of any one function result (a 4,000,000-character string)
    max_result: int = 4_000_000


LIMITS = Limits()


class Meter:
    """Work spent so far by one evaluation."""

    __slots__ = ("limits", "work")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.work = 0

    def spend(self, units: int, function: str) -> None:
        """Charge ``units`` of work done in ``function``."""
        self.work += units
        if self.work > self.limits.max_work:
            raise errors.EvaluationError(
                f"@{function}: the expression exceeded its evaluation budget of "
                f"{self.limits.max_work:,} work units (a @reduce or pipe doing too "
                "much work; see 'Evaluation budget' in docs/reference/functions.md)"
            )

    def result(self, value: Any, function: str) -> None:
        """Charge a call of ``function`` that returned ``value``; refuse it if too big."""
        units = size(value, self.limits.max_result)
        self.check_result(units, function)
        self.spend(1 + units, function)

    def check_result(self, units: int, function: str) -> None:
        """Refuse a result of ``units`` size units: a function that knows the size
        of its result calls this before building it (building it is the cost)."""
        limit = self.limits.max_result
        if units > limit:
            raise errors.EvaluationError(
                f"@{function}: result larger than the evaluation budget of {limit:,} "
                "units (characters or elements; see 'Evaluation budget' in "
                "docs/reference/functions.md)"
            )


_SCALARS = (int, float, bool, type(None))


def size(value: Any, limit: int) -> int:
    """Size units of ``value``, counting no further than ``limit + 1``."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, _SCALARS):
        return 1
    total = 0
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            total += len(node)
            if total > limit:
                return total
            continue
        if isinstance(node, dict | list | tuple):
            total += len(node)
            if total > limit:
                return total
            stack.extend(node.values() if isinstance(node, dict) else node)
        else:
            total += 1
    return total


_CURRENT: ContextVar[Meter | None] = ContextVar("hotmesh_expr_meter", default=None)


def current() -> Meter:
    """The meter of the evaluation in progress (a fresh one outside any)."""
    meter = _CURRENT.get()
    return meter if meter is not None else Meter(LIMITS)


def metered(fn: Any, *args: Any) -> Any:
    """Run ``fn(*args)`` as one evaluation with its own meter (nested ones share it)."""
    if _CURRENT.get() is not None:
        return fn(*args)
    token = _CURRENT.set(Meter(LIMITS))
    try:
        return fn(*args)
    finally:
        _CURRENT.reset(token)
