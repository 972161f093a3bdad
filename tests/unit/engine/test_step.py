"""The pure step: trigger, run-ahead Leg 1, worker Leg 2, fan-in, errors, job-data writer."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from hotmesh.compiler import compile_source
from hotmesh.engine import step
from hotmesh.engine.commit import StepDraft
from hotmesh.engine.context import public_data, write_job_data
from hotmesh.expr.js import UNDEFINED
from hotmesh.store.records import ENGINE_STREAM, JobRow

NOW = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
APP = """
app:
  id: unit
  version: '1'
  graphs:
    - subscribes: go
      expire: 30
      activities:
        t:
          type: trigger
          stats: {id: '{$self.input.data.id}'}
          job: {maps: {id: '{$self.output.data.id}'}}
        h:
          type: hook
          output: {maps: {x: 1}}
          job: {maps: {hooked: '{$self.output.data.x}'}}
        w1:
          type: worker
          topic: left
          input: {maps: {v: '{t.output.data.v}'}}
          job: {maps: {l: '{$self.output.data.r}'}}
        w2:
          type: worker
          topic: right
          job: {maps: {r: '{$self.output.data.r}'}}
      transitions:
        t: [{to: h}]
        h: [{to: w1}, {to: w2}]
"""
PLAN = compile_source(APP)
GRAPH = PLAN.graphs[0]


def _apply(
    job: JobRow, commit: step.StepCommit, aid: str, **response: object
) -> step.StepCommit:
    job.status += commit.delta
    job.data, job.metadata, job.err = (
        commit.job.data,
        commit.job.metadata,
        commit.job.err,
    )
    rows = {(r.activity_id, r.dimension): r for r in job.activities}
    rows.update({(r.activity_id, r.dimension): r for r in commit.activities})
    job.activities = list(rows.values())
    md = {"jid": job.job_id, "gid": job.gid, "aid": aid, "dad": ",0,0,0"}
    return step.apply(PLAN, job, "response", {"metadata": md, **response}, NOW)


def test_trigger_runs_ahead_through_the_hook_to_both_workers() -> None:
    commit = step.trigger(PLAN, GRAPH, {"id": "j1", "v": 7}, NOW)
    assert commit.new_job and commit.job.job_id == "j1"
    assert commit.delta == 2  # trigger: 1 child; hook: 2 children - 1
    assert commit.job.data == {"id": "j1", "hooked": 1}
    streams = sorted(m.stream for m in commit.messages)
    assert streams == ["w:left", "w:right"]
    left = next(m for m in commit.messages if m.stream == "w:left")
    assert left.payload["data"] == {"v": 7}
    assert left.payload["metadata"]["dad"] == ",0,0,0"
    dims = {(r.activity_id, r.dimension) for r in commit.activities}
    assert dims == {("t", ",0"), ("h", ",0,0"), ("w1", ",0,0,0"), ("w2", ",0,0,0")}
    assert commit.completion is None


def test_fan_in_completes_on_the_last_branch_only() -> None:
    first = step.trigger(PLAN, GRAPH, {"id": "j2"}, NOW)
    job = JobRow(1, "j2", first.job.gid, "", "go", "1", 0, first.job.metadata, {})
    left = _apply(job, first, "w1", data={"r": "L"})
    assert left.delta == -1 and left.completion is None
    right = _apply(job, left, "w2", data={"r": "R"})
    assert right.delta == -1 and right.completion is not None
    assert right.completion.output["data"] == {
        "id": "j2",
        "hooked": 1,
        "l": "L",
        "r": "R",
    }
    assert right.completion.expire == 30
    again = _apply(job, right, "w2", data={"r": "again"})
    assert again.dropped  # the job is closed: a replay changes nothing


def test_worker_error_without_a_passing_transition_sets_the_job_error() -> None:
    first = step.trigger(PLAN, GRAPH, {"id": "j3"}, NOW)
    job = JobRow(1, "j3", first.job.gid, "", "go", "1", 0, first.job.metadata, {})
    failed = _apply(
        job, first, "w1", status="error", code=403, data={"message": "no", "code": 403}
    )
    assert json.loads(failed.job.err or "") == {
        "message": "no",
        "code": 403,
        "is_stream_error": True,
    }
    assert failed.job.err == '{"message":"no","code":403,"is_stream_error":true}'


def test_generation_mismatch_is_dropped() -> None:
    first = step.trigger(PLAN, GRAPH, {"id": "j4"}, NOW)
    job = JobRow(
        1,
        "j4",
        "other-gid",
        "",
        "go",
        "1",
        2,
        first.job.metadata,
        {},
        activities=first.activities,
    )
    md = {"jid": "j4", "gid": first.job.gid, "aid": "w1", "dad": ",0,0,0"}
    assert step.apply(PLAN, job, "response", {"metadata": md}, NOW).dropped


def test_job_data_writer_suffixes_and_merge() -> None:
    data = write_job_data(
        {"a": {"x": 1}},
        {
            "a": {"y": 2},
            "skip": UNDEFINED,
            "list[3]": {"0": "p", "2": "r"},
            "marks[-]": {"-seen": 1},
            "search[_]": {"_name": "n"},
        },
    )
    assert data == {
        "a": {"x": 1, "y": 2},
        "list": {"0": "p", "2": "r"},
        "-seen": 1,
        "_name": "n",
    }
    assert public_data(data) == {"a": {"x": 1, "y": 2}, "list": {"0": "p", "2": "r"}}


def test_job_output_omits_empty_data() -> None:
    job = JobRow(1, "j", "g", "", "go", "1", 0, {"jid": "j"}, {"-m": 1})
    assert step.job_output(job) == {"metadata": {"jid": "j", "js": 0}}
    assert ENGINE_STREAM == "engine"


def test_trigger_emit_publishes_interim_output() -> None:
    plan = compile_source("""
