"""Expression fuzzing: any rule, map block or string over any context evaluates to a
storable value or raises a hotmesh ExpressionError; nothing else escapes.

CI runs 600 cases; ``HOTMESH_LONG=1`` runs 12,000 (10,000 rules and pipes,
1,000 map blocks, 1,000 raw expression strings), each against its own context.
The 5,000-example property test in ``tests/unit/expr`` runs too.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotmesh import errors, expr
from hotmesh.engine.context import plain
from hotmesh.engine.payload import json_problem
from hotmesh.store.codec import dumps as _dumps
from tests.fuzz.runs import examples
from tests.long import LONG_ONLY, sized
from tests.unit.expr.test_properties import cells, contexts, rules

RULES = sized(400, 10_000)
MAPS = sized(100, 1000)
STRINGS = sized(100, 1000)


def storable(value: Any) -> None:
    """What the engine would write: UNDEFINED dropped, then jsonb-encodable."""
    value = plain(value)
    assert json_problem(value) is None, (value, json_problem(value))
    _dumps(value)


def evaluate(compiled: Any, context: dict[str, Any], source: Any) -> None:
    # Functions such as @array.push mutate their operands (JS semantics).
    try:
        value = compiled.evaluate(copy.deepcopy(context))
    except errors.ExpressionError as exc:
        assert str(exc)
        return
    if json_problem(source) is None and json_problem(context) is None:
        # Storable in, storable out (a NUL in a manifest or input is refused
        # where it enters, see tests/fuzz/test_payloads.py).
        storable(value)


@examples(RULES)
@given(rule=rules, context=contexts)
def test_rules_evaluate_to_storable_values_or_raise_expression_errors(
    rule: Any, context: dict[str, Any]
) -> None:
    try:
        compiled = expr.compile(rule)
    except errors.ExpressionError as exc:
        assert str(exc)
        return
    evaluate(compiled, context, rule)


@examples(MAPS)
@given(
    block=st.dictionaries(
        st.text(alphabet="ab[]-_0.", max_size=6), st.one_of(cells, rules), max_size=4
    ),
    context=contexts,
)
def test_map_blocks_evaluate_or_raise_expression_errors(
    block: dict[str, Any], context: dict[str, Any]
) -> None:
    try:
        compiled = expr.compile_map(block)
    except errors.ExpressionError as exc:
        assert str(exc)
        return
    evaluate(compiled, context, block)


@examples(STRINGS)
@given(
    text=st.text(alphabet="{}@$.'\"()[],:ab1 \\-+*/|\x00é🙂", max_size=30),
    context=contexts,
)
def test_raw_expression_strings_evaluate_or_raise_expression_errors(
    text: str, context: dict[str, Any]
) -> None:
    try:
        value = expr.resolve(text, copy.deepcopy(context))
    except errors.ExpressionError as exc:
        assert str(exc)
        return
    plain(value)


@pytest.mark.long
@LONG_ONLY
def test_the_long_run_covers_10000_expressions() -> None:
    assert RULES + MAPS + STRINGS >= 10_000
