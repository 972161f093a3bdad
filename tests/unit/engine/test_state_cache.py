"""The state cache: least recently written first out; finished jobs forgotten,
waiting jobs kept only among a bounded few most recent."""

from __future__ import annotations

import dataclasses

from hotmesh.engine.cache import StateCache
from hotmesh.engine.commit import Completion, StepCommit
from hotmesh.store.records import ENGINE_STREAM, ActivityRow, JobRow, NewMessage


def _work(job_id: str, delay: float = 0.0, kind: str = "worker") -> NewMessage:
    return NewMessage("w", kind, {}, job_id, delay=delay)


def _commit(
    job_id: str,
    rows: list[ActivityRow] | None = None,
    messages: list[NewMessage] | None = None,
) -> StepCommit:
    """A step of ``job_id`` that sent ``messages`` (by default, work for it)."""
    job = JobRow(1, job_id, "g", job_id, "t", "1", 1, {}, {"n": 1})
    job.activities = [ActivityRow("t", ",0", "trigger", 2, True)]
    sent = [_work(job_id)] if messages is None else messages
    return StepCommit(job=job, activities=rows or [], messages=sent)


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
    sent = [_work("j")]
    cache.remember(StepCommit(job=job, activities=[done_row], messages=sent), "101")
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


def _hook(done: bool = False) -> ActivityRow:
    return ActivityRow("h", ",0,1", "hook", 2 if done else 1, done)


def test_a_job_left_asleep_or_on_a_hook_is_kept_only_among_the_recent_waiting() -> None:
    cache = StateCache(5, waiting=2)
    cache.remember(_commit("j"), "1")
    timer = NewMessage(ENGINE_STREAM, "timehook", {}, "j", delay=3600.0)
    cache.remember(_commit("j", [_hook()], [timer]), "2")  # asleep
    assert cache.get("j") is not None and len(cache) == 0
    assert cache.waiting_count() == 1
    cache.remember(_commit("k", [_hook()], []), "1")  # waits on a signal
    # its parent's answer and other jobs' work do not step it
    others = [_work("parent"), _work("child", kind="await")]
    cache.remember(_commit("m", [_hook()], others), "1")
    # at most two waiting jobs: the least recently written one went
    assert cache.get("j") is None
    assert cache.get("k") is not None and cache.get("m") is not None
    assert (len(cache), cache.waiting_count()) == (0, 2)
    # with work on its way again it moves back among the busy ones
    cache.remember(_commit("k", [_hook()], [_work("k")]), "2")
    assert (len(cache), cache.waiting_count()) == (1, 1)
    cache.drop("m")
    assert cache.get("m") is None


def test_no_waiting_job_is_kept_with_no_room_for_them() -> None:
    cache = StateCache(5, waiting=0)
    cache.remember(_commit("k", [_hook()], []), "1")
    assert cache.get("k") is None and cache.waiting_count() == 0
    assert StateCache(0).waiting_size == 0  # never more than the cache's size


def test_a_job_waiting_on_a_child_or_an_answer_is_not_among_the_busy() -> None:
    cache = StateCache(5, waiting=0)
    child = ActivityRow("a", ",0,1", "await", 1, False)
    cache.remember(_commit("j", [child], [_work("j", kind="await")]), "1")
    assert cache.get("j") is None
    # a worker whose callback answered None waits for hm.add
    later = {"metadata": {"waiting": "answer"}}
    answer = ActivityRow("w", ",0,1", "worker", 1, False, None, later)
    cache.remember(_commit("k", [answer], []), "1")
    assert cache.get("k") is None


def test_a_job_with_work_on_its_way_is_kept() -> None:
    cache = StateCache(5)
    # a branch asleep while another's work was just sent
    timer = NewMessage(ENGINE_STREAM, "timehook", {}, "j", delay=60.0)
    cache.remember(_commit("j", [_hook()], [timer, _work("j")]), "1")
    # a fan-in step that sent nothing while other workers still owe answers
    busy = ActivityRow("w", ",0,2", "worker", 1, False)
    cache.remember(_commit("k", [_hook(done=True), busy], []), "1")
    # a deferred leg, or a signal that came before its hook registered
    cache.remember(_commit("m", [_hook()], [_work("m", kind="transition")]), "1")
    assert cache.get("j") and cache.get("k") and cache.get("m")
