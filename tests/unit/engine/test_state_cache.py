"""The state cache: least recently written first out; finished jobs forgotten."""

from __future__ import annotations

import dataclasses

from hotmesh.engine.cache import StateCache
from hotmesh.engine.commit import Completion, StepCommit
from hotmesh.store.records import ActivityRow, JobRow


def _commit(job_id: str, rows: list[ActivityRow] | None = None) -> StepCommit:
    job = JobRow(1, job_id, "g", job_id, "t", "1", 1, {}, {"n": 1})
    job.activities = [ActivityRow("t", ",0", "trigger", 2, True)]
    return StepCommit(job=job, activities=rows or [])


def test_remember_merges_the_written_rows_into_the_state() -> None:
    cache = StateCache(10)
    open_row = ActivityRow("w", ",0,0", "worker", 1, False)
    cache.remember(_commit("j", [open_row]), "100")
    cached = cache.get("j")
    assert cached is not None
    job, version = cached
    assert version == "100"
    assert [(r.activity_id, r.done) for r in job.activities] == [
        ("t", True),
        ("w", False),
    ]
    done_row = ActivityRow("w", ",0,0", "worker", 2, True)
    cache.remember(StepCommit(job=job, activities=[done_row]), "101")
    job, version = cache.get("j") or (None, "")
    assert version == "101" and job is not None
    assert [(r.activity_id, r.done) for r in job.activities] == [
        ("t", True),
        ("w", True),
    ]


def test_the_least_recently_written_job_is_evicted() -> None:
    cache = StateCache(2)
    for job_id in ("a", "b", "a", "c"):
        cache.remember(_commit(job_id), "1")
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None
    assert len(cache) == 2


def test_finished_jobs_and_a_zero_size_are_not_kept() -> None:
    cache = StateCache(5)
    cache.remember(_commit("j"), "1")
    done = dataclasses.replace(_commit("j"), completion=Completion({}, None, 60.0))
    cache.remember(done, "2")
    assert cache.get("j") is None
    off = StateCache(0)
    off.remember(_commit("k"), "1")
    assert off.get("k") is None
    cache.remember(_commit("m"), "")  # no version: not written, not cached
    assert cache.get("m") is None
