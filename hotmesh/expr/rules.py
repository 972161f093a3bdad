"""Compiled rules: a manifest value turned into nodes and an evaluator."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from hotmesh import errors
from hotmesh.expr import ast, budget
from hotmesh.expr.evaluate import Evaluator, build
from hotmesh.expr.parser import parse_string

Path = tuple[str | int, ...]


class Rule:
    """A compiled mapping value: evaluate it against a job context."""

    __slots__ = ("_fn", "_metered", "functions", "node", "references", "source")

    def __init__(self, source: Any, node: ast.Node) -> None:
        self.source = source
        self.node = node
        refs: set[str] = set()
        fns: set[str] = set()
        _collect(node, refs, fns)
        self.references: frozenset[str] = frozenset(refs)
        self.functions: frozenset[str] = frozenset(fns)
        self._fn: Evaluator = build(node)
        # A bare reference or literal does no work worth metering.
        self._metered = not isinstance(node, ast.Ref | ast.Literal)

    @property
    def is_constant(self) -> bool:
        """True when the value reads nothing and calls nothing."""
        return not self.references and not self.functions

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The value in ``context``; missing references give ``UNDEFINED``.

        Runs under the evaluation budget (:mod:`hotmesh.expr.budget`).
        """
        if self._metered:
            return budget.metered(self._fn, context, None)
        return self._fn(context, None)

    def __repr__(self) -> str:
        return f"Rule({self.source!r})"


class MapRule(Rule):
    """A compiled map block; ``evaluate`` returns a dict without undefined values.

    Keys are kept verbatim, including ``key[n]``, ``key[-]`` and ``key[_]``
    suffixes, which the engine's job-data writer interprets.
    """

    __slots__ = ()

    def evaluate(self, context: Mapping[str, Any]) -> dict[str, Any]:
        """The mapped object."""
        value = budget.metered(self._fn, context, None)
        return value if isinstance(value, dict) else {}


def compile(value: Any) -> Rule:
    """Compile any mapping value.

    Raises:
        ExpressionSyntaxError, UnknownFunctionError: with ``.path`` locating the
            failing string inside ``value``.
    """
    return Rule(value, to_node(value, ()))


def compile_map(block: Mapping[str, Any]) -> MapRule:
    """Compile a map block (a dict of key → mapping value)."""
    if not isinstance(block, Mapping):
        raise errors.ExpressionError("a map block must be an object")
    return MapRule(dict(block), to_node(dict(block), ()))


def to_node(value: Any, path: Path) -> ast.Node:
    """Parse a manifest value into a node, locating errors by ``path``."""
    if isinstance(value, str):
        try:
            return parse_string(value)
        except errors.ExpressionError as exc:
            exc.path = path
            raise
    if isinstance(value, dict):
        if "@pipe" in value:
            return _pipe(value["@pipe"], (*path, "@pipe"))
        items = tuple((str(k), to_node(v, (*path, str(k)))) for k, v in value.items())
        return ast.ObjectNode(items)
    if isinstance(value, list):
        return ast.ListNode(tuple(to_node(v, (*path, i)) for i, v in enumerate(value)))
    return ast.Literal(value)


def _pipe(rows: Any, path: Path) -> ast.Pipe:
    return ast.Pipe(_rows(rows, path))


#: The scope variables upstream accepts in a row's function position (a lookup).
_SCOPE_HEADS = frozenset({"$input", "$output", "$item", "$key", "$index"})


def _rows(rows: Any, path: Path, seeded: bool = False) -> tuple[ast.Row, ...]:
    """A pipe's rows. ``seeded`` (a ``@reduce`` body) has no row of values:
    every list row there applies a function, as after a pipe's first row."""
    if not isinstance(rows, list):
        exc = errors.ExpressionSyntaxError(
            str(rows)[:60], 1, "@pipe must be a list of rows"
        )
        exc.path = path
        raise exc
    out: list[ast.Row] = []
    # Mirrors the evaluator: a list row holds values only while nothing came
    # before it; after that (or after nested pipes) its first cell is applied.
    have = seeded
    queued = False
    for i, row in enumerate(rows):
        here = (*path, i)
        if isinstance(row, dict) and "@pipe" in row:
            out.append(_pipe(row["@pipe"], (*here, "@pipe")))
            queued = True
        elif isinstance(row, dict) and "@reduce" in row:
            out.append(ast.Reduce(_rows(row["@reduce"], (*here, "@reduce"), True)))
        elif isinstance(row, list):
            cells = tuple(_cell(c, (*here, j)) for j, c in enumerate(row))
            if have or queued:
                _check_head(row, cells, here)
            have, queued = True, False
            out.append(ast.Cells(cells))
        else:
            exc = errors.ExpressionSyntaxError(
                str(row)[:60],
                1,
                "a @pipe row must be a list, {'@pipe': ...} or {'@reduce': ...}",
            )
            exc.path = here
            raise exc
    return tuple(out)


def _check_head(row: list[Any], cells: tuple[ast.Node, ...], here: Path) -> None:
    """A row that applies its first cell: a function reference, or one of the
    bare scope variables (upstream throws at run time on anything else)."""
    head = cells[0] if cells else None
    if isinstance(head, ast.FunctionRef):
        return
    if isinstance(head, ast.Ref) and head.root in _SCOPE_HEADS and not head.segments:
        return
    shown = repr(row[0]) if row else "an empty row"
    exc = errors.ExpressionError(
        f"this @pipe row applies its first cell to the row above, but {shown} is "
        "not a function reference such as '{@string.concat}' (or a bare "
        "{$input}/{$output}/{$item}/{$key}/{$index}); put a value in a row of "
        "its own: {'@pipe': [[value]]}"
    )
    exc.path = (*here, 0) if row else here
    raise exc


def _cell(value: Any, path: Path) -> ast.Node:
    # Inside a pipe, objects and lists are literal operands, not nested maps.
    if isinstance(value, dict | list):
        return ast.Literal(value)
    return to_node(value, path)


def _collect(node: ast.Node | ast.Row, refs: set[str], fns: set[str]) -> None:
    if isinstance(node, ast.Ref):
        refs.add(node.dotted)
    elif isinstance(node, ast.FunctionRef):
        fns.add(node.name)
    elif isinstance(node, ast.Interpolation):
        for part in node.parts:
            if not isinstance(part, builtins.str):
                _collect(part, refs, fns)
    elif isinstance(node, ast.Pipe | ast.Reduce):
        for row in node.rows:
            _collect(row, refs, fns)
    elif isinstance(node, ast.Cells):
        for cell in node.cells:
            _collect(cell, refs, fns)
    elif isinstance(node, ast.ObjectNode):
        for _key, value in node.items:
            _collect(value, refs, fns)
    elif isinstance(node, ast.ListNode):
        for value in node.items:
            _collect(value, refs, fns)
