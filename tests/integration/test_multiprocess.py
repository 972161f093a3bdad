"""Several OS processes on one database: no job lost, none completed twice, crash recovery."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from hotmesh import HotMesh
from tests.integration.mp_node import APP
from tests.nodes import start_node, stop_nodes

Spawn = Callable[[str, float], Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def spawn(pg_dsn: str) -> AsyncIterator[Spawn]:
    """Start ``mp_node`` processes; they are stopped (stdin closed) or killed afterwards."""
    procs: list[asyncio.subprocess.Process] = []

    async def start(mode: str, lease: float) -> asyncio.subprocess.Process:
        return await start_node(
            procs, "tests.integration.mp_node", pg_dsn, mode, str(lease)
        )

    yield start
    await stop_nodes(procs, 15)


async def _setup(pg_dsn: str) -> HotMesh:
    conn = await asyncpg.connect(pg_dsn)
    await conn.execute(
        "CREATE TABLE mp_ledger (job_id text PRIMARY KEY, pid int, "
        "calls int NOT NULL DEFAULT 1)"
    )
    await conn.close()
    hm = await HotMesh.init(
        app_id="mp", engine={"connection": {"dsn": pg_dsn}, "poll": 0.2}
    )
    await hm.deploy(APP)
    await hm.activate("1")
    return hm


async def _ledger(pg_dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(pg_dsn)
    try:
        return await conn.fetch("SELECT job_id, pid, calls FROM mp_ledger")
    finally:
        await conn.close()


async def test_three_processes_complete_2000_jobs_once(
    pg_dsn: str, spawn: Spawn
) -> None:
    hm = await _setup(pg_dsn)
    try:
        for _ in range(3):
            await spawn("work", 30.0)
        sem = asyncio.Semaphore(100)

        async def one(i: int) -> str:
            async with sem:
                out = await hm.pubsub("mp.start", {"n": i}, timeout=60)
                assert out["data"] == {"a": i, "b": i}
                return str(out["metadata"]["jid"])

        ids = await asyncio.gather(*(one(i) for i in range(2000)))
    finally:
        await hm.stop()
    rows = await _ledger(pg_dsn)
    assert len(set(ids)) == 2000
    assert {r["job_id"] for r in rows} == set(ids)
    assert max(r["calls"] for r in rows) == 1
    assert len({r["pid"] for r in rows}) >= 2  # the work really was shared


async def test_killed_worker_claims_are_reclaimed(pg_dsn: str, spawn: Spawn) -> None:
    hm = await _setup(pg_dsn)
    try:
        hanging = await spawn("hang", 1.0)
        jobs = [
            asyncio.ensure_future(hm.pubsub("mp.start", {"n": i}, timeout=30))
            for i in range(20)
        ]
        assert hanging.stdout is not None
        line = await asyncio.wait_for(hanging.stdout.readline(), 10)
        assert line.startswith(b"claimed ")
        hanging.send_signal(signal.SIGKILL)
        await hanging.wait()
        await spawn("work", 1.0)
        outs = await asyncio.wait_for(asyncio.gather(*jobs), 30)
    finally:
        await hm.stop()
    assert sorted(o["data"]["b"] for o in outs) == list(range(20))
    rows = await _ledger(pg_dsn)
    assert len(rows) == 20 and max(r["calls"] for r in rows) == 1
