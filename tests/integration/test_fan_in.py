"""Fan-in: many branches answering at once are applied exactly once, batched per job."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.integration.conftest import MeshFactory

BRANCHES = 30
STEP = "{'@pipe': [['{$job.data.steps}', 1], ['{@math.add}']]}"
ACTS = "\n".join(
    f"        w{i}: {{type: worker, topic: fan.work, input: {{maps: {{i: {i}}}}}, "
    f"job: {{maps: {{f{i}: '{{$self.output.data.i}}', steps: {STEP}}}}}}}"
    for i in range(BRANCHES)
)
EDGES = ", ".join(f"{{to: w{i}}}" for i in range(BRANCHES))
APP = f"""
app:
  id: fan
  version: '1'
  graphs:
    - subscribes: fan.go
      activities:
        t: {{type: trigger, job: {{maps: {{steps: 0}}}}}}
{ACTS}
      transitions:
        t: [{EDGES}]
"""


async def test_thirty_simultaneous_answers_apply_once_each(mesh: MeshFactory) -> None:
    arrived: list[int] = []
    release = asyncio.Event()

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        arrived.append(message["data"]["i"])
        if len(arrived) == BRANCHES:
            release.set()
        await release.wait()  # every branch answers at the same moment
        return {"data": {"i": message["data"]["i"]}}

    hm = await mesh("fan", workers=[{"topic": "fan.work", "callback": work}])
    await hm.deploy(APP)
    await hm.activate("1")
    out = await hm.pubsub("fan.go", {}, timeout=20)
    data = out["data"]
    assert data["steps"] == BRANCHES  # no answer lost or applied twice
    assert all(data[f"f{i}"] == i for i in range(BRANCHES))
    assert out["metadata"]["js"] == 0
