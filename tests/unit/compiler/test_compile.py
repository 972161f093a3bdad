"""compile_app: the plan fields the engine reads, built from small manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotmesh import compiler
from hotmesh.errors import ManifestValidationError

ROOT = Path(__file__).resolve().parents[3]


def plan_of(text: str) -> compiler.Plan:
    return compiler.compile_source(text)


def test_order_example_structure() -> None:
    plan = compiler.compile_source(ROOT / "graphs" / "order.yaml")
    assert (plan.app_id, plan.version) == ("orders", "1")
    graph = plan.graph_for_topic("order.requested")
    assert graph is not None
    assert graph.publishes == "order.completed"
    assert graph.trigger == "order"
    assert graph.activity_ids == (
        "order",
        "checkInventory",
        "reserveItem",
        "notifyBackorder",
    )
    assert graph.expire is not None and graph.expire.source == 3600
    assert (
        graph.input_schema is not None and "itemId" in graph.input_schema["properties"]
    )
    check = plan.activity("checkInventory")
    assert check.type == "worker"
    assert (
        check.parent == "order" and check.ancestors == ("order",) and check.depth == 1
    )
    assert check.topic is not None and check.topic.source == "inventory.check"
    assert check.children == ("reserveItem", "notifyBackorder")
    assert all(not t.unconditional and t.code == (200,) for t in check.transitions)
    assert [t.match[0].expected for t in check.transitions] == [True, False]
    reserve = plan.activity("reserveItem")
    assert reserve.ancestors == ("order", "checkInventory") and reserve.depth == 2
    assert reserve.input_maps is not None and reserve.job_maps is not None
    # expire is bound from the graph onto every activity
    assert reserve.fields["expire"].source == 3600
    assert plan.graph_of("notifyBackorder") is graph
    assert plan.worker_topics() == (
        "inventory.backorder",
        "inventory.check",
        "inventory.reserve",
    )


def test_consumes_and_produces() -> None:
    plan = compiler.compile_source(ROOT / "graphs" / "order.yaml")
    backorder = plan.activity("notifyBackorder")
    assert backorder.consumes["order"] == (
        "output/data/itemId",
        "output/data/orderId",
        "output/data/requestedQty",
    )
    assert backorder.consumes["checkInventory"] == ("output/data/available",)
    # transition conditions are read in the parent's context
    assert "order" in plan.activity("checkInventory").consumes
    assert plan.activity("checkInventory").produces == ("output/data/available",)
    # the trigger's stats.id reads $self.input: never a produced path
    assert all("input" not in p for p in plan.activity("order").produces)
    graph = plan.graphs[0]
    assert graph.produces == (
        "data/orderId",
        "data/available",
        "data/status",
        "data/reservationId",
    )


def test_job_paths_expand_slots_and_skip_marker_fields() -> None:
    plan = plan_of(
        """app:
  id: jp
  version: '1'
  graphs:
    - subscribes: jp
      activities:
        t:
          type: trigger
          job:
            maps:
              plain: 1
              nested:
                deep: 2
                piped:
                  '@pipe':
                    - [3]
              items[3]: '{t.output.data.x}'
              marks[-]: '{t.output.data.y}'
              search[_]: '{t.output.data.z}'
"""
    )
    assert plan.graphs[0].produces == (
        "data/plain",
        "data/nested/deep",
        "data/nested/piped",
        "data/items/0",
        "data/items/1",
        "data/items/2",
    )


CYCLE = """app:
  id: loop
  version: '2'
  settings:
    owner: me
  graphs:
    - subscribes: loop.start
      expire: '{t.output.data.ttl}'
      activities:
        t:
          type: trigger
        pivot:
          type: activity
        w:
          type: worker
          subtype: '{t.output.data.queue}'
          topic: ignored
          retry:
            '500': [3]
            '503': 2
        c:
          type: cycle
          ancestor: pivot
        s:
          type: signal
          subtype: all
          topic: other.topic
          sleep: 5
        h:
          type: hook
      transitions:
        t:
          - to: pivot
        pivot:
          - to: w
          - to: s
          - to: h
        w:
          - to: c
            conditions:
              code: [500, '503']
              gate: or
      hooks:
        wake.up:
          - to: h
            conditions:
              match:
                - expected: '{$job.metadata.jid}'
                  actual: '{$hook.data.id}'
"""


def test_cycles_legacy_types_topics_retry_and_hooks() -> None:
    plan = plan_of(CYCLE)
    assert plan.settings["owner"] == "me"
    pivot = plan.activity("pivot")
    assert pivot.type == "hook"  # legacy 'activity' is rewritten
    assert pivot.cycle_pivot
    assert plan.activity("c").cycle_ancestor == "pivot"
    worker = plan.activity("w")
    assert worker.topic is not None and worker.topic.source == "{t.output.data.queue}"
    assert dict(worker.retry) == {"500": 3, "503": 2}
    assert plan.worker_topics() == ()  # a mapped topic is resolved at run time
    edge = worker.transitions[0]
    assert edge.code == (500, 503) and edge.gate == "or" and not edge.unconditional
    signal = plan.activity("s")
    assert signal.subtype == "all" and signal.topic is not None
    assert signal.fields["sleep"].source == 5
    assert plan.activity("h").hook_topic == "wake.up"
    rule = plan.hook_rule("wake.up")
    assert rule is not None and rule.to == "h"
    assert rule.actual.references == frozenset({"$hook.data.id"})
    # expire may be a mapping; it is compiled once and bound everywhere
    assert plan.activity("w").fields["expire"] is plan.graphs[0].expire


def test_config_and_maps_are_read_only() -> None:
    plan = compiler.compile_source(ROOT / "graphs" / "order.yaml")
    with pytest.raises(TypeError):
        plan.activity("order").config["type"] = "worker"  # type: ignore[index]
    with pytest.raises(TypeError):
        plan.activities["x"] = plan.activity("order")  # type: ignore[index]


def test_compile_raises_with_every_error() -> None:
    text = """app:
  id: bad
  version: '1'
  graphs:
    - subscribes: bad
      activities:
        t:
          type: trigger
          job:
            maps:
              a: '{nope.output.data.a}'
              b: '{$nope}'
      transitions:
        t:
          - to: ghost
