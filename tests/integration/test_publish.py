"""User messages across processes (publish), and adding/removing workers after init."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import errors
from tests.integration.conftest import MeshFactory

APP = """
app:
  id: pubapp
  version: '1'
  graphs:
    - subscribes: go
      activities:
        t: {type: trigger}
        w: {type: worker, topic: late.work, job: {maps: {ok: '{$self.output.data.ok}'}}}
      transitions:
        t: [{to: w}]
"""


async def test_publish_reaches_subscribers_in_other_instances(
    mesh: MeshFactory,
) -> None:
    a = await mesh("pubapp")
    b = await mesh("pubapp")
    other_app = await mesh("elsewhere")
    got: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    await b.sub("news.daily", lambda t, m: got.put_nowait((t, m)))
    await b.psub("news.*", lambda t, m: got.put_nowait(("pattern", m)))
    await other_app.sub("news.daily", lambda t, m: got.put_nowait(("leak", m)))
    await a.publish("news.daily", {"headline": "a|b", "n": 1})
    seen = [await asyncio.wait_for(got.get(), 5), await asyncio.wait_for(got.get(), 5)]
    assert sorted(s[0] for s in seen) == ["news.daily", "pattern"]
    assert all(s[1] == {"headline": "a|b", "n": 1} for s in seen)
    await a.publish(
        "news.flush", None
    )  # a second message proves nothing leaked meanwhile
    assert await asyncio.wait_for(got.get(), 5) == ("pattern", None)
    assert got.empty()
    with pytest.raises(errors.ConfigError, match="publish carries at most"):
        await a.publish("news.daily", {"big": "x" * 10_000})


async def test_workers_can_be_added_and_removed_after_init(mesh: MeshFactory) -> None:
    hm = await mesh("pubapp")
    await hm.deploy(APP)
    await hm.activate("1")

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {"ok": True}}

    hm.add_worker({"topic": "late.work", "callback": work})
    with pytest.raises(errors.ConfigError, match="already runs here"):
        hm.add_worker({"topic": "late.work", "callback": work})
    assert (await hm.pubsub("go", {}, timeout=5))["data"] == {"ok": True}
    await hm.remove_worker("late.work")
    with pytest.raises(errors.JobTimeoutError):
        await hm.pubsub("go", {}, timeout=0.5)  # nobody consumes the topic now
