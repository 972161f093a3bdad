"""The positional copies of the per-step records match ``dataclasses.replace``
field for field, so a field added to a record cannot be dropped silently."""

from __future__ import annotations

import dataclasses
import uuid

from hotmesh.engine.commit import StepCommit, advance, copy_job, job_with
from hotmesh.engine.dimensions import done_row, with_entries
from hotmesh.ids import uuid4_hex
from hotmesh.store.records import ActivityRow, JobRow, NewMessage, reserve


def _job() -> JobRow:
    row = ActivityRow("t1", ",0", "trigger", 2, True, {"n": 1}, {"data": {"n": 1}})
    return JobRow(
        7, "j1", "g1", "k", "topic", "1", 2, {"jid": "j1"}, {"a": 1}, "e", [row]
    )


def _distinct_values(cls: type) -> dict[str, object]:
    """A value per field that no other field holds (so a swap shows)."""
    return {f.name: f"v-{f.name}" for f in dataclasses.fields(cls)}


def test_job_with_keeps_every_field_in_place() -> None:
    job = JobRow(**_distinct_values(JobRow))  # type: ignore[arg-type]
    assert job_with(job) == job
    for name in ("pk", "status", "metadata", "data", "activities"):
        changed = job_with(job, **{name: f"new-{name}"})  # type: ignore[arg-type]
        assert changed == dataclasses.replace(job, **{name: f"new-{name}"})


def test_copy_job_copies_what_a_step_changes() -> None:
    job = _job()
    copy = copy_job(job)
    assert copy == job
    assert copy.metadata is not job.metadata and copy.data is not job.data
    assert copy.activities is not job.activities


def test_advance_lays_the_step_rows_over_the_job() -> None:
    job = _job()
    row = ActivityRow("a1", ",0,0", "worker", 1, False, {"x": 1}, {})
    later = job_with(job, data={"a": 2})
    commit = StepCommit(job=later, delta=1, activities=[row])
    out = advance(job, commit, pk=9)
    assert out == dataclasses.replace(
        later, pk=9, status=3, activities=[*job.activities, row]
    )
    assert advance(job, commit, status=5).status == 5


def test_with_metadata_replaces_only_the_job_metadata() -> None:
    values = _distinct_values(StepCommit)
    values["job"] = _job()
    commit = StepCommit(**values)  # type: ignore[arg-type]
    out = commit.with_metadata(ngn="me")
    assert out.job.metadata == {"jid": "j1", "ngn": "me"}
    assert commit.job.metadata == {"jid": "j1"}  # the original as it was
    expected_job = dataclasses.replace(commit.job, metadata=out.job.metadata)
    assert out == dataclasses.replace(commit, job=expected_job)


def test_reserve_is_replace_of_reserved_by() -> None:
    values = _distinct_values(NewMessage)
    message = NewMessage(**values)  # type: ignore[arg-type]
    assert reserve(message, "me") == dataclasses.replace(message, reserved_by="me")


def _fields(row: ActivityRow) -> dict[str, object]:
    # field by field: ``why`` is left out of ``==`` (compare=False)
    return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}


def test_activity_row_copies_keep_every_field_in_place() -> None:
    values = _distinct_values(ActivityRow)
    values["output"] = {"data": {"y": 1}, "metadata": {"l2": 1, "au": "x"}}
    row = ActivityRow(**values)  # type: ignore[arg-type]
    output = {"data": {"y": 1}, "metadata": {"l2": 3, "au": "x"}}
    assert _fields(with_entries(row, 3)) == _fields(
        dataclasses.replace(row, output=output)
    )
    assert _fields(done_row(row)) == _fields(dataclasses.replace(row, leg=2, done=True))


def test_uuid4_hex_is_a_version_4_uuid() -> None:
    seen = set()
    for _ in range(200):
        value = uuid4_hex()
        parsed = uuid.UUID(hex=value)
        assert parsed.hex == value and len(value) == 32
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        seen.add(value)
    assert len(seen) == 200
