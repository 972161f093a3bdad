"""Property tests: any rule over any JSON context either evaluates or raises ours."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotmesh import errors, expr
from hotmesh.expr.functions import registry
from tests.unit.expr.functions._call import same

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
segments = st.sampled_from(
    ["a1", "output", "data", "x", "0", "1", "length", "$self", "items", "-k"]
)
references = st.lists(segments, min_size=1, max_size=5).map(
    lambda s: "{" + ".".join(s) + "}"
)


def _pure_names() -> list[str]:
    # Read when first drawn, after the conftest stand-ins are registered.
    return sorted(spec.name for spec in registry.REGISTRY.values() if spec.pure) or [
        "missing.fn"
    ]


functions = st.deferred(
    lambda: st.sampled_from(_pure_names()).map(lambda n: "{@" + n + "}")
)
brace_noise = st.text(alphabet="{}@$.ab1 \\-", max_size=14)
cells = st.one_of(json_scalars, references, functions, brace_noise)
rows = st.lists(cells, min_size=0, max_size=4)
pipes = st.recursive(
    st.lists(rows, min_size=1, max_size=4).map(lambda r: {"@pipe": r}),
    lambda inner: st.lists(
        st.one_of(
            rows, inner, st.lists(rows, max_size=3).map(lambda r: {"@reduce": r})
        ),
        min_size=1,
        max_size=4,
    ).map(lambda r: {"@pipe": r}),
    max_leaves=8,
)
rules = st.one_of(
    cells,
    pipes,
    st.dictionaries(st.text(max_size=5), st.one_of(cells, pipes), max_size=3),
)
contexts = st.fixed_dictionaries(
    {
        "a1": st.fixed_dictionaries(
            {"output": st.fixed_dictionaries({"data": json_values})}
        )
    },
    optional={"data": json_values, "metadata": json_values, "$self": json_values},
)


# 5,000 examples took 121-134 s on this 2-core machine while it was loaded,
# past pytest's 120 s default
@pytest.mark.timeout(600)
@settings(max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck))
@given(rule=rules, context=contexts)
def test_resolving_raises_only_expression_errors_and_is_deterministic(
    rule: Any, context: dict[str, Any]
) -> None:
    try:
        compiled = expr.compile(rule)
    except errors.ExpressionError:
        return
    # Functions such as @array.push mutate their operands (JS semantics), so
    # each run gets its own copy of the context.
    try:
        first = compiled.evaluate(copy.deepcopy(context))
    except errors.ExpressionError:
        return
    second = compiled.evaluate(copy.deepcopy(context))
    assert same(first, second)
