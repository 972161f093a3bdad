"""Turn expression nodes into fast evaluators, with the @pipe and @reduce algorithm.

Each node compiles once into a closure ``fn(context, scope) -> value``.
``context`` is the job context::

    {"metadata": {...}, "data": {...}, "<activity id>": {"input": ..., "output": ...,
     "hook": ...}, "$self": <this activity's node>}

``{$job...}`` reads the context itself (a ``$job`` key, if given, wins). ``scope`` holds the
``@reduce`` variables (``$input``, ``$output``, ``$item``, ``$key``,
``$index``) or is None outside a reduce.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

from hotmesh import errors
from hotmesh.expr import ast, budget
from hotmesh.expr.functions import registry
from hotmesh.expr.js import UNDEFINED, to_string

Scope = Mapping[str, Any] | None
Evaluator = Callable[[Mapping[str, Any], Scope], Any]

REDUCE_VARIABLES = frozenset({"$input", "$output", "$item", "$key", "$index"})
#: An array index as JavaScript spells one: ``1`` is an own property, ``01`` is not.
_INDEX = re.compile(r"0|[1-9][0-9]*")


def build(node: ast.Node) -> Evaluator:
    """Compile a node into an evaluator closure."""
    if isinstance(node, ast.Literal):
        return _literal(node.value)
    if isinstance(node, ast.Ref):
        return _reference(node)
    if isinstance(node, ast.FunctionRef):
        return _nullary(node.name)
    if isinstance(node, ast.Interpolation):
        return _interpolation(node)
    if isinstance(node, ast.Pipe):
        return _pipe(node)
    if isinstance(node, ast.ObjectNode):
        return _object(node)
    return _list(node)


def _literal(value: Any) -> Evaluator:
    if isinstance(value, dict | list):
        # Functions such as @array.push mutate their arguments, like JavaScript;
        # each evaluation gets its own copy so the plan never changes.
        return lambda _ctx, _scope: copy.deepcopy(value)
    return lambda _ctx, _scope: value


def walk(node: Any, segments: tuple[str, ...]) -> Any:
    """Follow ``segments`` through dicts and lists; anything missing is UNDEFINED.

    As upstream, a path steps only into objects and arrays (own properties: an
    index, or an array's ``length``). A step into a string, number or boolean
    is undefined: ``{a.output.data.name.length}`` of a string is undefined.
    """
    for segment in segments:
        if isinstance(node, dict):
            node = node.get(segment, UNDEFINED)
        elif isinstance(node, list):
            if _INDEX.fullmatch(segment) and int(segment) < len(node):
                node = node[int(segment)]
            elif segment == "length":
                node = len(node)
            else:
                return UNDEFINED
        else:
            return UNDEFINED
    return node


def _reference(node: ast.Ref) -> Evaluator:
    root, segments = node.root, node.segments
    if root in REDUCE_VARIABLES:

        def from_scope(_ctx: Mapping[str, Any], scope: Scope) -> Any:
            if scope is None:
                return UNDEFINED
            return walk(scope.get(root, UNDEFINED), segments)

        return from_scope
    if root == "$job":
        return lambda ctx, _scope: walk(ctx.get("$job", ctx), segments)
    if not segments:
        return lambda ctx, _scope: ctx.get(root, UNDEFINED)
    if len(segments) == 3:
        # The common shape {a1.output.data.x}: unrolled for speed.
        s1, s2, s3 = segments

        def three(ctx: Mapping[str, Any], _scope: Scope) -> Any:
            node = ctx.get(root)
            if type(node) is dict:
                node = node.get(s1)
                if type(node) is dict:
                    node = node.get(s2)
                    if type(node) is dict:
                        return node.get(s3, UNDEFINED)
            return walk(ctx.get(root, UNDEFINED), segments)

        return three
    return lambda ctx, _scope: walk(ctx.get(root, UNDEFINED), segments)


def call(name: str, args: list[Any]) -> Any:
    """Call catalogue function ``name``; Python errors become EvaluationError."""
    spec = registry.lookup(name)
    if spec is None:
        raise errors.UnknownFunctionError(name)
    high = spec.arity[1]
    if high is not None and len(args) > high:
        args = args[:high]  # JavaScript ignores extra arguments
    meter = budget.current()
    meter.function = name
    # Charged before the call: one call on a huge input must not run first.
    meter.spend(budget.CALL + budget.input_cost(name, args, meter), name)
    try:
        result = spec.fn(*args)
    except errors.HotMeshError:
        raise
    except RecursionError as exc:
        raise errors.EvaluationError(f"@{name}: value nested too deeply") from exc
    except Exception as exc:
        raise errors.EvaluationError(f"@{name} failed: {exc}") from exc
    if name in _GROWS_IN_PLACE and args:
        meter.forget(args[0])
    meter.result(result, name, args)
    return result


#: functions that add to their first argument but return something else
_GROWS_IN_PLACE = frozenset({"array.unshift", "array.splice"})


def _nullary(name: str) -> Evaluator:
    return lambda _ctx, _scope: call(name, [])


def _interpolation(node: ast.Interpolation) -> Evaluator:
    parts: list[Evaluator | str] = [
        p if isinstance(p, str) else build(p) for p in node.parts
    ]

    def interpolate(ctx: Mapping[str, Any], scope: Scope) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            else:
                value = part(ctx, scope)
                # JS String(): objects print "[object Object]", lists join with ",";
                # undefined prints nothing (a missing value should not say "undefined").
                if type(value) is list:
                    # String() of an array reads all of it, in Python.
                    meter = budget.current()
                    meter.spend(budget.input_cost("interpolation", [value], meter))
                out.append("" if value is UNDEFINED else to_string(value))
        return "".join(out)

    return interpolate


def _object(node: ast.ObjectNode) -> Evaluator:
    items = [(key, build(value)) for key, value in node.items]

    def obj(ctx: Mapping[str, Any], scope: Scope) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, fn in items:
            value = fn(ctx, scope)
            if value is not UNDEFINED:
                out[key] = value
        return out

    return obj


def _list(node: ast.ListNode) -> Evaluator:
    items = [build(value) for value in node.items]

    def lst(ctx: Mapping[str, Any], scope: Scope) -> list[Any]:
        # JSON has no undefined: like JSON.stringify, list holes become null.
        values = (fn(ctx, scope) for fn in items)
        return [None if v is UNDEFINED else v for v in values]

    return lst


# ---------------------------------------------------------------------------
# @pipe and @reduce

_CompiledRow = tuple[
    str, Any
]  # ("cells", (operator, op_fn, cell_fns)) | ("pipe", fn) | ("reduce", rows)


def _compile_rows(rows: tuple[ast.Row, ...]) -> list[_CompiledRow]:
    compiled: list[_CompiledRow] = []
    for row in rows:
        if isinstance(row, ast.Pipe):
            compiled.append(("pipe", _compile_rows(row.rows)))
        elif isinstance(row, ast.Reduce):
            compiled.append(("reduce", _compile_rows(row.rows)))
        else:
            head = row.cells[0] if row.cells else None
            operator = head.name if isinstance(head, ast.FunctionRef) else None
            cells = [build(c) for c in row.cells]
            compiled.append(("cells", (operator, cells)))
    return compiled


def _pipe(node: ast.Pipe) -> Evaluator:
    rows = _compile_rows(node.rows)
    return lambda ctx, scope: _process(rows, None, ctx, scope)


def _process(
    rows: list[_CompiledRow],
    seed: list[Any] | None,
    ctx: Mapping[str, Any],
    scope: Scope,
) -> Any:
    start = 0
    current = seed
    if seed is None and rows and rows[0][0] == "cells":
        current = [fn(ctx, scope) for fn in rows[0][1][1]]
        start = 1
    queue: list[Any] = []
    for kind, payload in rows[start:]:
        if kind == "reduce":
            if current is not None:
                current = _reduce(payload, current, ctx)
        elif kind == "pipe":
            queue.append(_process(payload, None, ctx, scope))
        else:
            operator, cells = payload
            if queue:
                current, queue = queue, []
            if current is None:
                current = [fn(ctx, scope) for fn in cells]
            elif not cells:
                continue
            else:
                if operator is not None:
                    head = call(operator, current)
                else:
                    # A bare scope variable ({$item}...) in function position
                    # is a lookup; the compiler refuses any other head.
                    head = cells[0](ctx, scope)
                current = [head, *(fn(ctx, scope) for fn in cells[1:])]
    if queue and current is None:
        current = queue
    if not current:
        return UNDEFINED
    return current[0]


def _reduce(
    rows: list[_CompiledRow], current: list[Any], ctx: Mapping[str, Any]
) -> list[Any]:
    collection = current[0] if current else UNDEFINED
    meter = budget.current()
    accumulator = None
    if len(current) > 1:
        # Copying the seed visits all of it (deepcopy: a few NODEs a node).
        meter.spend(budget.input_cost("reduce", [current[1]], meter), "reduce")
        accumulator = copy.deepcopy(current[1])
    if isinstance(collection, list):
        # By index, as JavaScript does: the length is fixed at the start.
        items: list[Any] = collection
        keys: list[str] | None = None
    elif isinstance(collection, dict):
        meter.spend(len(collection) * budget.COPY, "reduce")
        items = list(collection.values())
        keys = list(collection)
    else:
        return [accumulator]
    for index in range(len(items)):
        meter.spend(budget.LAP, "reduce")
        if index >= len(items):
            break  # the body shortened its own $input
        item = items[index]
        key = str(index) if keys is None else keys[index]
        scope = {
            "$input": collection,
            "$output": accumulator,
            "$item": item,
            "$key": key,
            "$index": index,
        }
        accumulator = _process(rows, [accumulator], ctx, scope)
    return [accumulator]
