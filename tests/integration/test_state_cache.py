"""Optimistic steps from cached job state: a stale state is refused, never written.

The job keeps a worker busy (``w`` answers when the test says) so its state
stays cached between the hook steps: a job only waiting is not kept (issue 21).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import HotMesh, errors
from hotmesh.store import StepWrite
from tests.integration.conftest import MeshFactory

APP = """
app:
  id: fanin
  version: '1'
  graphs:
    - subscribes: pair
      publishes: pair.out
      activities:
        t: {type: trigger}
        ha:
          type: hook
          emit: true
          job: {maps: {a: '{$self.hook.data.v}'}}
        hb:
          type: hook
          job: {maps: {b: '{$self.hook.data.v}'}}
        w: {type: worker, topic: busy}
      transitions:
        t: [{to: ha}, {to: hb}, {to: w}]
      hooks:
        sa: [{to: ha, conditions: {match: [{expected: '{$job.metadata.jid}', actual: '{$self.hook.data.id}'}]}}]
        sb: [{to: hb, conditions: {match: [{expected: '{$job.metadata.jid}', actual: '{$self.hook.data.id}'}]}}]
"""


async def _fanin(mesh: MeshFactory, answer: asyncio.Event) -> HotMesh:
    async def busy(_data: dict[str, Any]) -> dict[str, Any]:
        await answer.wait()
        return {"data": {}}

    hm = await mesh("fanin", workers=[{"topic": "busy", "callback": busy}])
    await hm.deploy(APP)
    await hm.activate("1")
    return hm


async def test_a_step_from_stale_cached_state_falls_back_to_the_row(
    mesh: MeshFactory,
) -> None:
    answer = asyncio.Event()
    hm = await _fanin(mesh, answer)
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await hm.sub("pair.out", lambda _t, out: events.put_nowait(out))
    job_id = await hm.pub("pair", {})
    stale = hm.engine.states.get(job_id)
    assert stale is not None  # the trigger's write is cached
    assert await hm.signal("sa", {"id": job_id, "v": "first"}) == job_id
    interim = await asyncio.wait_for(events.get(), 10)  # ha's emit: its step committed
    assert interim["data"] == {"a": "first"}
    fresh = hm.engine.states.get(job_id)
    assert fresh is not None and fresh[1] != stale[1]
    # Put the state from before ha's step back: written as is, the next step
    # would drop `a`. The row version no longer matches, so it is refused and
    # the step runs again from the locked row.
    hm.engine.states._jobs[job_id] = stale
    assert await hm.signal("sb", {"id": job_id, "v": "second"}) == job_id
    answer.set()  # the worker answers: the job completes
    done = await asyncio.wait_for(events.get(), 10)
    assert done["metadata"]["js"] == 0
    assert done["data"] == {"a": "first", "b": "second"}
    assert hm.engine.states.get(job_id) is None  # a finished job is forgotten


async def test_the_guarded_write_refuses_a_lost_message_and_writes_nothing(
    mesh: MeshFactory,
) -> None:
    answer = asyncio.Event()
    hm = await _fanin(mesh, answer)
    try:
        await _guarded_write(hm)
    finally:
        answer.set()  # let the worker end before the mesh stops


async def _guarded_write(hm: HotMesh) -> None:
    job_id = await hm.pub("pair", {})
    cached = hm.engine.states.get(job_id)
    assert cached is not None
    job, version = cached
    job.data = {"a": "forged"}  # what a wrong write would leave behind

    def write() -> StepWrite:
        return StepWrite("fanin", job, 0, None, [], [], hm.store.channel, [], 5.0)

    not_ours = 2**62  # no such message: its lease is "lost"
    with pytest.raises(errors.StaleStateError):
        await hm.store.write_step_cas(write(), [not_ours], hm.engine.owner, version)
    with pytest.raises(errors.StaleStateError):
        await hm.store.write_step_cas(write(), [], hm.engine.owner, "1")
    state = await hm.get_state("pair", job_id)
    assert state.get("data", {}) == {}
    # The same write with the current version and nothing to ack goes through.
    status, _reserved, new_version = await hm.store.write_step_cas(
        write(), [], hm.engine.owner, version
    )
    assert status == job.status and new_version != version
    assert (await hm.get_state("pair", job_id))["data"] == {"a": "forged"}
