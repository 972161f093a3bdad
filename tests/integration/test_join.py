"""``await: false`` with ``join``: a detached child signals its end to its parent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import errors
from tests.integration.conftest import MeshFactory

APP = """
app:
  id: joins
  version: '1'
  graphs:
    - subscribes: parent
      activities:
        p: {type: trigger}
        start:
          type: await
          topic: '{p.output.data.topic}'
          await: false
          join: {topic: kid.ended, id: '{$job.metadata.jid}'}
          input: {maps: {n: '{p.output.data.n}'}}
        joined:
          type: hook
          job:
            maps:
              kid: '{$self.hook.data.data}'
      transitions:
        p: [{to: start}]
        start: [{to: joined}]
      hooks:
        kid.ended:
          - to: joined
            conditions:
              match: [{expected: '{$job.metadata.jid}', actual: '{$self.hook.data.id}'}]
    - subscribes: good.kid
      activities:
        g: {type: trigger}
        w: {type: worker, topic: doubler, input: {maps: {n: '{g.output.data.n}'}},
            job: {maps: {twice: '{$self.output.data.twice}'}}}
      transitions:
        g: [{to: w}]
    - subscribes: slow.kid
      publishes: slow.kid.out
      activities:
        s: {type: trigger, emit: true}
        park: {type: hook, sleep: 3600}
      transitions:
        s: [{to: park}]
"""


async def _doubler(message: dict[str, Any]) -> dict[str, Any]:
    n = message["data"]["n"]
    if n < 0:
        raise ValueError(f"cannot double {n}")
    return {"data": {"twice": n * 2}}


async def test_the_parent_hook_receives_the_child_outcome(mesh: MeshFactory) -> None:
    hm = await mesh("joins", workers=[{"topic": "doubler", "callback": _doubler}])
    await hm.deploy(APP)
    await hm.activate("1")
    out = await hm.pubsub("parent", {"topic": "good.kid", "n": 21}, timeout=10)
    kid = out["data"]["kid"]
    assert kid["data"] == {"twice": 42}
    assert kid["status"] == 0 and "err" not in kid
    assert await hm.get_status(kid["job_id"]) == 0


async def test_a_failed_child_reports_its_error(mesh: MeshFactory) -> None:
    hm = await mesh("joins", workers=[{"topic": "doubler", "callback": _doubler}])
    await hm.deploy(APP)
    await hm.activate("1")
    out = await hm.pubsub("parent", {"topic": "good.kid", "n": -1}, timeout=10)
    assert "cannot double -1" in out["data"]["kid"]["err"]["message"]


async def test_an_interrupted_child_reports_410(mesh: MeshFactory) -> None:
    hm = await mesh("joins")
    await hm.deploy(APP)
    await hm.activate("1")
    started: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await hm.sub("slow.kid.out", lambda _t, out: started.put_nowait(out))
    parent = asyncio.create_task(
        hm.pubsub("parent", {"topic": "slow.kid", "n": 1}, timeout=10)
    )
    kid = await asyncio.wait_for(started.get(), 10)  # the trigger's emit
    kid_id = kid["metadata"]["jid"]
    await hm.interrupt("slow.kid", kid_id, reason="stop")
    out = await parent
    assert out["data"]["kid"]["job_id"] == kid_id
    assert out["data"]["kid"]["err"]["code"] == 410
    assert out["data"]["kid"]["status"] < 0


def test_a_join_topic_without_a_hook_rule_is_refused() -> None:
    from hotmesh.compiler import compile_source

    bad = APP.replace("join: {topic: kid.ended", "join: {topic: kid.nowhere")
    with pytest.raises(
        errors.ManifestError, match=r"join topic 'kid\.nowhere' has no hook"
    ):
        compile_source(bad)
