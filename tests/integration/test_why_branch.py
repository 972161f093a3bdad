"""Why this branch, on a real database: a job takes one of two branches after a
worker; each run's row keeps which transition fired and the values compared."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import MeshFactory

APP = """
app:
  id: why
  version: '1'
  graphs:
    - subscribes: why.order
      activities:
        order: {type: trigger}
        check:
          type: worker
          topic: why.check
          input: {maps: {qty: '{order.output.data.qty}'}}
        reserve: {type: hook, job: {maps: {status: reserved}}}
        backorder: {type: hook, job: {maps: {status: backordered}}}
      transitions:
        order: [{to: check}]
        check:
          - to: reserve
            conditions:
              match: [{expected: true, actual: '{check.output.data.enough}'}]
          - to: backorder
            conditions:
              match:
                - {expected: false, actual: '{check.output.data.enough}'}
                - {expected: 'eu', actual: '{order.output.data.region}'}
"""


async def _check(message: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"enough": message["data"]["qty"] <= 10}}


async def test_the_fired_branch_and_the_other_with_the_compared_values(
    mesh: MeshFactory,
) -> None:
    hm = await mesh("why", workers=[{"topic": "why.check", "callback": _check}])
    await hm.deploy(APP)
    await hm.activate("1")
    out = await hm.pubsub("why.order", {"qty": 3, "region": "eu"}, timeout=30)
    assert out["data"]["status"] == "reserved"
    job = await hm.store.read_job(
        "why", out["metadata"]["jid"], with_activities=True, include_expired=True
    )
    assert job is not None
    why = {(r.activity_id, r.dimension): r.why for r in job.activities}
    assert why[("check", ",0,0")] == {
        "code": 200,
        "transitions": [
            {
                "to": "reserve",
                "fired": True,
                "match": [{"expected": True, "actual": True, "ok": True}],
            },
            {
                "to": "backorder",
                "fired": False,
                "match": [
                    {"expected": False, "actual": True, "ok": False},
                    {"expected": "eu", "skipped": True},
                ],
            },
        ],
    }
    # the trigger's single unconditional edge; the leaves have no transitions
    assert why[("order", ",0")] == {
        "code": 200,
        "transitions": [{"to": "check", "fired": True}],
    }
    assert {k[0] for k, v in why.items() if v is None} == {"reserve"}

    other = await hm.pubsub("why.order", {"qty": 30, "region": "eu"}, timeout=30)
    assert other["data"]["status"] == "backordered"
    job = await hm.store.read_job(
        "why", other["metadata"]["jid"], with_activities=True, include_expired=True
    )
    assert job is not None
    (check,) = [r for r in job.activities if r.activity_id == "check"]
    fired = {t["to"]: t["fired"] for t in check.why["transitions"]}
    assert fired == {"reserve": False, "backorder": True}
    assert check.why["transitions"][1]["match"][1] == {
        "expected": "eu",
        "actual": "eu",
        "ok": True,
    }