app:
  id: em
  version: '1'
  graphs:
    - subscribes: go
      publishes: went
      activities:
        t: {type: trigger, emit: true, job: {maps: {a: 1}}}
        w: {type: worker, topic: x}
      transitions:
        t: [{to: w}]
""")
    commit = step.trigger(plan, plan.graphs[0], {}, NOW)
    assert commit.completion is None
    assert commit.emit is not None and commit.emit["data"] == {"a": 1}
    assert commit.emit["metadata"]["js"] == 1


def test_generated_job_ids_have_upstream_shape_and_do_not_repeat() -> None:
    import re

    from hotmesh.engine.step import new_job_id

    ids = {new_job_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"H[A-Za-z0-9_-]{22}", i) for i in ids)


def test_the_step_returns_a_frozen_commit() -> None:
    commit = step.trigger(PLAN, GRAPH, {"id": "j6"}, NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        commit.delta = 0  # type: ignore[misc]
    waiting = commit.with_metadata(ngn="engine-1")
    assert waiting.job.metadata["ngn"] == "engine-1"
    assert "ngn" not in commit.job.metadata  # the original is left as it was
    assert waiting.messages is commit.messages and waiting.delta == commit.delta


def test_a_failed_job_keeps_its_error_and_stores_it_once() -> None:
    first = step.trigger(PLAN, GRAPH, {"id": "j7"}, NOW)
    job = JobRow(1, "j7", first.job.gid, "", "go", "1", 2, first.job.metadata, {})
    job.activities = list(first.activities)
    failed = step.fail(PLAN, job, {"message": "bad", "code": 500}, NOW)
    assert failed.job.err == '{"message":"bad","code":500}'
    assert failed.completion is not None
    assert failed.completion.output["metadata"]["err"] == failed.job.err
    assert job.err is None  # the step works on a copy


def test_freezing_a_draft_keeps_every_field() -> None:
    names = [f.name for f in dataclasses.fields(StepDraft)]
    assert names == [f.name for f in dataclasses.fields(step.StepCommit)]
    values = {name: object() for name in names}
    frozen = StepDraft(**values).freeze()  # type: ignore[arg-type]
    assert all(getattr(frozen, name) is values[name] for name in names)
