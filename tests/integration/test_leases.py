"""Claims: a heartbeat keeps long callbacks from running twice; poison messages end."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.integration.conftest import MeshFactory

APP = """
app:
  id: lease
  version: '1'
  graphs:
    - subscribes: slow
      activities:
        t: {type: trigger, stats: {id: '{$self.input.data.id}'}}
        w: {type: worker, topic: slow.work, job: {maps: {ok: '{$self.output.data.ok}'}}}
      transitions:
        t: [{to: w}]
"""


async def test_a_callback_longer_than_its_lease_runs_once(mesh: MeshFactory) -> None:
    calls: list[int] = []

    async def slow(message: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        await asyncio.sleep(1.2)  # four lease lengths
        return {"data": {"ok": True}}

    hm = await mesh(
        "lease",
        workers=[{"topic": "slow.work", "callback": slow}],
        lease=0.3,
        poll=0.05,
    )
    # a second process polls the same stream, ready to steal an expired claim
    other = await mesh(
        "lease",
        workers=[{"topic": "slow.work", "callback": slow}],
        lease=0.3,
        poll=0.05,
    )
    await hm.deploy(APP)
    await hm.activate("1")
    await other.activate("1")
    out = await hm.pubsub("slow", {"id": "s1"}, timeout=10)
    assert out["data"]["ok"] is True
    assert len(calls) == 1


async def test_a_message_claimed_too_often_becomes_a_job_error(
    mesh: MeshFactory,
) -> None:
    calls: list[int] = []

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        return {"data": {"ok": True}}

    hm = await mesh("lease", poison_threshold=3)
    await hm.deploy(APP)
    await hm.activate("1")
    await hm.pub("slow", {"id": "p1"})
    # three processes claimed the work message and died before answering
    for n in range(3):
        claimed = await hm.store.claim("lease", "w:slow.work", f"dead-{n}", 0.0, 10)
        assert len(claimed.messages) == 1
    done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    survivor = await mesh(
        "lease", workers=[{"topic": "slow.work", "callback": work}], poison_threshold=3
    )

    async def finished() -> None:
        while await survivor.get_status("p1") != 0:
            await asyncio.sleep(0.05)
        done.set_result(await survivor.get_state("slow", "p1"))

    await asyncio.wait_for(finished(), 10)
    state = done.result()
    assert "poison message: claimed 4 times" in state["metadata"]["err"]
    assert calls == []  # the callback is not run a fourth time