"""
    with pytest.raises(ManifestValidationError) as info:
        plan_of(text)
    messages = [p.message for p in info.value.problems]
    assert len(messages) == 3, messages
    assert all(p.line > 0 for p in info.value.problems)


def test_unreachable_activity_is_only_a_warning() -> None:
    text = """app:
  id: orphan
  version: '1'
  graphs:
    - subscribes: orphan
      activities:
        t:
          type: trigger
        lost:
          type: hook
"""
    plan = plan_of(text)
    assert plan.activity("lost").parent is None
    problems = compiler.validate(text)
    assert [p.severity for p in problems] == ["warning"]
    assert "not reachable" in problems[0].message


def test_shortcut_edge_keeps_the_deepest_parent() -> None:
    text = """app:
  id: short
  version: '1'
  graphs:
    - subscribes: short
      activities:
        t:
          type: trigger
        a:
          type: hook
        b:
          type: hook
        c:
          type: hook
      transitions:
        t:
          - to: a
        a:
          - to: c
          - to: b
        b:
          - to: c
"""
    plan = plan_of(text)
    assert plan.activity("c").parent == "b"
    assert plan.activity("c").ancestors == ("t", "a", "b")


def test_back_edge_is_a_second_parent() -> None:
    text = """app:
  id: back
  version: '1'
  graphs:
    - subscribes: back
      activities:
        t:
          type: trigger
        a:
          type: hook
        b:
          type: hook
      transitions:
        t:
          - to: a
        a:
          - to: b
        b:
          - to: a
"""
    problems = compiler.validate(text)
    assert [p.pointer for p in problems] == ["/app/graphs/0/transitions/b/0/to"]
    assert "two parents" in problems[0].message


def test_unknown_activity_type_is_an_error() -> None:
    text = """app:
  id: kinds
  version: '1'
  graphs:
    - subscribes: kinds
      activities:
        t:
          type: trigger
        e:
          type: emit
      transitions:
        t:
          - to: e
"""
    problems = compiler.validate(text)
    assert [p.pointer for p in problems] == ["/app/graphs/0/activities/e/type"]
    assert "unknown type 'emit'" in problems[0].message


def test_graph_expire_overrides_activities_except_interrupt() -> None:
    text = """app:
  id: ex
  version: '1'
  graphs:
    - subscribes: ex
      expire: 60
      activities:
        t:
          type: trigger
        h:
          type: hook
          expire: 5
        i:
          type: interrupt
          expire: 7
      transitions:
        t:
          - to: h
        h:
          - to: i
"""
    plan = plan_of(text)
    assert plan.activity("h").fields["expire"].source == 60
    assert plan.activity("i").fields["expire"].source == 7
    assert plan.activity("t").fields["expire"].source == 60


def test_hook_rule_expected_is_consumed_by_the_hook() -> None:
    plan = compiler.compile_source(ROOT / "graphs" / "approval_loop.yaml")
    decide = plan.activity("decide")
    assert decide.hook_topic == "approval.decided"
    assert decide.consumes["$job"] == ("metadata/jid",)
    # the rule's actual reads the signal payload, not job state
    assert "hook/data/id" not in decide.produces
    assert decide.produces == ("hook/data/approved", "hook/data/reviewer")
    assert plan.activity("ask").cycle_pivot
    assert plan.activity("again").cycle_ancestor == "ask"


def test_reference_into_another_graph_is_a_warning() -> None:
    text = """app:
  id: two
  version: '1'
  graphs:
    - subscribes: one
      activities:
        t1:
          type: trigger
          job:
            maps:
              x: '{t2.output.data.x}'
    - subscribes: two
      activities:
        t2:
          type: trigger
"""
    problems = compiler.validate(text)
    assert [(p.severity, p.pointer) for p in problems] == [
        ("warning", "/app/graphs/0/activities/t1/job/maps/x")
    ]
    assert "another graph" in problems[0].message
    assert "t2" not in plan_of(text).activity("t1").consumes


def test_retry_on_an_await_is_a_warning_only_workers_retry() -> None:
    text = """app:
  id: retries
  version: '1'
  graphs:
    - subscribes: retries
      activities:
        t:
          type: trigger
        w:
          type: worker
          topic: work
          retry: {'500': [2]}
        a:
          type: await
          topic: other
          retry: {'500': [2]}
      transitions:
        t: [{to: w}, {to: a}]
"""
    plan = plan_of(text)
    assert plan.activity("w").retry == {"500": 2}
    problems = compiler.validate(text)
    assert [(p.severity, p.line) for p in problems] == [("warning", 16)]
    assert "no effect on type 'await'" in problems[0].message
    assert problems[0].pointer.endswith("/activities/a/retry")
