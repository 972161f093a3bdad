"""Flow limits across OS processes on real time (issue 17's must-shows): a
topic limit of 3 over 4 processes while one is SIGKILLed and restarted, the
same for a limit of 20 whose work is handed over pre-claimed, a per-key limit
set with set_topic_limits whose keys the processes resolve, and a rate of
50/s over 10 s."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import asyncpg

from tests.integration.conftest import MeshFactory
from tests.integration.flow_node import APP, LEDGER
from tests.nodes import start_node, stop_nodes
from tests.waiting import until_notified

NODE = "tests.integration.flow_node"


async def _wait(dsn: str, query: str, count: int, timeout: float) -> int:
    """``query``'s count once it reaches ``count`` (or at the timeout)."""
    conn = await asyncpg.connect(dsn)
    got = 0

    async def reached() -> bool:
        nonlocal got
        got = int(await conn.fetchval(query))
        return got >= count

    try:  # other processes' work: only the database tells
        with contextlib.suppress(AssertionError):  # the caller's checks say more
            await until_notified(dsn, reached, timeout, query)
        return got
    finally:
        await conn.close()


async def _ledger(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch("SELECT job_id, pid, started, ended FROM flow_ledger")
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


async def test_a_topic_limit_of_3_holds_over_4_processes_through_a_sigkill(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    conn = await asyncpg.connect(pg_dsn)
    await conn.execute(LEDGER)
    await conn.close()
    hm = await mesh("fl", schedules=False)
    await hm.deploy(APP)
    await hm.activate("1")  # declares concurrency 3 on fl.limited
    procs: list[asyncio.subprocess.Process] = []
    try:
        for _ in range(4):
            await start_node(procs, NODE, pg_dsn, "fl.limited", "5", "0.01")
        for chunk in range(0, 500, 100):
            await asyncio.gather(
                *(hm.pub("fl.limited", {"n": n}) for n in range(chunk, chunk + 100))
            )
        ended = "SELECT count(*) FROM flow_ledger WHERE ended IS NOT NULL"
        got = await _wait(pg_dsn, ended, 150, 60)
        assert got >= 150, got
        victim = procs[0]
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        killed_at = time.time()
        await start_node(procs, NODE, pg_dsn, "fl.limited", "5", "0.01")
        done = "SELECT count(*) FROM hotmesh.jobs WHERE app_id = 'fl' AND status = 0"
        got = await _wait(pg_dsn, done, 500, 120)
        assert got == 500, got
    finally:
        await stop_nodes(procs, 10)
    rows = await _ledger(pg_dsn)
    # a callback of the killed process stopped running when it was killed
    intervals = [
        (r["started"], r["ended"] if r["ended"] is not None else killed_at)
        for r in rows
    ]
    unended = [r for r in rows if r["ended"] is None and r["pid"] != victim.pid]
    assert unended == []
    assert _most_at_once(intervals) == 3, sorted(intervals)[:20]
    finished = {r["job_id"] for r in rows if r["ended"] is not None}
    assert len(finished) == 500, len(finished)
    # Work went on after the kill, within the limit. Which process wins each
    # slot is a race: the three survivors can fill all three, so the restarted
    # process is not required to get any (it failed CI that way once).
    assert any(r["started"] > killed_at for r in rows)


async def test_a_limit_of_20_handed_over_in_each_process_holds_through_a_sigkill(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    # fl.handed's work is sent by steps that run in the nodes (after fl.first),
    # so it is handed over pre-claimed while the limit has room (flow_grant's
    # gates), and claimed once it has not: both paths, across 4 processes.
    conn = await asyncpg.connect(pg_dsn)
    await conn.execute(LEDGER)
    await conn.close()
    hm = await mesh("fl", schedules=False)
    await hm.deploy(APP)
    await hm.activate("1")  # declares concurrency 20 on fl.handed
    procs: list[asyncio.subprocess.Process] = []
    args = ("fl.handed", "5", "0.05", "fl.first")
    try:
        for _ in range(4):
            await start_node(procs, NODE, pg_dsn, *args)
        for chunk in range(0, 400, 100):
            await asyncio.gather(
                *(hm.pub("fl.handed", {"n": n}) for n in range(chunk, chunk + 100))
            )
        ended = "SELECT count(*) FROM flow_ledger WHERE ended IS NOT NULL"
        assert await _wait(pg_dsn, ended, 120, 60) >= 120
        victim = procs[0]
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        killed_at = time.time()
        await start_node(procs, NODE, pg_dsn, *args)
        done = "SELECT count(*) FROM hotmesh.jobs WHERE app_id = 'fl' AND status = 0"
        got = await _wait(pg_dsn, done, 400, 120)
        assert got == 400, got
    finally:
        await stop_nodes(procs, 10)
    rows = await _ledger(pg_dsn)
    intervals = [
        (r["started"], r["ended"] if r["ended"] is not None else killed_at)
        for r in rows
    ]
    assert [r for r in rows if r["ended"] is None and r["pid"] != victim.pid] == []
    assert _most_at_once(intervals) <= 20, sorted(intervals)[:40]
    assert len({r["job_id"] for r in rows if r["ended"] is not None}) == 400


async def test_a_per_key_limit_set_through_the_api_holds_over_3_processes(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    # fl.keyed's work is sent by steps that run in the nodes (after fl.kfirst),
    # so each node resolves the topic's key expression, read at its start.
    conn = await asyncpg.connect(pg_dsn)
    await conn.execute(LEDGER)
    await conn.close()
    hm = await mesh("fl", schedules=False)
    await hm.deploy(APP)
    await hm.activate("1")
    key = "{$job.data.customer}"
    await hm.set_topic_limits("fl.keyed", concurrency={"limit": 1, "key": key})
    procs: list[asyncio.subprocess.Process] = []
    try:
        for _ in range(3):
            await start_node(procs, NODE, pg_dsn, "fl.keyed", "5", "0.1", "fl.kfirst")
        customer = {}
        for n in range(60):
            job_id = await hm.pub("fl.keyed", {"customer": f"c{n % 12}"})
            customer[job_id] = f"c{n % 12}"
        ended = "SELECT count(*) FROM flow_ledger WHERE ended IS NOT NULL"
        assert await _wait(pg_dsn, ended, 60, 60) == 60
    finally:
        await stop_nodes(procs, 10)
    rows = await _ledger(pg_dsn)
    assert sorted(customer[r["job_id"]] for r in rows) == sorted(customer.values())
    for key_value in set(customer.values()):
        mine = [
            (r["started"], r["ended"])
            for r in rows
            if customer[r["job_id"]] == key_value
        ]
        assert _most_at_once(mine) == 1, (key_value, sorted(mine))
    # other keys are not held back: several ran at once, in several processes
    assert _most_at_once([(r["started"], r["ended"]) for r in rows]) >= 4
    assert len({r["pid"] for r in rows}) >= 2


async def test_a_rate_of_50_per_second_holds_within_10_percent_over_10_seconds(
    mesh: MeshFactory, pg_dsn: str
) -> None:
    conn = await asyncpg.connect(pg_dsn)
    await conn.execute(LEDGER)
    await conn.close()
    hm = await mesh("fl", schedules=False)
    await hm.deploy(APP)
    await hm.activate("1")
    await hm.set_topic_limits("fl.rated", rate={"limit": 50, "period": "1s"})
    procs: list[asyncio.subprocess.Process] = []
    try:
        for chunk in range(0, 700, 100):  # 14 s of work at 50/s: never drained
            await asyncio.gather(
                *(hm.pub("fl.rated", {"n": n}) for n in range(chunk, chunk + 100))
            )
        for _ in range(3):
            await start_node(procs, NODE, pg_dsn, "fl.rated", "5", "0")
        started = "SELECT count(*) FROM flow_ledger"
        assert await _wait(pg_dsn, started, 620, 40) >= 620
    finally:
        await stop_nodes(procs, 10)
    starts = sorted(r["started"] for r in await _ledger(pg_dsn))
    first = starts[0]
    in_ten = [s for s in starts if first + 1 <= s < first + 11]
    assert 450 <= len(in_ten) <= 550, len(in_ten)
    # and second by second: never far over the limit. The times are the
    # callbacks' starts as the worker processes saw them, so a loaded machine
    # can push a few granted in one second into the next (58 was seen at load
    # 12); an unlimited topic would start the whole backlog in one second.
    per_second = [
        sum(1 for s in starts if first + k <= s < first + k + 1) for k in range(1, 11)
    ]
    assert max(per_second) <= 75, per_second
