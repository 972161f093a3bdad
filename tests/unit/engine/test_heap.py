"""What keeps full garbage collections short (issue 20 §3): no reference cycles
in a step's state, and the long-lived objects frozen out of the collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from hotmesh import errors
from hotmesh.engine import context as cx
from hotmesh.engine import heap
from hotmesh.engine.batcher import _StepFailed
from hotmesh.store.records import ActivityRow, JobRow


@contextmanager
def collector_off() -> Iterator[None]:
    """No automatic collection: what ``gc.collect()`` finds is ours."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_a_job_context_is_freed_without_the_garbage_collector() -> None:
    rows = [
        ActivityRow(f"h{i}", ",0", "hook", 2, True, {"i": i}, {"data": {"i": i}})
        for i in range(100)
    ]
    with collector_off():
        for _ in range(10):
            ctx = cx.build({"jid": "j"}, {"a": [1]}, rows, "h5", ",0", {})
            assert ctx["h7"]["output"]["data"] == {"i": 7}
        del ctx
        # The context once held itself ("$job"): every one was a cycle that
        # only a collection freed, and full collections held the event loop.
        assert gc.collect() == 0


def _failed_step() -> _StepFailed:
    deep: list[object] = []
    try:
        try:
            raise ValueError(deep)  # a frame with a big local, as @json.parse had
        except ValueError as exc:
            raise errors.EvaluationError("@json.parse: too deep") from exc
    except errors.EvaluationError as exc:
        job = JobRow(1, "j", "g", "j", "t", "1", 1, {}, {})
        try:
            raise _StepFailed(7, job, exc) from exc
        except _StepFailed as failed:
            return failed


def test_a_failed_step_kept_for_reuse_holds_no_frames() -> None:
    failed = _failed_step()
    assert failed.error.__cause__ is not None
    assert failed.__traceback__ is not None
    with collector_off():
        kept = failed.untraced()
        assert kept is failed and str(kept.error) == "@json.parse: too deep"
        chain = [kept, kept.error, kept.error.__cause__]
        assert all(e is not None and e.__traceback__ is None for e in chain)
        del failed, kept, chain
        assert gc.collect() == 0


def test_engines_freeze_the_heap_until_the_last_one_stops() -> None:
    before = heap.engines()
    heap.engine_started()
    heap.engine_started()
    try:
        assert gc.get_freeze_count() > 0
        made_after = [object()]
        heap.settle()  # a plan loaded: it is frozen too
        assert gc.get_freeze_count() > 0 and made_after
        heap.engine_stopped()
        assert gc.get_freeze_count() > 0  # one engine still runs
    finally:
        heap.engine_stopped()
    assert heap.engines() == before
    if before == 0:
        assert gc.get_freeze_count() == 0  # the collector has them all again
