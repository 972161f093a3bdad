"""Inline activations (issue 21): an activity's result and the activation it
wakes are written in one statement (``inline_activations``, on by default);
the same workflows, run with it on and off, record the same histories and
give the same results."""

from __future__ import annotations

import pytest

from hotmesh import MemFlow, errors
from hotmesh.store.records import worker_stream
from tests.integration.memflow.conftest import Env
from tests.integration.memflow.test_sticky import _comparable, run

wf = MemFlow.workflow


async def test_inline_activations_on_and_off_record_the_same_histories(
    mf: Env,
) -> None:
    on = await run(mf, "inlineon", 0)
    off = await run(mf, "inlineoff", 0, inline_activations=False)
    assert on[0] == off[0]
    assert [_comparable(h) for h in on[1]] == [_comparable(h) for h in off[1]]
    cached = await run(mf, "inlinecached", 100)  # with the sticky cache too
    assert cached[2].cache.hits > 0
    assert cached[0] == off[0]
    assert [_comparable(h) for h in cached[1]] == [_comparable(h) for h in off[1]]


async def peek(x: int) -> int:
    return x + 1


async def looks(n: int) -> int:
    acts = wf.proxy_activities(activities=[peek])
    return int(await acts.peek(await acts.peek(n)))


async def test_the_workflow_queue_is_inline_unless_turned_off(mf: Env) -> None:
    on = await mf.worker("inl-on", looks)
    off = await mf.worker("inl-off", looks, options={"inline_activations": False})
    for queue in ("inl-on", "inl-off"):
        handle = await mf.client.workflow.start(
            args=[1], task_queue=queue, workflow_name="looks", workflow_id=queue
        )
        assert await handle.result(timeout=30) == 3
    inline = on.mesh.engine.inline_workers
    assert [s for s in inline if s.endswith("inl-on")] == [worker_stream("inl-on")]
    assert not [s for s in off.mesh.engine.inline_workers if s.endswith("inl-off")]


async def test_inline_activations_is_true_or_false(mf: Env) -> None:
    with pytest.raises(errors.ConfigError, match="inline_activations"):
        await mf.worker("inl-bad", looks, options={"inline_activations": "yes"})
