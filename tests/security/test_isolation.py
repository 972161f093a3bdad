"""App isolation: two apps in one schema cannot read, signal, interrupt or scrub each other's jobs.

Both apps use the same topics, the same signal topic and even the same job id;
every statement filters by ``app_id``, so each app sees only its own rows.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import HotMesh, errors
from tests.integration.conftest import MeshFactory

GRAPH = """
app:
  id: {app}
  version: '1'
  graphs:
    - subscribes: iso.go
      publishes: iso.done
      expire: 300
      activities:
        t1:
          type: trigger
          stats:
            id: '{{$self.input.data.id}}'
          job:
            maps:
              owner: {app}
        h1:
          type: hook
          job:
            maps:
              signalled_by: '{{$self.hook.data.by}}'
      transitions:
        t1:
          - to: h1
      hooks:
        iso.signal:
          - to: h1
            conditions:
              match:
                - expected: '{{t1.output.data.key}}'
                  actual: '{{$self.hook.data.key}}'
"""


async def _app(mesh: MeshFactory, app: str) -> HotMesh:
    hm = await mesh(app)
    await hm.deploy(GRAPH.format(app=app))
    await hm.activate("1")
    return hm


async def _finished(hm: HotMesh, job_id: str) -> dict[str, Any]:
    """Wait for ``job_id`` of ``hm``'s app to publish its completion."""
    done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def seen(_topic: str, output: dict[str, Any]) -> None:
        if not done.done():
            done.set_result(output)

    await hm.sub(f"iso.done.{job_id}", seen)
    if await hm.get_status(job_id) <= 0:
        return await hm.get_state("iso.go", job_id)
    return await asyncio.wait_for(done, 10)


async def test_one_app_cannot_touch_another_apps_jobs(mesh: MeshFactory) -> None:
    a = await _app(mesh, "appa")
    b = await _app(mesh, "appb")
    await a.pub("iso.go", {"id": "shared-1", "key": "ka"})
    await b.pub("iso.go", {"id": "shared-1", "key": "kb"})
    await b.pub("iso.go", {"id": "b-only", "key": "kb2"})

    # read: only its own rows, even under the same job id
    assert (await a.get_state("iso.go", "shared-1"))["data"]["owner"] == "appa"
    assert (await b.get_state("iso.go", "shared-1"))["data"]["owner"] == "appb"
    for read in (
        lambda: a.get_state("iso.go", "b-only"),
        lambda: a.get_status("b-only"),
        lambda: a.export("b-only"),
    ):
        with pytest.raises(errors.JobNotFoundError):
            await read()

    # interrupt: B's job is not found from A, and keeps running
    with pytest.raises(errors.JobNotFoundError):
        await a.interrupt("iso.go", "b-only")
    assert await a.interrupt("iso.go", "b-only", suppress=True) is False

    # signal: A's signal on B's key resumes nothing of B's (A knows no job of
    # its own for it, so it is not kept); B's own signal then resumes B's job
    with pytest.raises(errors.SignalNotKeptError):
        await a.signal("iso.signal", {"key": "kb2", "by": "appa"})
    assert await b.get_status("b-only") > 0
    assert await b.signal("iso.signal", {"key": "kb2", "by": "appb"}) == "b-only"
    out = await _finished(b, "b-only")
    assert out["data"]["signalled_by"] == "appb"

    # scrub: A scrubbing B's id removes nothing of B's
    await a.scrub("b-only")
    assert (await b.get_state("iso.go", "b-only"))["data"]["owner"] == "appb"
    await a.scrub("shared-1")
    with pytest.raises(errors.JobNotFoundError):
        await a.get_state("iso.go", "shared-1")
    assert await b.get_status("shared-1") > 0

    # B's "shared-1" still waits on key "kb": A cannot resume it under that key
    with pytest.raises(errors.SignalNotKeptError):
        await a.signal("iso.signal", {"key": "kb", "by": "appa"})
    assert await a.signal("iso.signal", {"key": "kb", "by": "appa"}, keep=True) is None
    assert await b.get_status("shared-1") > 0


async def test_completions_reach_only_their_own_apps_subscribers(
    mesh: MeshFactory,
) -> None:
    a = await _app(mesh, "appa")
    b = await _app(mesh, "appb")
    seen_by_a: list[str] = []
    twice = asyncio.Event()

    def on_a(_topic: str, output: dict[str, Any]) -> None:
        seen_by_a.append(output["metadata"]["jid"])
        if len(seen_by_a) >= 2:
            twice.set()

    await a.psub("iso.done*", on_a)
    await a.pub("iso.go", {"id": "a-job", "key": "ka"})
    await a.signal("iso.signal", {"key": "ka", "by": "appa"})
    await _finished(a, "a-job")
    # B's job completes in the same schema: its NOTIFY reaches A's listener too
    await b.pub("iso.go", {"id": "b-job", "key": "kb"})
    await b.signal("iso.signal", {"key": "kb", "by": "appb"})
    await _finished(b, "b-job")
    # A completion notice for A's own job, committed after B's: notices arrive
    # in commit order, so once A has handled this one it has seen B's too.
    await b.store.notify("d|appa|a-job|iso.done|another-process")
    await asyncio.wait_for(twice.wait(), 10)
    assert seen_by_a == ["a-job", "a-job"]
