"""A MemFlow worker process killed with SIGKILL mid-workflow: another one finishes it."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from hotmesh import MemFlow
from tests.nodes import start_node, stop_nodes

Spawn = Callable[[str], Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def spawn(pg_dsn: str) -> AsyncIterator[Spawn]:
    """Start ``mf_node`` processes (lease 1 s); stopped or killed afterwards."""
    procs: list[asyncio.subprocess.Process] = []

    async def start(mode: str) -> asyncio.subprocess.Process:
        return await start_node(
            procs, "tests.integration.memflow.mf_node", pg_dsn, mode, "1.0"
        )

    yield start
    await stop_nodes(procs, 15)


async def test_sigkill_mid_workflow_then_a_new_process_finishes_it(
    pg_dsn: str, spawn: Spawn
) -> None:
    conn = await asyncpg.connect(pg_dsn)
    await conn.execute(
        "CREATE TABLE mf_ledger (workflow_id text, step int, "
        "calls int NOT NULL DEFAULT 1, PRIMARY KEY (workflow_id, step))"
    )
    client = MemFlow.Client({"connection": {"dsn": pg_dsn}})
    try:
        doomed = await spawn("crash")
        ids = [f"crash-{i}" for i in range(3)]
        handles = [
            await client.workflow.start(
                args=[wid],
                task_queue="crash",
                workflow_name="five_steps",
                workflow_id=wid,
            )
            for wid in ids
        ]
        assert doomed.stdout is not None
        seen = set()
        while len(seen) < len(ids):  # every workflow is inside step 3 now
            line = await asyncio.wait_for(doomed.stdout.readline(), 20)
            seen.add(line.split()[1].decode())
        doomed.send_signal(signal.SIGKILL)
        await doomed.wait()
        before = await conn.fetch("SELECT workflow_id, step, calls FROM mf_ledger")
        assert sorted((r["workflow_id"], r["step"]) for r in before) == sorted(
            (wid, n) for wid in ids for n in (1, 2)
        )
        await spawn("work")
        results = await asyncio.wait_for(
            asyncio.gather(*(h.result() for h in handles)), 30
        )
        assert results == [15, 15, 15]
        rows = await conn.fetch("SELECT workflow_id, step, calls FROM mf_ledger")
        assert sorted((r["workflow_id"], r["step"]) for r in rows) == sorted(
            (wid, n) for wid in ids for n in range(1, 6)
        )
        assert {r["calls"] for r in rows} == {1}  # every completed step ran once
    finally:
        await client.close()
        await conn.close()
