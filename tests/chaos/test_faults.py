"""Connection faults: connections cut at random and a database outage, through a proxy.

Every hotmesh connection goes through :class:`FaultyProxy`; the publisher and
the checks use direct connections. No job may be lost, doubled or stuck.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from typing import Any

import asyncpg
import pytest

from hotmesh import HotMesh
from tests.chaos.proxy import FaultyProxy
from tests.long import LONG
from tests.waiting import until_notified

JOBS = 3000 if LONG else 300

APP = """
app:
  id: faults
  version: '1'
  graphs:
    - subscribes: faults.go
      expire: 3600
      activities:
        t: {type: trigger, stats: {id: '{$self.input.data.id}'}}
        a: {type: worker, topic: faults.a, input: {maps: {n: '{t.output.data.n}'}},
            job: {maps: {a: '{$self.output.data.n}'}}}
        b: {type: worker, topic: faults.b, input: {maps: {n: '{a.output.data.n}'}},
            job: {maps: {b: '{$self.output.data.n}'}}}
        nap: {type: hook, sleep: 0.2}
      transitions:
        t: [{to: a}]
        a: [{to: b}]
        b: [{to: nap}]
"""


async def _run(pg_dsn: str, proxy: FaultyProxy, fault: str) -> dict[str, Any]:
    calls: list[tuple[str, str]] = []

    async def work(message: dict[str, Any]) -> dict[str, Any]:
        calls.append((message["metadata"]["jid"], message["metadata"]["aid"]))
        return {"data": {"n": message["data"]["n"]}}

    client = await HotMesh.init("faults", engine={"connection": {"dsn": pg_dsn}})
    node_dsn = proxy.through(pg_dsn)
    if fault == "timeout":  # every statement of the node may take 20 ms at most
        node_dsn += ("&" if "?" in node_dsn else "?") + "statement_timeout=20"
    stalls = 0
    await client.deploy(APP)
    await client.activate("1")
    node = await HotMesh.init(
        "faults",
        engine={"connection": {"dsn": node_dsn}, "poll": 0.2},
        workers=[
            {"topic": "faults.a", "callback": work},
            {"topic": "faults.b", "callback": work},
        ],
    )
    done = asyncio.Event()

    async def stall() -> None:
        """Hold the jobs table for 60 ms: the node's steps wait, time out, retry."""
        nonlocal stalls
        locker = await asyncpg.connect(pg_dsn)
        try:
            async with locker.transaction():
                await locker.execute("LOCK TABLE hotmesh.jobs IN EXCLUSIVE MODE")
                await asyncio.sleep(0.06)  # the stall itself: the lock held
            stalls += 1
        finally:
            await locker.close()

    async def chaos() -> None:
        while not done.is_set():
            # random pauses between faults (the chaos itself, not a wait for work)
            if fault == "timeout":
                await asyncio.sleep(random.uniform(0.1, 0.3))
                await stall()
            elif fault == "cut":
                await asyncio.sleep(random.uniform(0.1, 0.4))
                proxy.cut()
            else:  # a restart: down for a second, every second or two
                await proxy.outage(1.0)
                await asyncio.sleep(random.uniform(0.5, 1.5))

    faults = asyncio.get_running_loop().create_task(chaos())
    conn = await asyncpg.connect(pg_dsn)
    try:
        sem = asyncio.Semaphore(30)

        async def publish(i: int) -> None:
            async with sem:
                await client.pub("faults.go", {"id": f"f{i}", "n": i})

        await asyncio.gather(*(publish(i) for i in range(JOBS)))

        async def all_done() -> bool:
            return not await conn.fetchval(
                "SELECT count(*) FROM hotmesh.jobs WHERE app_id = 'faults' AND status <> 0"
            )

        # the node's work, through the faulty proxy: only the database tells
        with contextlib.suppress(AssertionError):  # the checks after say which
            await until_notified(pg_dsn, all_done, 300 if LONG else 60, "jobs")
        done.set()
        await faults
        rows = await conn.fetch(
            "SELECT job_id, status, data, err FROM hotmesh.jobs WHERE app_id = 'faults'"
        )
    finally:
        done.set()
        await conn.close()
        await node.stop()
        await client.stop()
    return {
        "rows": rows,
        "calls": calls,
        "cuts": stalls if fault == "timeout" else proxy.cuts,
    }


@pytest.mark.parametrize("fault", ["cut", "outage", "timeout"])
async def test_connection_faults_lose_and_double_nothing(
    pg_dsn: str, proxy: FaultyProxy, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    result = await _run(pg_dsn, proxy, fault)
    if fault == "timeout":  # the scenario really cancelled statements
        assert "statement timeout" in caplog.text
    rows = result["rows"]
    assert result["cuts"] >= (1 if fault == "outage" else 3)
    assert len(rows) == JOBS
    for row in rows:
        data = json.loads(row["data"])
        n = int(row["job_id"][1:])
        assert (row["status"], row["err"], data) == (0, None, {"a": n, "b": n}), row
    counts: dict[tuple[str, str], int] = {}
    for call in result["calls"]:
        counts[call] = counts.get(call, 0) + 1
    # in one living process a callback never runs twice: only its response is retried
    assert len(counts) == 2 * JOBS and set(counts.values()) == {1}
    print(f"\n{fault}: {JOBS} jobs, {result['cuts']} faults, lost 0, doubled 0")
