"""Pure control-flow logic: retry policies, dimensions, cycles, 202 re-entry, interrupts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hotmesh import errors
from hotmesh.compiler import compile_source
from hotmesh.engine import step
from hotmesh.engine.retry import RetryPolicy, message_policy, seconds, yaml_delay
from hotmesh.engine.run import dims, reentry_dad
from hotmesh.store.records import JobRow

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (5, 5.0),
        ("5s", 5.0),
        ("1.5 minutes", 90.0),
        ("30 days", 2_592_000.0),
        ("250ms", 0.25),
        ("2h", 7200.0),
    ],
)
def test_durations(text: object, expected: float) -> None:
    assert seconds(text) == expected


@pytest.mark.parametrize("bad", ["soon", -1, True, None, "5 parsecs"])
def test_bad_durations_are_config_errors(bad: object) -> None:
    with pytest.raises(errors.ConfigError):
        seconds(bad)


def test_structured_backoff_grows_then_caps_then_stops() -> None:
    policy = RetryPolicy.from_options(
        {
            "maximum_attempts": 5,
            "initial_interval": "1s",
            "backoff_coefficient": 3,
            "maximum_interval": 5,
        }
    )
    assert [policy.delay(k) for k in range(1, 6)] == [1.0, 3.0, 5.0, 5.0, None]


def test_camel_case_policies_ride_on_messages() -> None:
    policy = message_policy({"maximumAttempts": 2, "initialInterval": 0.5, "x": 1})
    assert policy == RetryPolicy(2, 10.0, 0.5, 120.0)
    assert message_policy({"x": 1}) is None
    assert message_policy({"maximumAttempts": "many"}) is None


def test_yaml_retry_is_capped_at_three() -> None:
    assert [yaml_delay(5, t) for t in range(4)] == [0.01, 0.1, 1.0, None]
    assert yaml_delay(None, 0) is None


def test_reentry_dimensions() -> None:
    assert dims(",0,3,0") == ["0", "3", "0"]
    assert reentry_dad(",0,0", 2) == ",0,2"


LOOP = """
app:
  id: u
  version: '1'
  graphs:
    - subscribes: go
      activities:
        t: {type: trigger}
        p: {type: hook, cycle: true}
        w: {type: worker, topic: work}
        c: {type: cycle, ancestor: p}
      transitions:
        t: [{to: p}]
        p: [{to: w}]
        w:
          - to: c
            conditions: {code: 500}
"""
PLAN = compile_source(LOOP)


def _merge(job: JobRow, commit: step.StepCommit) -> JobRow:
    rows = {(r.activity_id, r.dimension): r for r in job.activities}
    rows.update({(r.activity_id, r.dimension): r for r in commit.activities})
    return JobRow(
        commit.job.pk,
        commit.job.job_id,
        commit.job.gid,
        commit.job.key,
        commit.job.topic,
        commit.job.version,
        job.status + commit.delta,
        commit.job.metadata,
        commit.job.data,
        commit.job.err,
        list(rows.values()),
    )


def _respond(job: JobRow, dad: str, code: int) -> step.StepCommit:
    md = {"jid": job.job_id, "gid": job.gid, "aid": "w", "dad": dad}
    return step.apply(PLAN, job, "response", {"metadata": md, "code": code}, NOW)


def test_a_cycle_reenters_its_pivot_in_the_next_dimension() -> None:
    first = step.trigger(PLAN, PLAN.graphs[0], {}, NOW)
    job = _merge(JobRow(0, "", "", "", "", "", 0, {}, {}), first)
    job.status = first.delta
    assert [m.payload["metadata"]["dad"] for m in first.messages] == [",0,0,0"]
    # -> cycle -> pivot again -> worker: a step's first lap runs inline, so a
    # lap that waited on a worker costs no extra step
    again = _respond(job, ",0,0,0", 500)
    assert [m.payload["metadata"]["dad"] for m in again.messages] == [",0,1,0"]
    assert [m.type for m in again.messages] == ["worker"] and again.delta == 0
    job = _merge(job, again)
    third = _respond(job, ",0,1,0", 500)
    assert [m.payload["metadata"]["dad"] for m in third.messages] == [",0,2,0"]
    done = _respond(_merge(job, third), ",0,2,0", 200)
    assert done.completion is not None and done.messages == []


TIGHT = compile_source(
    """
