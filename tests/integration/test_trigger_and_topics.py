"""Trigger stats (job id and key) and worker topics given as mappings."""

from __future__ import annotations

from typing import Any

import pytest

from hotmesh import errors
from tests.integration.conftest import MeshFactory

APP = """
app:
  id: routed
  version: '1'
  graphs:
    - subscribes: route.it
      activities:
        t1:
          type: trigger
          stats:
            id: '{$self.input.data.id}'
            key: '{$self.input.data.customer}'
        w1:
          type: worker
          topic: '{t1.output.data.queue}'
          input:
            maps:
              n: '{t1.output.data.n}'
          job:
            maps:
              handled_by: '{$self.output.data.queue}'
      transitions:
        t1:
          - to: w1
"""


def worker(name: str) -> Any:
    async def handle(message: dict[str, Any]) -> dict[str, Any]:
        assert message["metadata"]["topic"] == name
        return {"data": {"queue": name}}

    return handle


async def test_topic_mapping_routes_each_job_to_its_queue_and_stats_set_id_and_key(
    mesh: MeshFactory,
) -> None:
    hm = await mesh(
        "routed",
        workers=[
            {"topic": "queue.fast", "callback": worker("queue.fast")},
            {"topic": "queue.slow", "callback": worker("queue.slow")},
        ],
    )
    await hm.deploy(APP)
    await hm.activate("1")
    fast = await hm.pubsub(
        "route.it",
        {"id": "job-fast", "customer": "acme", "queue": "queue.fast", "n": 1},
    )
    slow = await hm.pubsub(
        "route.it",
        {"id": "job-slow", "customer": "globex", "queue": "queue.slow", "n": 2},
    )
    assert fast["data"] == {"handled_by": "queue.fast"}
    assert slow["data"] == {"handled_by": "queue.slow"}
    assert fast["metadata"]["jid"] == "job-fast"
    assert fast["metadata"]["key"] == "acme"
    assert slow["metadata"]["key"] == "globex"


async def test_topic_mapping_to_nothing_is_refused_at_pub_and_writes_nothing(
    mesh: MeshFactory,
) -> None:
    hm = await mesh("routed")
    await hm.deploy(APP)
    await hm.activate("1")
    # The worker's Leg 1 runs ahead inside pub's own step, so the caller gets
    # the error at once and no job is created.
    with pytest.raises(errors.HotMeshError, match="worker topic resolved to undefined"):
        await hm.pubsub(
            "route.it", {"id": "no-queue", "customer": "acme", "n": 1}, timeout=10
        )
    with pytest.raises(errors.JobNotFoundError):
        await hm.get_status("no-queue")
