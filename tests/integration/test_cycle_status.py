"""C5 (cycle v1, v2), C7 (def v3: 202 then 200), the cycle cap, and re-entry dimensions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hotmesh import errors
from tests.integration.conftest import MeshFactory


async def test_cycle_v1_loops_until_the_condition_fails(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    calls: list[int] = []

    async def count(message: dict[str, Any]) -> dict[str, Any]:
        calls.append(1)
        return {"data": {"counter": len(calls)}}

    hm = await mesh("cycle", workers=[{"topic": "cycle.count", "callback": count}])
    await hm.deploy(conformance_apps / "apps" / "cycle" / "v1" / "hotmesh.yaml")
    await hm.activate("1")
    out = await hm.pubsub("cycle.test", {}, timeout=10)
    assert out["data"]["counter"] == 5 and len(calls) == 5
    history = await hm.export(out["metadata"]["jid"])
    dims = sorted(a["dimension"] for a in history["activities"] if a["name"] == "w1")
    # each iteration runs the worker in a fresh dimension under the pivot
    assert dims == [",0,0,0", ",0,1,0", ",0,2,0", ",0,3,0", ",0,4,0"]


async def test_cycle_v2_loops_on_status_code_500(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    counter = [0]

    async def err(message: dict[str, Any]) -> dict[str, Any]:
        counter[0] += 1
        code = 200 if counter[0] == 5 else 500
        return {"code": code, "data": {"counter": counter[0]}}

    hm = await mesh("cycle", workers=[{"topic": "cycle.err", "callback": err}])
    await hm.deploy(conformance_apps / "apps" / "cycle" / "v2" / "hotmesh.yaml")
    await hm.activate("2")
    out = await hm.pubsub("cycle.test", {}, timeout=10)
    assert out["data"]["counter"] == 5
    assert (await hm.export(out["metadata"]["jid"]))["status"] == "0"


LOOP = """
app:
  id: loop
  version: '1'
  graphs:
    - subscribes: loop.go
      activities:
        t: {type: trigger, stats: {id: '{$self.input.data.id}'}, job: {maps: {n: 0}}}
        pivot:
          type: hook
          cycle: true
          job:
            maps:
              n: {'@pipe': [['{$job.data.n}', 1], ['{@math.add}']]}
        again: {type: cycle, ancestor: pivot}
      transitions:
        t: [{to: pivot}]
        pivot:
          - to: again
            conditions:
              match:
                - expected: true
                  actual: {'@pipe': [['{$job.data.n}', '{t.output.data.until}'], ['{@conditional.less_than}']]}
"""


async def test_a_passthrough_loop_takes_a_step_per_lap_and_counts(
    mesh: MeshFactory,
) -> None:
    hm = await mesh("loop")
    await hm.deploy(LOOP)
    await hm.activate("1")
    out = await hm.pubsub("loop.go", {"until": 50})
    assert out["data"]["n"] == 50 and out["metadata"]["js"] == 0


async def test_the_cycle_cap_stops_a_runaway_loop_with_a_clear_error(
    mesh: MeshFactory,
) -> None:
    async def tick(message: dict[str, Any]) -> dict[str, Any]:
        return {"data": {}}

    hm = await mesh(
        "loop", workers=[{"topic": "tick", "callback": tick}], max_cycles=20
    )
    await hm.deploy(LOOP)
    await hm.activate("1")
    # Each lap of a passthrough loop is a step of its own (issue 20 §3): pub
    # returns at once, and the job fails when it passes the cap.
    with pytest.raises(errors.JobError) as caught:
        await hm.pubsub("loop.go", {"until": 1000, "id": "runaway"})
    assert "more than 20 times" in str(caught.value) and caught.value.code == 500
    # A loop through a worker fails its job (error 500) when it passes the cap.
    await hm.deploy(
        LOOP.replace("version: '1'", "version: '2'")
        .replace("t: [{to: pivot}]", "t: [{to: pivot}]\n        again_w: [{to: again}]")
        .replace(
            "        again: {type: cycle, ancestor: pivot}",
            "        again_w: {type: worker, topic: tick}\n        again: {type: cycle, ancestor: pivot}",
        )
        .replace("- to: again\n", "- to: again_w\n")
    )
    await hm.activate("2")
    with pytest.raises(errors.JobError) as caught:
        await hm.pubsub("loop.go", {"until": 1000})
    assert "more than 20 times" in str(caught.value) and caught.value.code == 500


async def test_def_v3_pending_202_then_200_reenters_in_a_new_dimension(
    mesh: MeshFactory, conformance_apps: Path
) -> None:
    tasks: list[asyncio.Task[None]] = []
    holder: dict[str, Any] = {}

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        code = message["data"].get("code")
        if code == 202:

            async def later() -> None:
                await holder["hm"].add(
                    {
                        "metadata": message["metadata"],
                        "status": "success",
                        "code": 200,
                        "data": {"code": 200, "percentage": 99},
                    }
                )

            tasks.append(asyncio.get_running_loop().create_task(later()))
            return {
                "status": "pending",
                "code": 202,
                "data": {"code": 202, "percentage": 49},
            }
        if code == 422:
            return {
                "status": "error",
                "code": 422,
                "data": {"code": 422, "message": "invalid input", "reason": "x"},
            }
        return {"data": {"code": 200}}

    hm = await mesh("def", workers=[{"topic": "work.do", "callback": work}])
    holder["hm"] = hm
    await hm.deploy(conformance_apps / "apps" / "def" / "v3" / "hotmesh.yaml")
    await hm.activate("3")
    out = await hm.pubsub("def.test", {"code": 202}, timeout=10)
    assert out["data"] == {"code": 200, "percentage": 99, "message": "success"}
    history = await hm.export(out["metadata"]["jid"])
    runs = {(a["name"], a["dimension"]) for a in history["activities"]}
    assert ("a202", ",0,0,0") in runs  # spawned by the 202 in the first dimension
    assert ("a1", ",0,1") in runs and ("a200", ",0,1,0") in runs  # the 200 re-entry
    plain = await hm.pubsub("def.test", {"code": 200}, timeout=10)
    assert plain["data"] == {"code": 200, "message": "success"}
    await asyncio.gather(*tasks)
