"""MemFlow's flow options across OS processes on real time (issue 17): the
limits a proxy declares are its task queue's, enforced in PostgreSQL, so two
worker processes together never go over them. Each property is read from a
ledger of activity start and end times written by the workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from hotmesh import MemFlow
from tests.integration.memflow.mf_flow_node import LEDGER
from tests.nodes import start_node, stop_nodes

NODE = "tests.integration.memflow.mf_flow_node"


@pytest.fixture
async def nodes(pg_dsn: str) -> AsyncIterator[Any]:
    """Two worker processes on a fresh ledger, and a client to start workflows."""
    conn = await asyncpg.connect(pg_dsn)
    await conn.execute(LEDGER)
    await conn.close()
    procs: list[asyncio.subprocess.Process] = []
    client = MemFlow.Client({"connection": {"dsn": pg_dsn}})
    try:
        for _ in range(2):
            await start_node(procs, NODE, pg_dsn)
        yield client
    finally:
        await client.close()
        await stop_nodes(procs, 15)


async def _run(client: Any, queue: str, args: list[list[Any]]) -> list[str]:
    """Start one workflow per argument list and wait for every result."""
    handles = [
        await client.workflow.start(
            args=a,
            task_queue=queue,
            workflow_name=f"{queue}_flow",
            workflow_id=f"{queue}-{i}",
        )
        for i, a in enumerate(args)
    ]
    return list(
        await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 120)
    )


async def _ledger(dsn: str, queue: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(
            "SELECT key, pid, started, ended FROM mf_flow_ledger WHERE queue = $1",
            queue,
        )
    finally:
        await conn.close()


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end before a start at a tie)."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


async def test_a_proxy_concurrency_of_2_holds_across_two_processes(
    nodes: Any, pg_dsn: str
) -> None:
    got = await _run(nodes, "cap", [[n] for n in range(30)])
    assert sorted(got, key=int) == [str(n) for n in range(30)]
    rows = await _ledger(pg_dsn, "cap")
    assert len(rows) == 30  # each call ran once
    intervals = [(r["started"], r["ended"]) for r in rows]
    # never more than 2 at once, and the limit is used (2 run side by side)
    assert _most_at_once(intervals) == 2, sorted(intervals)


async def test_a_per_key_limit_of_1_never_runs_a_key_twice_and_keys_run_side_by_side(
    nodes: Any, pg_dsn: str
) -> None:
    keys = [f"cust-{k}" for k in range(8)]
    got = await _run(nodes, "perkey", [[keys[i % 8], i] for i in range(32)])
    assert sorted(got) == sorted(keys * 4)
    rows = await _ledger(pg_dsn, "perkey")
    assert len(rows) == 32
    for key in keys:
        mine = [(r["started"], r["ended"]) for r in rows if r["key"] == key]
        assert len(mine) == 4
        assert _most_at_once(mine) == 1, (key, sorted(mine))
    # other keys are not held back: several keys ran at the same moment
    everyone = [(r["started"], r["ended"]) for r in rows]
    assert _most_at_once(everyone) >= 4, sorted(everyone)


async def test_a_proxy_rate_of_10_per_second_holds_across_two_processes(
    nodes: Any, pg_dsn: str
) -> None:
    await _run(nodes, "rated", [[n] for n in range(40)])
    starts = sorted(r["started"] for r in await _ledger(pg_dsn, "rated"))
    assert len(starts) == 40
    # 40 starts at 10 in any second take at least 3 s by the database's
    # clock; the ledger's times are the callbacks' own (a loaded machine
    # shifts a few), so the bounds are loose: unlimited, all 40 start at once.
    assert starts[-1] - starts[0] >= 2.5, starts
    first = starts[0]
    per_second = [
        sum(1 for s in starts if first + k <= s < first + k + 1) for k in range(5)
    ]
    assert max(per_second) <= 15, per_second
