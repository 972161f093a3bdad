"""The evaluation budget: how much CPU one expression may spend, and how big a
value one function may build.

Expressions run on the event loop, inside a job's step, so one job's expression
that runs for a second holds every other job for that second. Every evaluation
of a rule or map block therefore gets a :class:`Meter`, and everything that
costs time is charged to it *before* it is done:

* each function call costs :data:`CALL`, plus what the function does to its
  inputs (:func:`input_cost`: characters read, entries visited, comparisons of a
  sort) and the size of what it returns (measuring a result visits its nodes);
* each ``@reduce`` lap costs :data:`LAP`;
* past ``max_work`` units the evaluation stops with an ``EvaluationError``
  naming the function and the limit.

A unit is calibrated as about one nanosecond of CPU on the reference machine
(a 2-core box): every charge is the *worst* time measured for that operation
(``bench/expr_cost.py``), so ``max_work`` bounds the CPU time of one
evaluation deterministically, whatever the load: the charge depends on the
sizes of the values only, never on a clock.

One function result may also not be larger than ``max_result`` size units: a
string counts its characters, an array or object its entries plus the size of
each entry, a number, boolean or null counts 1. The limits are documented in
``docs/reference/functions.md``.
"""

from __future__ import annotations

import math
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from hotmesh import errors

#: one function call (argument list, registry lookup, error wrapping)
CALL = 3_000
#: one @reduce lap (its scope and the rows of its body)
LAP = 2_500
#: one node visited while measuring a value (an entry, a number, a string)
NODE = 200
#: one character read or copied at C speed (slicing, searching, case mapping)
CHAR = 2
#: one entry copied at C speed (slicing, concatenating, reversing an array)
COPY = 15
#: one entry visited by Python code (strict equality, String(), Object.keys)
ENTRY = 500
#: one node of a value read deeply by Python code (String() of nested arrays,
#: loose equality, JSON text), on top of the NODE to find it
DEEP = 1_000
#: one node of a value @json.stringify writes (instead of DEEP)
STRINGIFY = 1_600
#: one comparison of @array.sort's JavaScript comparator (mixed types)
COMPARE = 1_500
#: one character of JSON text parsed (json.loads builds the values; "[1,1,…]"
#: calls the number hook every other character)
PARSE = 120
#: one part @string.split builds (a Python step each)
PART = 400
#: one character outside the Basic Multilingual Plane (an emoji) in a text
#: converted to UTF-16 code units (a Python step each)
ASTRAL = 1_000


@dataclass(frozen=True, slots=True)
class Limits:
    """Budget of one evaluation (one rule, or one map block)."""

    #: work units, about a nanosecond of CPU each (40 ms at most)
    max_work: int = 40_000_000
    #: size units of any one function result (a 4,000,000-character string)
    max_result: int = 4_000_000


LIMITS = Limits()


def _over(function: str, limits: Limits) -> errors.EvaluationError:
    return errors.EvaluationError(
        f"@{function}: the expression exceeded its evaluation budget of "
        f"{limits.max_work:,} work units (max_work, about "
        f"{limits.max_work / 1e6:g} ms of CPU: input too large for this function, "
        "or a @reduce or pipe doing too much work; see 'Evaluation budget' in "
        "docs/reference/functions.md)"
    )


