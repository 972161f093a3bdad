"""Schedules on PostgreSQL, moved by an injected clock (no real waiting)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotmesh import HotMesh, errors
from hotmesh.clock import ManualClock
from tests.integration.conftest import MeshFactory

APP = """
app:
  id: sched
  version: '1'
  graphs:
    - subscribes: tick
      activities:
        t: {type: trigger}
        w: {type: worker, topic: sched.work}
      transitions:
        t: [{to: w}]
"""
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def _mesh(mesh: MeshFactory, clock: ManualClock, worker: bool = True) -> HotMesh:
    workers = (
        [{"topic": "sched.work", "callback": lambda m: {"data": {"ok": True}}}]
        if worker
        else []
    )
    # the loop is off: each test runs the passes itself, at the clock's times
    hm = await mesh("sched", workers=workers, clock=clock, schedules=False)
    await hm.deploy(APP)
    await hm.activate("1")
    return hm


async def test_create_list_get_fire_and_recent_runs(mesh: MeshFactory) -> None:
    clock = ManualClock(T0)
    hm = await _mesh(mesh, clock)
    made = await hm.schedules.create(
        "every5", "tick", {"n": 1}, every="5m", overlap="allow"
    )
    assert made["next_fire_at"] == T0 + timedelta(minutes=5)
    assert await hm.schedules.fire_due() == []
    clock.advance(300)
    assert await hm.schedules.fire_due() == ["every5:2026-06-01T12:05:00.000000Z"]
    assert await hm.schedules.fire_due() == []  # the tick is done: nothing twice
    clock.advance(300)
    assert await hm.schedules.fire_due() == ["every5:2026-06-01T12:10:00.000000Z"]
    got = await hm.schedules.get("every5", upcoming=2)
    assert got["upcoming"] == [T0 + timedelta(minutes=15), T0 + timedelta(minutes=20)]
    assert [r["outcome"] for r in got["recent_runs"]] == ["started", "started"]
    assert got["recent_runs"][0]["job_id"] == "every5:2026-06-01T12:10:00.000000Z"
    listed = await hm.schedules.list()
    assert [(s["id"], s["next_fire_at"]) for s in listed] == [
        ("every5", T0 + timedelta(minutes=15))
    ]
    job = await hm.export("every5:2026-06-01T12:05:00.000000Z")
    assert job["metadata"]["sch"] == "every5"
    assert job["metadata"]["sat"] == "2026-06-01T12:05:00+00:00"


async def test_pause_resume_update_trigger_delete(mesh: MeshFactory) -> None:
    clock = ManualClock(T0)
    hm = await _mesh(mesh, clock)
    await hm.schedules.create("s1", "tick", {}, cron="0 * * * *")
    await hm.schedules.pause("s1")
    clock.advance(3600)
    assert await hm.schedules.fire_due() == []
    assert (await hm.schedules.get("s1"))["paused"] is True
    await hm.schedules.resume("s1")  # from now on: the 13:00 tick is not caught up
    assert await hm.schedules.fire_due() == []
    clock.advance(3600)
    assert await hm.schedules.fire_due() == ["s1:2026-06-01T14:00:00.000000Z"]
    updated = await hm.schedules.update("s1", every="10m", data={"v": 2})
    assert updated["every"] == 600 and updated["cron"] is None
    assert updated["next_fire_at"] == clock.now() + timedelta(minutes=10)
    job_id = await hm.schedules.trigger("s1")
    assert job_id.startswith("s1:2026-06-01T14:00:00.000000Z-")  # not the tick's id
    runs = (await hm.schedules.get("s1"))["recent_runs"]
    assert ("triggered", job_id) in [(r["outcome"], r["job_id"]) for r in runs]
    await hm.schedules.delete("s1")
    with pytest.raises(errors.ScheduleNotFoundError, match="schedule 's1' not found"):
        await hm.schedules.get("s1")
    with pytest.raises(errors.ScheduleNotFoundError):
        await hm.schedules.pause("s1")


async def test_duplicates_and_bad_input_are_refused_at_create(
    mesh: MeshFactory,
) -> None:
    hm = await _mesh(mesh, ManualClock(T0))
    await hm.schedules.create("dup", "tick", every="1h")
    with pytest.raises(errors.StoreConflictError, match="'dup' already exists"):
        await hm.schedules.create("dup", "tick", every="1h")
    with pytest.raises(errors.ConfigError, match="'cron': invalid expression"):
        await hm.schedules.create("bad", "tick", cron="0 25 * * *")
    with pytest.raises(errors.ConfigError, match="did you mean 'catchup_window'"):
        await hm.schedules.create("bad", "tick", every="1h", catchup_windw="1h")
    with pytest.raises(errors.ConfigError, match="did you mean 'catchup'"):
        await hm.schedules.update("dup", catchp="all")


async def test_catchup_after_downtime_on_the_injected_clock(mesh: MeshFactory) -> None:
    clock = ManualClock(T0)
    hm = await _mesh(mesh, clock)
    for policy in ("skip", "latest", "all"):
        await hm.schedules.create(
            f"c-{policy}", "tick", every="10m", catchup=policy, overlap="allow"
        )
    clock.advance(timedelta(minutes=55))  # every process was down for 55 minutes
    fired = await hm.schedules.fire_due()
    by = {
        p: [j for j in fired if j.startswith(f"c-{p}:")]
        for p in ("skip", "latest", "all")
    }
    assert by["skip"] == []
    assert by["latest"] == ["c-latest:2026-06-01T12:50:00.000000Z"]
    assert len(by["all"]) == 5
    clock.advance(timedelta(minutes=5))  # back on time: all three fire 13:00 once
    again = await hm.schedules.fire_due()
    assert sorted(again) == sorted(f"c-{p}:2026-06-01T13:00:00.000000Z" for p in by)


async def test_overlap_skip_and_buffer_one_while_a_run_is_going(
    mesh: MeshFactory,
) -> None:
    clock = ManualClock(T0)
    hm = await _mesh(mesh, clock, worker=False)  # no worker: runs never finish
    await hm.schedules.create("o-skip", "tick", every="1m", overlap="skip")
    await hm.schedules.create("o-buf", "tick", every="1m", overlap="buffer_one")
    clock.advance(60)
    assert len(await hm.schedules.fire_due()) == 2
    clock.advance(60)
    assert await hm.schedules.fire_due() == []  # both runs are still going
    clock.advance(60)
    assert await hm.schedules.fire_due() == []
    skip = await hm.schedules.get("o-skip")
    assert [r["outcome"] for r in skip["recent_runs"]] == [
        "skipped",
        "skipped",
        "started",
    ]
    buf = await hm.schedules.get("o-buf")
    assert [r["outcome"] for r in buf["recent_runs"]] == ["skipped", "started"]
    # the buffered run starts once the running one ends
    await hm.interrupt("tick", "o-buf:2026-06-01T12:01:00.000000Z")
    assert await hm.schedules.fire_due() == ["o-buf:2026-06-01T12:02:00.000000Z"]


async def test_dst_days_fire_a_0230_schedule_once_each(mesh: MeshFactory) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    clock = ManualClock(datetime(2026, 3, 28, 12, 0, tzinfo=berlin))
    hm = await _mesh(mesh, clock)
    await hm.schedules.create(
        "dst", "tick", cron="30 2 * * *", timezone="Europe/Berlin", overlap="allow"
    )
    fired: list[str] = []
    for _ in range(4 * 24 * 2):  # two days, a pass every 15 minutes
        clock.advance(timedelta(minutes=15))
        fired += await hm.schedules.fire_due()
    assert fired == [
        "dst:2026-03-29T01:30:00.000000Z",  # 03:30 CEST: 02:30 did not exist
        "dst:2026-03-30T00:30:00.000000Z",
    ]
    clock.set(datetime(2026, 10, 24, 12, 0, tzinfo=berlin))
    await hm.schedules.pause("dst")
    await hm.schedules.resume("dst")
    fired = []
    for _ in range(4 * 24 * 2):
        clock.advance(timedelta(minutes=15))
        fired += await hm.schedules.fire_due()
    assert fired == [
        "dst:2026-10-25T00:30:00.000000Z",  # the first 02:30 (CEST), not the second
        "dst:2026-10-26T01:30:00.000000Z",
    ]


async def test_a_tick_whose_topic_is_gone_is_recorded_not_fatal(
    mesh: MeshFactory,
) -> None:
    clock = ManualClock(T0)
    hm = await _mesh(mesh, clock)
    await hm.schedules.create("ghost", "no.such.topic", every="1m")
    await hm.schedules.create("fine", "tick", every="1m")
    clock.advance(60)
    assert await hm.schedules.fire_due() == ["fine:2026-06-01T12:01:00.000000Z"]
    runs = (await hm.schedules.get("ghost"))["recent_runs"]
    assert runs[0]["outcome"].startswith("error: ")
    assert "no.such.topic" in runs[0]["outcome"]
