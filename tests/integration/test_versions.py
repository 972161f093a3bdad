"""Versions: activation reaches every connected instance; running jobs stay on their version."""

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
