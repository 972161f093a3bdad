"""Why this branch: the transitions record is what ``passes`` decides, with the
compared values, short-circuit kept, capped; the trigger's step records it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hotmesh.compiler import compile_source
from hotmesh.engine import explain, step

APP = """
app:
  id: why
  version: '1'
  graphs:
    - subscribes: go
      activities:
        t: {type: trigger}
        big: {type: hook}
        small: {type: hook}
        either: {type: hook}
        failed: {type: hook}
        always: {type: hook}
      transitions:
        t:
          - to: big
            conditions:
              match:
                - {expected: true, actual: '{t.output.data.big}'}
                - {expected: 'eu', actual: '{t.output.data.region}'}
          - to: small
            conditions:
              match:
                - {expected: false, actual: '{t.output.data.big}'}
          - to: either
            conditions:
              gate: or
              match:
                - {expected: 1, actual: '{t.output.data.n}'}
                - {expected: 2, actual: '{t.output.data.n}'}
          - to: failed
            conditions:
              code: [500]
          - to: always
"""
PLAN = compile_source(APP)
TRIGGER = PLAN.activity("t")
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _ctx(data: dict[str, Any]) -> dict[str, Any]:
    return {"t": {"output": {"data": data}}}


def _by_target(record: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    assert record is not None
    return {t["to"]: t for t in record["transitions"]}


def test_children_are_what_passes_decides() -> None:
    for data in (
        {"big": True, "region": "eu", "n": 2},
        {"big": False, "n": 1},
        {"big": True, "region": "us", "n": 3},
        {},
    ):
        for code in (200, 500):
            children, record = explain.take(TRIGGER.transitions, code, _ctx(data))
            expected = [t.to for t in TRIGGER.transitions if t.passes(code, _ctx(data))]
            assert children == expected
            assert record is not None and record["code"] == code
            fired = [t["to"] for t in record["transitions"] if t["fired"]]
            assert fired == expected


def test_record_holds_the_compared_values() -> None:
    _, record = explain.take(
        TRIGGER.transitions, 200, _ctx({"big": True, "region": "us", "n": 2})
    )
    by = _by_target(record)
    assert by["big"] == {
        "to": "big",
        "fired": False,  # no "gate": "and" is the default
        "match": [
            {"expected": True, "actual": True, "ok": True},
            {"expected": "eu", "actual": "us", "ok": False},
        ],
    }
    assert by["small"]["match"] == [{"expected": False, "actual": True, "ok": False}]
    assert by["either"]["fired"] is True and by["either"]["gate"] == "or"
    assert by["failed"] == {"to": "failed", "fired": False, "codes": [500]}
    assert by["always"] == {"to": "always", "fired": True}


def test_short_circuit_is_kept_and_undefined_has_no_actual() -> None:
    # 'and': the first condition fails, so the second is not evaluated
    _, record = explain.take(TRIGGER.transitions, 200, _ctx({"n": 1}))
    by = _by_target(record)
    assert by["big"]["match"] == [
        {"expected": True, "ok": False},  # t.output.data.big is undefined
        {"expected": "eu", "skipped": True},
    ]
    # 'or': the first condition holds, so the second is not evaluated
    assert by["either"]["match"] == [
        {"expected": 1, "actual": 1, "ok": True},
        {"expected": 2, "skipped": True},
    ]


def test_values_are_capped() -> None:
    long = "x" * 1000
    assert explain.cap(long) == "x" * explain.MAX_TEXT + "…"
    assert explain.cap({"a": [1] * 500}).startswith('{"a":[1,1')
    assert len(explain.cap({"a": [1] * 500})) == explain.MAX_TEXT + 1
    assert explain.cap({"a": 1}) == {"a": 1}
    assert explain.cap(3.5) == 3.5
    _, record = explain.take(TRIGGER.transitions, 200, _ctx({"big": long}))
    assert _by_target(record)["small"]["match"][0]["actual"] == explain.cap(long)


def test_no_transitions_no_record() -> None:
    assert explain.take((), 200, {}) == ([], None)
    assert explain.lines(None) == []


def test_lines_read_the_record() -> None:
    _, record = explain.take(
        TRIGGER.transitions, 200, _ctx({"big": True, "region": "us", "n": 1})
    )
    assert explain.lines(record) == [
        '-> big: not fired (actual true == expected true and actual "us" != expected "eu")',
        "-> small: not fired (actual true != expected false)",
        "-> either: fired (actual 1 == expected 1 or expected 2: not evaluated)",
        "-> failed: not fired (code 200 not in [500])",
        "-> always: fired (no conditions)",
    ]


def test_the_trigger_step_records_why_on_its_row() -> None:
    commit = step.trigger(
        PLAN, PLAN.graphs[0], {"big": False, "n": 2}, NOW, job_id="j1"
    )
    row = next(r for r in commit.activities if r.activity_id == "t")
    by = _by_target(row.why)
    assert by["small"]["fired"] is True
    assert by["big"]["fired"] is False
    assert by["small"]["match"] == [{"expected": False, "actual": False, "ok": True}]
