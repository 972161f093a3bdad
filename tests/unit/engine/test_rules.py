"""Activity rules end to end on the pure harness (no database): ``await`` and
the child's result, ``signal`` activities, hook signals (before and after the
hook registers, and against a ``sleep``), escalations, and a child that cannot
start."""

from __future__ import annotations

from typing import Any

from tests.unit.engine.harness import Harness

FAMILY = """
app:
  id: family
  version: '1'
  graphs:
    - subscribes: parent.go
      publishes: parent.done
      activities:
        p:
          type: trigger
          stats: {id: '{$self.input.data.id}'}
        call:
          type: await
          topic: '{p.output.data.child}'
          input: {maps: {n: '{p.output.data.n}'}}
          job: {maps: {got: '{$self.output.data.doubled}'}}
      transitions:
        p: [{to: call}]
    - subscribes: child.go
      activities:
        c: {type: trigger}
        w:
          type: worker
          topic: double
          input: {maps: {n: '{c.output.data.n}'}}
          job: {maps: {doubled: '{$self.output.data.n2}'}}
      transitions:
        c: [{to: w}]
"""

GATE = """
app:
  id: gate
  version: '1'
  graphs:
    - subscribes: gate.open
      activities:
        t:
          type: trigger
          stats: {id: '{$self.input.data.id}'}
        wait:
          type: hook
          sleep: 60
          escalation:
            role: approver
            type: review
            priority: 2
          job:
            maps:
              approved: '{$self.hook.data.approved}'
      transitions:
        t: [{to: wait}]
      hooks:
        gate.decided:
          - to: wait
            conditions:
              match:
                - expected: '{$job.metadata.jid}'
                  actual: '{$self.hook.data.id}'
    - subscribes: gate.approve
      activities:
        a: {type: trigger}
        send:
          type: signal
          topic: gate.decided
          signal:
            maps:
              id: '{a.output.data.target}'
              approved: true
      transitions:
        a: [{to: send}]
"""


def _double(message: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"n2": message["data"]["n"] * 2}}


def test_await_starts_the_child_and_its_result_resumes_the_parent() -> None:
    h = Harness.of(FAMILY, double=_double)
    parent = h.start("parent.go", {"id": "p1", "child": "child.go", "n": 21})
    assert h.calls[0][0] == "double" and h.calls[0][1]["data"] == {"n": 21}
    children = [j for j in h.jobs if j != parent]
    assert len(children) == 1
    child = h.jobs[children[0]]
    # the child knows its parent (the terse metadata keys upstream uses)
    assert child.metadata["pj"] == parent
    assert h.outputs[parent]["data"] == {"got": 42}
    assert h.jobs[parent].status == 0 and h.jobs[parent].err is None
    # the parent resumed on the child's result message
    assert (parent, "result") in h.trace


def test_a_child_that_fails_fails_its_awaiting_parent() -> None:
    h = Harness.of(
        FAMILY,
        double={"status": "error", "code": 500, "data": {"message": "boom"}},
    )
    parent = h.start("parent.go", {"id": "p2", "child": "child.go", "n": 1})
    assert h.jobs[parent].status <= 0
    assert "boom" in (h.jobs[parent].err or "")


def test_an_await_on_a_topic_nobody_subscribes_answers_404() -> None:
    h = Harness.of(FAMILY, double=_double)
    parent = h.start("parent.go", {"id": "p3", "child": "no.such.graph", "n": 1})
    assert h.calls == []  # no child ran
    assert h.jobs[parent].status <= 0
    err = h.jobs[parent].err or ""
    assert "no graph subscribed to 'no.such.graph'" in err and "404" in err


def test_a_signal_resumes_the_hook_waiting_on_its_key() -> None:
    h = Harness.of(GATE)
    job = h.start("gate.open", {"id": "g1"})
    assert h.jobs[job].status > 0  # waiting
    assert f"gate.decided:{job}" in h.hooks
    assert h.signal("gate.decided", {"id": "other", "approved": True}) is None
    assert h.jobs[job].status > 0  # another key: still waiting
    assert h.signal("gate.decided", {"id": job, "approved": True}) == job
    assert h.outputs[job]["data"] == {"approved": True}
    assert f"gate.decided:{job}" not in h.hooks  # the registration is spent


def test_a_signal_before_its_hook_is_kept_and_delivered_on_registration() -> None:
    h = Harness.of(GATE)
    assert h.signal("gate.decided", {"id": "g2", "approved": False}) is None
    assert "gate.decided:g2" in h.kept
    job = h.start("gate.open", {"id": "g2"})
    assert job == "g2"
    assert h.outputs[job]["data"] == {"approved": False}
    assert h.kept == {}


def test_a_signal_activity_resumes_another_jobs_hook() -> None:
    h = Harness.of(GATE)
    waiting = h.start("gate.open", {"id": "g3"})
    sender = h.start("gate.approve", {"target": waiting})
    assert h.outputs[sender]["metadata"]["js"] == 0  # the sender completed
    assert h.outputs[waiting]["data"] == {"approved": True}


def test_the_hook_sleep_fires_when_no_signal_comes() -> None:
    h = Harness.of(GATE)
    job = h.start("gate.open", {"id": "g4"})
    started = h.now
    h.run()
    assert h.jobs[job].status > 0 and (job, "timehook") not in h.trace
    h.tick()  # nothing else is due: time moves to the timer
    assert (job, "timehook") in h.trace
    assert (h.now - started).total_seconds() == 60
    assert job in h.outputs and "approved" not in h.outputs[job].get("data", {})
    # the timeout took the registration away: a late signal finds no hook
    assert f"gate.decided:{job}" not in h.hooks


def test_a_waiting_hook_opens_an_escalation_that_resolving_resumes() -> None:
    h = Harness.of(GATE)
    job = h.start("gate.open", {"id": "g5"})
    [row] = h.escalations
    assert row["workflow_id"] == job and row["topic"] == "gate.decided"
    assert row["signal_key"] == job
    assert (row["role"], row["type"], row["priority"]) == ("approver", "review", 2)
    assert h.resolve(row, {"approved": True}) == job
    assert h.outputs[job]["data"] == {"approved": True}
    assert h.escalations == []
