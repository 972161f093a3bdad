"""Delayed starts (``pub(..., start_at= | delay=)``) on PostgreSQL, moved by an
injected clock: the job exists at once, "scheduled", and starts at its time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from hotmesh import HotMesh, errors
from hotmesh.clock import ManualClock
from tests.integration.conftest import MeshFactory
from tests.waiting import until_notified

APP = """
app:
  id: later
  version: '{version}'
  graphs:
    - subscribes: later.go
      publishes: later.done
      activities:
        t:
          type: trigger
          job: {{maps: {{n: '{{$self.output.data.n}}'}}}}
        w:
          type: worker
          topic: later.work
          input: {{maps: {{n: '{{$job.data.n}}', version: '{version}'}}}}
          job: {{maps: {{ran_on: '{{$self.output.data.version}}'}}}}
      transitions:
        t: [{{to: w}}]
"""
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Ledger:
    """Worker calls, and the completions published to ``later.done``."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.done: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def work(self, message: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(message["data"])
        return {"data": {"version": message["data"]["version"]}}

    def finished(self, job_id: str) -> asyncio.Future[dict[str, Any]]:
        return self.done.setdefault(job_id, asyncio.get_running_loop().create_future())

    def on_done(self, _topic: str, output: dict[str, Any]) -> None:
        fut = self.finished(output["metadata"]["jid"])
        if not fut.done():
            fut.set_result(output)


async def _mesh(
    mesh: MeshFactory, clock: ManualClock, ledger: Ledger, loop: bool = False
) -> HotMesh:
    workers = [{"topic": "later.work", "callback": ledger.work}]
    hm = await mesh("later", workers=workers, clock=clock, schedules=loop)
    await hm.deploy(APP.format(version="1"))
    await hm.activate("1")
    await hm.sub("later.done", ledger.on_done)
    return hm


async def test_a_delayed_job_exists_at_once_and_starts_at_its_time_on_its_version(
    mesh: MeshFactory,
) -> None:
    clock, ledger = ManualClock(T0), Ledger()
    hm = await _mesh(mesh, clock, ledger)
    job_id = await hm.pub("later.go", {"n": 7}, delay="10m")
    # it exists now: scheduled, listed, its data mapped, nothing run
    assert await hm.get_status(job_id) == 1
    meta = (await hm.get_state("later.go", job_id))["metadata"]
    assert meta["sat"] == "2026-06-01T12:10:00+00:00"
    assert meta["dly"] == 1
    listed = await hm.store.list_jobs("later", "scheduled", 10)
    assert [(r["job_id"], r["scheduled"]) for r in listed] == [(job_id, True)]
    assert await hm.store.list_jobs("later", "running", 10) == []
    # a new version, activated meanwhile, does not move it: it is pinned
    await hm.deploy(APP.format(version="2"))
    await hm.activate("2")
    clock.advance(timedelta(minutes=9, seconds=59))
    assert await hm.schedules.fire_due() == []
    clock.advance(1)
    assert await hm.schedules.fire_due() == [job_id]
    assert await hm.schedules.fire_due() == []  # taken once
    output = await asyncio.wait_for(ledger.finished(job_id), 10)
    assert output["data"] == {"n": 7, "ran_on": "1"}
    assert output["metadata"]["vrs"] == "1"
    assert "dly" not in output["metadata"]
    assert output["metadata"]["st"].startswith("20260601121000")  # the clock's start
    assert ledger.calls == [{"n": 7, "version": "1"}]
    assert await hm.store.list_jobs("later", "scheduled", 10) == []


async def test_the_firing_loop_starts_it_when_the_clock_gets_there(
    mesh: MeshFactory,
) -> None:
    clock, ledger = ManualClock(T0), Ledger()
    hm = await _mesh(mesh, clock, ledger, loop=True)
    start = T0 + timedelta(hours=2)
    job_id = await hm.pub("later.go", {"n": 1}, start_at=start.isoformat())
    assert not ledger.finished(job_id).done()
    clock.set(start)  # the loop sleeps on the clock: it wakes and starts the job
    output = await asyncio.wait_for(ledger.finished(job_id), 10)
    assert output["data"]["n"] == 1
    assert output["metadata"]["sat"] == "2026-06-01T14:00:00+00:00"


async def test_a_scheduled_job_can_be_interrupted_and_then_never_starts(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    clock, ledger = ManualClock(T0), Ledger()
    hm = await _mesh(mesh, clock, ledger)
    job_id = await hm.pub("later.go", {"n": 2}, start_at=T0 + timedelta(minutes=5))
    assert await hm.interrupt("later.go", job_id, reason="changed my mind")
    with pytest.raises(errors.JobError, match="changed my mind"):
        await asyncio.wait_for(_result(hm, ledger, job_id), 10)
    clock.advance(300)
    assert await hm.schedules.fire_due() == [job_id]  # its start is taken...
    conn = await asyncpg.connect(pg_dsn)
    try:  # ...and dropped by the engine: wait for the queue to empty

        async def emptied() -> bool:
            sql = "SELECT count(*) FROM hotmesh.messages WHERE app_id = 'later'"
            return await conn.fetchval(sql) == 0

        await until_notified(pg_dsn, emptied, 10, "the start message dropped")
    finally:
        await conn.close()
    assert ledger.calls == []
    assert await hm.get_status(job_id) < 0


async def _result(hm: HotMesh, ledger: Ledger, job_id: str) -> dict[str, Any]:
    output = await ledger.finished(job_id)
    if output["metadata"].get("err"):
        raise errors.JobError(job_id, {"message": output["metadata"]["err"]})
    return output


async def test_a_start_in_the_past_starts_at_once(mesh: MeshFactory) -> None:
    clock, ledger = ManualClock(T0), Ledger()
    hm = await _mesh(mesh, clock, ledger)
    job_id = await hm.pub("later.go", {"n": 3}, delay=0)
    output = await asyncio.wait_for(ledger.finished(job_id), 10)
    assert output["data"]["n"] == 3


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"delay": "soon"}, "'delay'"),
        ({"delay": -5}, "'delay'"),
        ({"start_at": datetime(2026, 6, 2)}, "'start_at'"),
        ({"start_at": "tomorrow"}, "'start_at'"),
        ({"start_at": T0, "delay": 5}, "start_at or delay"),
        ({"delay": 5, "pending": 60}, "pending"),
    ],
)
async def test_bad_delays_are_config_errors_naming_the_option(
    mesh: MeshFactory, options: dict[str, Any], named: str
) -> None:
    hm = await _mesh(mesh, ManualClock(T0), Ledger())
    with pytest.raises(errors.ConfigError, match=named):
        await hm.pub("later.go", {"n": 1}, **options)
    assert await hm.store.list_jobs("later", None, 10) == []