app:
  id: tight
  version: '1'
  graphs:
    - subscribes: tight.start
      activities:
        t: {type: trigger}
        p: {type: hook, cycle: true}
        c: {type: cycle, ancestor: p}
      transitions:
        t: [{to: p}]
        p: [{to: c}]
"""
)


def test_a_loop_with_no_wait_yields_from_its_second_lap() -> None:
    first = step.trigger(TIGHT, TIGHT.graphs[0], {}, NOW)
    # lap 1 ran inline in the trigger's step; lap 2 is a message of its own
    (message,) = first.messages
    assert message.type == "transition"
    assert message.payload["metadata"]["aid"] == "p"
    assert message.payload["metadata"]["dad"] == ",0,2"
    job = _merge(JobRow(0, "", "", "", "", "", 0, {}, {}), first)
    job.status = first.delta
    lap = step.apply(TIGHT, job, "transition", message.payload, NOW)
    (again,) = lap.messages
    assert again.type == "transition" and again.payload["metadata"]["dad"] == ",0,4"


def test_the_cycle_cap_raises() -> None:
    first = step.trigger(PLAN, PLAN.graphs[0], {}, NOW)
    job = _merge(JobRow(0, "", "", "", "", "", 0, {}, {}), first)
    job.status = first.delta
    job = _merge(job, _respond(job, ",0,0,0", 500))
    md = {"jid": job.job_id, "gid": job.gid, "aid": "w", "dad": ",0,1,0"}
    with pytest.raises(errors.HotMeshError, match="more than 1 times"):
        step.apply(
            PLAN, job, "response", {"metadata": md, "code": 500}, NOW, max_cycles=1
        )


def test_the_step_budget_fails_a_job_that_never_ends() -> None:
    first = step.trigger(PLAN, PLAN.graphs[0], {}, NOW)
    job = _merge(JobRow(0, "", "", "", "", "", 0, {}, {}), first)
    job.status = first.delta
    dad = ",0,0,0"
    for lap in range(1, 6):  # steps 2..6 of a budget of 6
        job = _merge(job, _respond(job, dad, 500))
        dad = f",0,{lap},0"
    md = {"jid": job.job_id, "gid": job.gid, "aid": "w", "dad": dad}
    over = step.apply(
        PLAN, job, "response", {"metadata": md, "code": 500}, NOW, max_steps=6
    )
    assert over.completion is not None and job.status + over.delta == 0
    assert "more than 6 steps (the max_steps limit)" in (over.job.err or "")


def test_interrupt_closes_the_job_with_a_410_error() -> None:
    first = step.trigger(PLAN, PLAN.graphs[0], {}, NOW)
    job = _merge(JobRow(0, "", "", "", "", "", 0, {}, {}), first)
    job.status = first.delta
    commit = step.interrupt(PLAN, job, {"reason": "stop"}, NOW)
    assert job.status + commit.delta == step.INTERRUPTED
    assert commit.completion is not None
    assert '"code":410' in (commit.job.err or "") and '"message":"stop"' in (
        commit.job.err or ""
    )
    assert commit.cancel_escalations
    late = _respond(_merge(job, commit), ",0,0,0", 200)
    assert late.dropped == "job is not active"


def test_interrupt_without_throw_records_no_error() -> None:
    first = step.trigger(PLAN, PLAN.graphs[0], {}, NOW)
    job = _merge(JobRow(0, "", "", "", "", "", 0, {}, {}), first)
    job.status = first.delta
    commit = step.interrupt(PLAN, job, {"throw": False, "expire": 60}, NOW)
    assert commit.job.err is None and commit.completion is not None
    assert commit.completion.expire == 60.0


def test_pending_trigger_writes_no_children() -> None:
    commit = step.trigger(PLAN, PLAN.graphs[0], {}, NOW, pending=30)
    assert commit.delta == -1 and commit.messages == [] and commit.expire == 30.0
    assert commit.completion is None
