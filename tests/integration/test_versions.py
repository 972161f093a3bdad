"""Versions (activation across instances, per-job pinning) and trigger emit to subscribers."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.integration.conftest import MeshFactory

APP = """
app:
  id: ver
  version: '{v}'
  graphs:
    - subscribes: ver.go
      expire: 60
      activities:
        t:
          type: trigger
        w:
          type: worker
          topic: ver.work
          job: {{maps: {{seen: '{v}'}}}}
      transitions:
        t: [{{to: w}}]
"""


async def test_activate_reaches_other_instances_and_jobs_are_pinned(
    mesh: MeshFactory,
) -> None:
    gate = asyncio.Event()
    entered = asyncio.Event()

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        entered.set()
        await asyncio.wait_for(gate.wait(), 10)
        return {"data": {}}

    a = await mesh("ver", workers=[{"topic": "ver.work", "callback": work}])
    b = await mesh("ver")
    await a.deploy(APP.format(v="1"))
    await a.activate("1")
    first = asyncio.ensure_future(b.pubsub("ver.go", {}, timeout=10))
    await asyncio.wait_for(entered.wait(), 10)
    await b.deploy(APP.format(v="2"))
    await b.activate("2")
    gate.set()
    old = await first
    assert old["metadata"]["vrs"] == "1" and old["data"] == {"seen": "1"}
    new = await b.pubsub("ver.go", {}, timeout=10)
    assert new["metadata"]["vrs"] == "2" and new["data"] == {"seen": "2"}
    # a's worker ran that job, woken by a NOTIFY sent after the activation's NOTIFY
    assert a.engine.active == "2"


async def test_trigger_emit_reaches_subscribers_before_completion(
    mesh: MeshFactory,
) -> None:
    gate = asyncio.Event()

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        await asyncio.wait_for(gate.wait(), 10)
        return {"data": {"done": True}}

    text = """
app:
  id: em
  version: '1'
  graphs:
    - subscribes: em.go
      publishes: em.went
      activities:
        t: {type: trigger, emit: true, job: {maps: {a: 1}}}
        w: {type: worker, topic: em.work, job: {maps: {b: '{$self.output.data.done}'}}}
      transitions:
        t: [{to: w}]
"""
    hm = await mesh("em", workers=[{"topic": "em.work", "callback": work}])
    await hm.deploy(text)
    await hm.activate("1")
    seen: list[dict[str, Any]] = []
    interim = asyncio.Event()

    def on_job(topic: str, job: dict[str, Any]) -> None:
        seen.append(job)
        interim.set()

    await hm.sub("em.went", on_job)
    done = asyncio.ensure_future(hm.pubsub("em.go", {}, timeout=10))
    await asyncio.wait_for(interim.wait(), 10)
    assert seen[0]["data"] == {"a": 1} and seen[0]["metadata"]["js"] == 1
    assert not done.done()
    gate.set()
    assert (await done)["data"] == {"a": 1, "b": True}
