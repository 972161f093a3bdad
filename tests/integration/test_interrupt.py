"""C8 (tree v9/v10: interrupt self and another job) and the interrupt API, with descend."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hotmesh import HotMesh, errors
from hotmesh.engine.step import INTERRUPTED
from tests.conformance import edited, named
from tests.integration.conftest import MeshFactory
from tests.waiting import until_notified


async def test_c8_tree_v9_self_interrupt(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    hm = await mesh("tree")
    await hm.deploy(conformance_apps / "apps" / "tree" / "v9" / "hotmesh.yaml")
    await hm.activate("9")
    out = await hm.pubsub("spring", {"seed": 2, "speed": 3, "throw": False}, timeout=10)
    data = out["data"]
    assert (data["seed"], data["speed"], data["throw"], data["height"]) == (
        2,
        3,
        False,
        6,
    )
    assert out["metadata"]["js"] <= -100_000_000
    jid = out["metadata"]["jid"]
    ran = {a["name"] for a in (await hm.export(jid))["activities"]}
    assert "sleeper" not in ran  # the interrupt came first; the branch never ran
    with pytest.raises(errors.JobError) as caught:
        await hm.pubsub("spring", {"seed": 2, "speed": 3, "throw": True}, timeout=10)
    assert caught.value.code == 410
    assert caught.value.error["message"] == f"job [{caught.value.job_id}] interrupted"


async def test_c8_tree_v10_interrupts_another_job(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    """The parent's 1 s timer interrupts the child before the child's own timer.

    Upstream gives both timers 1 s; here they would fall due within 2 ms of each
    other and run concurrently, so which finishes first is a race. The child's
    timer is 3 s (set here for upstream's copy) so the interrupt lands first every time.
    """
    hm = await mesh("tree")
    await hm.deploy(conformance_apps / "apps" / "tree" / "v9" / "hotmesh.yaml")
    v10 = conformance_apps / "apps" / "tree" / "v10" / "hotmesh.yaml"
    await hm.deploy(
        edited(v10, lambda document: named(document, "pauser").update(sleep=3))
    )
    await hm.activate("10")
    ok = await hm.pubsub(
        "winter",
        {"seed": 4, "speed": 6, "throw": False, "workflowId": "abcSuccess"},
        timeout=30,
    )
    data = ok["data"]
    assert (data["seed"], data["speed"], data["throw"], data["height"]) == (
        4,
        6,
        False,
        24,
    )
    assert "sheer" in data  # the interrupted child's partial state reached the parent
    child = await hm.get_state("morning", "abcSuccess")
    assert child["metadata"]["js"] <= -100_000_000
    with pytest.raises(errors.JobError) as caught:
        await hm.pubsub(
            "winter",
            {"seed": 6, "speed": 9, "throw": True, "workflowId": "abcFail"},
            timeout=30,
        )
    assert caught.value.code == 410


TREE = """
app:
  id: nest
  version: '1'
  graphs:
    - subscribes: top
      publishes: ended
      activities:
        t: {type: trigger, stats: {id: '{$self.input.data.id}'}}
        call: {type: await, topic: mid, input: {maps: {id: '{t.output.data.id}'}}}
      transitions:
        t: [{to: call}]
    - subscribes: mid
      publishes: ended
      activities:
        m: {type: trigger, stats: {id: "{$self.input.data.id}-mid"}}
        call2: {type: await, topic: leaf, input: {maps: {id: '{m.output.data.id}'}}}
      transitions:
        m: [{to: call2}]
    - subscribes: leaf
      publishes: ended
      activities:
        l: {type: trigger, stats: {id: "{$self.input.data.id}-leaf"}}
        wait: {type: hook, sleep: 3600}
      transitions:
        l: [{to: wait}]
"""


async def _waiting(hm: HotMesh, pg_dsn: str, job_id: str) -> None:
    """Until ``job_id`` runs (its hook's timer, sent with a NOTIFY, is set)."""

    async def running() -> bool:
        try:
            return await hm.get_status(job_id) > 0
        except errors.JobNotFoundError:
            return False

    await until_notified(pg_dsn, running, 10, f"job '{job_id}' waiting in its hook")


async def test_interrupt_descend_stops_every_level(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    hm = await mesh("nest")
    await hm.deploy(TREE)
    await hm.activate("1")
    ended: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await hm.psub("ended.*", lambda topic, out: ended.put_nowait(out))
    await hm.pub("top", {"id": "n1"})
    await _waiting(hm, pg_dsn, "n1-leaf")
    assert await hm.interrupt("top", "n1", descend=True, reason="operator stop") is True
    outs = [await asyncio.wait_for(ended.get(), 10) for _ in range(3)]
    jids = sorted(o["metadata"]["jid"] for o in outs)
    assert jids == ["n1", "n1-leaf", "n1-mid"]
    for o in outs:
        assert o["metadata"]["js"] <= INTERRUPTED // 10
        assert '"code":410' in o["metadata"]["err"]
    top = next(o for o in outs if o["metadata"]["jid"] == "n1")
    assert '"message":"operator stop"' in top["metadata"]["err"]


async def test_interrupt_without_descend_leaves_children_running(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    hm = await mesh("nest")
    await hm.deploy(TREE)
    await hm.activate("1")
    await hm.pub("top", {"id": "n2"})
    await _waiting(hm, pg_dsn, "n2-leaf")
    await hm.interrupt("top", "n2", throw=False)
    assert await hm.get_status("n2") <= INTERRUPTED // 10
    assert await hm.get_status("n2-leaf") > 0 and await hm.get_status("n2-mid") > 0


async def test_interrupting_a_finished_or_unknown_job(mesh: MeshFactory) -> None:
    hm = await mesh("nest")
    await hm.deploy(TREE)
    await hm.activate("1")
    with pytest.raises(errors.JobNotFoundError):
        await hm.interrupt("top", "nobody")
    assert await hm.interrupt("top", "nobody", suppress=True) is False
    await hm.pub("top", {"id": "n3"})
    await hm.interrupt("top", "n3")
    with pytest.raises(errors.JobInactiveError, match="already completed"):
        await hm.interrupt("top", "n3")
    assert await hm.interrupt("top", "n3", suppress=True) is False
