"""Transition.passes (spec §2.5) and the Plan look-up helpers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import FrozenInstanceError
from typing import Any, cast

import pytest

from hotmesh.compiler.plan import (
    ActivityPlan,
    GraphPlan,
    HookRule,
    Match,
    Plan,
    Transition,
)


class Path:
    """A minimal Rule: reads a dotted path from the context (enough for passes)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        node: Any = context
        for part in self.path.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        return node


def match(expected: Any, path: str) -> Match:
    return Match(expected=expected, actual=cast(Any, Path(path)))


CTX = {"a": {"output": {"data": {"n": 1, "s": "1", "ok": True, "ref": "{a.x}"}}}}


@pytest.mark.parametrize("code", [200, 202, 500, 422])
def test_unconditional_edge_fires_for_every_code(code: int) -> None:
    assert Transition(to="b").passes(code, CTX)


def test_conditional_edge_without_match_filters_on_code() -> None:
    edge = Transition(to="b", unconditional=False)
    assert edge.passes(200, CTX)
    assert not edge.passes(500, CTX)
    multi = Transition(to="b", code=(200, 596), unconditional=False)
    assert multi.passes(596, CTX) and not multi.passes(202, CTX)


def test_match_is_strict_and_type_sensitive() -> None:
    def edge(m: Match) -> Transition:
        return Transition(to="b", unconditional=False, match=(m,))

    assert edge(match(1, "a.output.data.n")).passes(200, CTX)
    assert not edge(match("1", "a.output.data.n")).passes(200, CTX)
    assert not edge(match(1, "a.output.data.s")).passes(200, CTX)
    assert not edge(match(1, "a.output.data.ok")).passes(200, CTX)
    assert edge(match(True, "a.output.data.ok")).passes(200, CTX)


def test_expected_is_a_literal_never_resolved() -> None:
    edge = Transition(
        to="b", unconditional=False, match=(match("{a.x}", "a.output.data.ref"),)
    )
    assert edge.passes(200, CTX)
    resolved = Transition(
        to="b", unconditional=False, match=(match(1, "a.output.data.ref"),)
    )
    assert not resolved.passes(200, CTX)


def test_matching_conditions_still_need_the_code() -> None:
    edge = Transition(to="b", unconditional=False, match=(match(1, "a.output.data.n"),))
    assert not edge.passes(500, CTX)


def test_gate_and_needs_all_gate_or_needs_any() -> None:
    rows = (match(1, "a.output.data.n"), match(2, "a.output.data.n"))
    assert not Transition(to="b", unconditional=False, match=rows).passes(200, CTX)
    assert Transition(to="b", unconditional=False, gate="or", match=rows).passes(
        200, CTX
    )
    none = (match(5, "a.output.data.n"), match(6, "a.output.data.n"))
    assert not Transition(to="b", unconditional=False, gate="or", match=none).passes(
        200, CTX
    )


def _plan() -> Plan:
    acts = {
        "t": ActivityPlan(id="t", type="trigger", graph="g.one", trigger="t"),
        "w": ActivityPlan(
            id="w",
            type="worker",
            graph="g.one",
            trigger="t",
            parent="t",
            ancestors=("t",),
            depth=1,
        ),
    }
    rule = HookRule("sig", "w", cast(Any, Path("x")), cast(Any, Path("y")))
    return Plan(
        app_id="app",
        version="1",
        graphs=(GraphPlan(subscribes="g.one", trigger="t", activity_ids=("t", "w")),),
        activities=acts,
        hooks={"sig": (rule,)},
    )


def test_plan_lookups() -> None:
    plan = _plan()
    graph = plan.graph_for_topic("g.one")
    assert graph is not None and graph.trigger == "t"
    assert plan.graph_for_topic("nope") is None
    assert plan.activity("w").ancestors == ("t",)
    assert plan.graph_of("w") is graph
    assert plan.hook_rule("sig") is not None and plan.hook_rule("other") is None
    with pytest.raises(KeyError):
        plan.activity("missing")


def test_plan_objects_are_frozen() -> None:
    plan = _plan()
    with pytest.raises(FrozenInstanceError):
        plan.app_id = "other"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        plan.activity("w").parent = "x"  # type: ignore[misc]