class Meter:
    """Work spent so far by one evaluation."""

    __slots__ = ("function", "limits", "sizes", "work")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.work = 0
        #: the function being called, named by charges made deep inside it
        self.function = "pipe"
        #: id -> (value, size units) of arrays and objects a function returned
        #: after changing them in place (an accumulator in a @reduce): growing
        #: one costs what was added, not a new walk of all of it every lap
        self.sizes: dict[int, tuple[Any, int]] = {}

    def spend(self, units: int | float, function: str | None = None) -> None:
        """Charge ``units`` of work done in ``function`` (the current call's
        function by default); refuse it when it takes the evaluation over budget."""
        self.work += int(units)
        if self.work > self.limits.max_work:
            raise _over(function or self.function, self.limits)

    def room(self) -> int:
        """Units left before the budget is exhausted."""
        return max(0, self.limits.max_work - self.work)

    def measured(self, value: Any, function: str) -> int:
        """Size units of ``value``, charging the nodes visited to find them."""
        units, nodes = measure(value, self.limits.max_result, self.room() // NODE)
        self.spend(nodes * NODE, function)
        return units

    def result(self, value: Any, function: str, args: list[Any] | None = None) -> None:
        """Charge measuring ``value`` (what ``function`` returned); refuse it if too big.

        A function that returns its first argument (``@array.push``,
        ``@object.set``) changed it in place: when its size is known, the new
        size is that plus the size of the other arguments (what was added)."""
        kind = type(value)
        if args and value is args[0] and (kind is list or kind is dict):
            known = self.sizes.get(id(value))
            if known is None or known[0] is not value:
                units = self.measured(value, function)
            else:
                units = known[1] + len(args)
                for arg in args[1:]:
                    units += self.measured(arg, function)
            self.check_result(units, function)
            self.sizes[id(value)] = (value, units)
            return
        self.check_result(self.measured(value, function), function)

    def forget(self, value: Any) -> None:
        """``value`` changed in a way its known size does not follow."""
        self.sizes.pop(id(value), None)

    def check_result(self, units: int, function: str) -> None:
        """Refuse a result of ``units`` size units: a function that knows the size
        of its result calls this before building it (building it is the cost)."""
        limit = self.limits.max_result
        if units > limit:
            raise errors.EvaluationError(
                f"@{function}: result larger than the evaluation budget of {limit:,} "
                "units (max_result: characters or elements; see 'Evaluation budget' "
                "in docs/reference/functions.md)"
            )


def measure(value: Any, limit: int, max_nodes: int) -> tuple[int, int]:
    """``(size units, nodes visited)`` of ``value``: counting stops past ``limit``
    units or past ``max_nodes`` nodes (the caller's budget), so measuring a
    huge or self-sharing value costs no more than the budget it is charged to."""
    kind = type(value)
    if kind is str:
        return len(value), 1
    if kind is not list and kind is not dict and kind is not tuple:
        return 1, 1
    total = 0
    nodes = 0
    stack = [value]
    pop, push = stack.pop, stack.extend
    while stack:
        node = pop()
        nodes += 1
        kind = type(node)
        if kind is str:
            total += len(node)
        elif kind is list or kind is tuple:
            total += len(node)
            push(node)
        elif kind is dict:
            total += len(node)
            push(node.values())
        else:
            total += 1
        if total > limit or nodes > max_nodes:
            break
    return total, nodes


_UNBOUNDED = 1 << 62


def size(value: Any, limit: int) -> int:
    """Size units of ``value``, counting no further than ``limit + 1``."""
    return measure(value, limit, limit + 1)[0]


def _shallow(value: Any) -> tuple[int, int]:
    """(characters, entries) of one argument, without looking inside it."""
    kind = type(value)
    if kind is str:
        return len(value), 0
    if kind is list or kind is dict:
        return 0, len(value)
    return 0, 0


#: input cost per function: (units per character, units per entry); entries are
#: counted at the top level of each argument. Functions missing here read their
#: inputs deeply (``String()`` of an array, loose equality): see ``input_cost``.
_SHALLOW: dict[str, tuple[int, int]] = {
    # copy entries at C speed
    **dict.fromkeys(
        (
            "array.concat",
            "array.reverse",
            "array.shift",
            "array.unshift",
            "array.slice",
            "array.splice",
        ),
        (CHAR, COPY),
    ),
    # read one entry, or only the few entries given (a string may be scanned)
    **dict.fromkeys(
        (
            "array.get",
            "array.length",
            "array.pop",
            "array.push",
            "conditional.ternary",
            "conditional.nullish",
            "conditional.strict_equality",
            "conditional.strict_inequality",
            "logical.and",
            "logical.or",
            "object.create",
            "object.set",
            "object.freeze",
            "object.seal",
            "object.preventExtensions",
            "object.isFrozen",
            "object.isSealed",
            "object.isExtensible",
            "object.isPrototypeOf",
            "object.getOwnPropertySymbols",
            "object.defineProperty",
        ),
        (CHAR, 0),
    ),
    # one Python step per entry
    **dict.fromkeys(
        (
            "array.indexOf",
            "array.lastIndexOf",
            "object.get",
            "object.keys",
            "object.values",
            "object.entries",
            "object.fromEntries",
            "object.assign",
            "object.getOwnPropertyNames",
            "object.getOwnPropertyDescriptor",
            "object.defineProperties",
            "object.hasOwnProperty",
            "object.propertyIsEnumerable",
        ),
        (CHAR, ENTRY),
    ),
    # text functions read characters (an array argument is String()-ed: deep)
    "json.parse": (PARSE, DEEP),
}


#: per-node weights of functions that read their inputs more slowly than String()
_DEEP = {"json.stringify": STRINGIFY}


def input_cost(function: str, args: list[Any], meter: Meter) -> int:
    """Units ``function`` spends reading ``args`` (charged before it runs).

    Listed functions cost their arguments' top-level characters and entries;
    the others may read an argument deeply (``String()`` of nested arrays,
    ``JSON.stringify``), so each array or object argument is measured, at
    NODE + DEEP a node, within the meter's room."""
    weights = _SHALLOW.get(function)
    deep = _DEEP.get(function, DEEP)
    if weights is not None:
        per_char, per_entry = weights
        total = 0
        for arg in args:
            chars, entries = _shallow(arg)
            total += chars * per_char + entries * per_entry
        return total
    total = 0
    for arg in args:
        kind = type(arg)
        if kind is str:
            total += len(arg) * CHAR
        elif kind is list or kind is dict:
            room = max(0, meter.room() - total) // (NODE + deep)
            units, nodes = measure(arg, _UNBOUNDED, room)
            total += nodes * (NODE + deep) + (units - nodes) * CHAR
    return total


def sort_cost(count: int, per_compare: int) -> int:
    """Units of sorting ``count`` entries at ``per_compare`` a comparison."""
    return count * max(1, math.ceil(math.log2(count + 1))) * per_compare


_CURRENT: ContextVar[Meter | None] = ContextVar("hotmesh_expr_meter", default=None)


def charge(units: int) -> None:
    """Charge ``units`` to the evaluation in progress, if any (helpers such as
    ``js.code_units`` run inside and outside evaluations)."""
    meter = _CURRENT.get()
    if meter is not None:
        meter.spend(units)


def current() -> Meter:
    """The meter of the evaluation in progress (a fresh one outside any)."""
    meter = _CURRENT.get()
    return meter if meter is not None else Meter(LIMITS)


def metered(fn: Any, *args: Any, meter: Meter | None = None) -> Any:
    """Run ``fn(*args)`` as one evaluation with its own meter (nested ones share
    it); ``meter`` gives one to read afterwards (tests, benchmarks)."""
    if _CURRENT.get() is not None:
        return fn(*args)
    token = _CURRENT.set(meter or Meter(LIMITS))
    try:
        return fn(*args)
    finally:
        _CURRENT.reset(token)
