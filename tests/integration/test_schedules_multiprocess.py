"""Schedules across processes on real time: each tick once, none lost when one dies."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import UTC, datetime, timedelta

import asyncpg

from tests.integration.conftest import MeshFactory
from tests.integration.sched_node import APP
from tests.nodes import start_node, stop_nodes
from tests.waiting import until_notified

NODE = "tests.integration.sched_node"


async def _ledger(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TABLE sched_ledger (job_id text PRIMARY KEY, pid int, calls int DEFAULT 1)"
        )
    finally:
        await conn.close()


async def _wait_for_ticks(
    dsn: str, prefix: str, count: int, timeout: float
) -> list[str]:
    """Job ids of the schedule's ticks once ``count`` exist (or at the timeout)."""
    conn = await asyncpg.connect(dsn)
    ticks: list[str] = []

    async def reached() -> bool:
        rows = await conn.fetch(
            "SELECT job_id FROM hotmesh.jobs WHERE app_id = 'beat' AND job_id LIKE $1"
            " ORDER BY job_id",
            prefix + ":%",
        )
        ticks[:] = [r["job_id"] for r in rows]
        return len(ticks) >= count

    try:  # another process's work: only the database tells
        with contextlib.suppress(AssertionError):  # the caller's checks say more
            await until_notified(dsn, reached, timeout, f"{count} ticks")
        return ticks
    finally:
        await conn.close()


def _created(stamp: str) -> datetime:
    """A job's ``jc`` stamp (``YYYYMMDDHHMMSS.mmm``, UTC)."""
    return datetime.strptime(stamp, "%Y%m%d%H%M%S.%f").replace(tzinfo=UTC)


async def test_every_second_with_three_processes_fires_each_tick_once(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    await _ledger(pg_dsn)
    hm = await mesh("beat", schedules=False)
    await hm.deploy(APP)
    await hm.activate("1")
    procs: list[asyncio.subprocess.Process] = []
    try:
        for _ in range(3):
            await start_node(procs, NODE, pg_dsn, "fire")
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
        end = start + timedelta(seconds=9)  # 10 ticks: start, start+1s ... start+9s
        await hm.schedules.create(
            "every1", "beat", every="1s", start_at=start, end_at=end, overlap="allow"
        )
        ticks = await _wait_for_ticks(pg_dsn, "every1", 10, 30)
        # the pass that fired the last tick found none left: nothing more fires
        assert (await hm.schedules.get("every1"))["next_fire_at"] is None
    finally:
        await stop_nodes(procs, 10)
    expected = [
        f"every1:{(start + timedelta(seconds=s)).strftime('%Y-%m-%dT%H:%M:%S')}.000000Z"
        for s in range(10)
    ]
    assert ticks == expected
    conn = await asyncpg.connect(pg_dsn)
    try:
        ledger = await conn.fetch("SELECT job_id, calls FROM sched_ledger")
        made = await conn.fetch(
            "SELECT metadata->>'sat' AS sat, metadata->>'jc' AS jc FROM hotmesh.jobs"
            " WHERE app_id = 'beat' AND job_id LIKE 'every1:%'"
        )
    finally:
        await conn.close()
    # fired while the 10 s ran, not caught up afterwards: each tick's job was
    # created within a second of its time, so any 10 s saw 10 +- 1 of them
    for row in made:
        late = _created(row["jc"]) - datetime.fromisoformat(row["sat"])
        assert timedelta(0) <= late < timedelta(seconds=1), (row, late)
    assert sorted(r["job_id"] for r in ledger) == expected  # every tick's job ran
    assert all(r["calls"] == 1 for r in ledger)
    runs = (await hm.schedules.get("every1", runs=50))["recent_runs"]
    assert sorted(r["job_id"] for r in runs if r["outcome"] == "started") == expected


async def test_killing_the_firing_process_loses_and_doubles_no_tick(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    await _ledger(pg_dsn)
    hm = await mesh("beat", schedules=False)
    await hm.deploy(APP)
    await hm.activate("1")
    procs: list[asyncio.subprocess.Process] = []
    try:
        doomed = await start_node(procs, NODE, pg_dsn, "die")
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
        end = start + timedelta(seconds=5)
        await hm.schedules.create(
            "k1", "beat", every="1s", start_at=start, end_at=end, overlap="allow"
        )
        assert doomed.stdout is not None
        line = await asyncio.wait_for(doomed.stdout.readline(), 15)
        assert line.strip() == b"firing k1"  # its pass wrote the first tick's job
        for _ in range(2):
            await start_node(procs, NODE, pg_dsn, "fire")
        doomed.send_signal(signal.SIGKILL)
        await doomed.wait()
        ticks = await _wait_for_ticks(pg_dsn, "k1", 6, 30)
    finally:
        await stop_nodes(procs, 10)
    expected = [
        f"k1:{(start + timedelta(seconds=s)).strftime('%Y-%m-%dT%H:%M:%S')}.000000Z"
        for s in range(6)
    ]
    assert ticks == expected
    conn = await asyncpg.connect(pg_dsn)
    try:
        ledger = await conn.fetch(
            "SELECT job_id, calls FROM sched_ledger ORDER BY job_id"
        )
    finally:
        await conn.close()
    assert [r["job_id"] for r in ledger] == expected
    assert all(r["calls"] == 1 for r in ledger)
