"""Kill chaos: SIGKILLs of engine+worker processes while jobs run; none lost, none doubled.

CI runs a short version (a few hundred jobs, a few kills). ``HOTMESH_LONG=1``
runs the long one (10,000 jobs across 4 processes, a kill every ~2 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from hotmesh import HotMesh
from tests.chaos.node import APP, LEDGER
from tests.long import LONG
from tests.nodes import start_node, stop_nodes
from tests.waiting import until_notified

JOBS = 10_000 if LONG else 1500
KILL_EVERY = 2.0 if LONG else 1.0
PROCESSES = 4
LEASE = 2.0


class Cluster:
    """Node processes on one database, killed and restarted on demand."""

    def __init__(self, dsn: str, module: str = "tests.chaos.node") -> None:
        self.dsn = dsn
        self.module = module
        self.procs: list[asyncio.subprocess.Process] = []
        self.killed: set[int] = set()
        self.restarts: list[asyncio.Task[asyncio.subprocess.Process]] = []

    async def start(self) -> asyncio.subprocess.Process:
        return await start_node(self.procs, self.module, self.dsn, str(LEASE))

    async def kill_one(self) -> None:
        """SIGKILL a random node; its replacement starts in the background."""
        alive = [p for p in self.procs if p.returncode is None]
        if alive:
            await self.kill(random.choice(alive))

    async def kill(self, victim: asyncio.subprocess.Process) -> None:
        """SIGKILL ``victim``; its replacement starts in the background."""
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        self.killed.add(victim.pid)
        self.procs.remove(victim)
        self.restarts.append(asyncio.get_running_loop().create_task(self.start()))

    async def stop(self) -> None:
        await asyncio.gather(*self.restarts, return_exceptions=True)
        await stop_nodes(self.procs, 20)

    @asynccontextmanager
    async def killing(
        self, every: tuple[float, float] = (0.8, 1.4)
    ) -> AsyncIterator[Kills]:
        """SIGKILL a node at once, then one every ``every`` seconds (drawn at
        random), while the block runs; ``count`` is final once it ends."""
        stop = asyncio.Event()
        kills = Kills()

        async def loop() -> None:
            while not stop.is_set():
                await self.kill_one()
                kills.count += 1
                try:
                    await asyncio.wait_for(stop.wait(), random.uniform(*every))
                except TimeoutError:
                    pass

        task = asyncio.get_running_loop().create_task(loop())
        try:
            yield kills
        finally:
            stop.set()
            await task


class Kills:
    """How many nodes a :meth:`Cluster.killing` block has killed."""

    count = 0


@pytest.fixture
async def cluster(pg_dsn: str) -> AsyncIterator[Cluster]:
    conn = await asyncpg.connect(pg_dsn)
    await conn.execute(LEDGER)
    await conn.close()
    made = Cluster(pg_dsn)
    yield made
    await made.stop()


EXPECTED_STEPS = {"chaos.seq": 2, "chaos.fan": 5, "chaos.order": 2}


@pytest.mark.timeout(900 if LONG else 300)
async def test_sigkill_chaos_loses_and_doubles_nothing(
    pg_dsn: str, cluster: Cluster
) -> None:
    client = await HotMesh.init("chaos", engine={"connection": {"dsn": pg_dsn}})
    await client.deploy(APP)
    await client.activate("1")
    for _ in range(PROCESSES):
        await cluster.start()
    topics = list(EXPECTED_STEPS)
    jobs = {f"j{i}": (topics[i % 3], i) for i in range(JOBS)}
    stop_killing = asyncio.Event()

    async def killer() -> int:
        kills = 0
        while not stop_killing.is_set():
            try:
                await asyncio.wait_for(stop_killing.wait(), KILL_EVERY)
            except TimeoutError:
                await cluster.kill_one()
                kills += 1
        return kills

    chaos = asyncio.get_running_loop().create_task(killer())
    try:
        sem = asyncio.Semaphore(50)

        async def publish(job_id: str, topic: str, n: int) -> None:
            async with sem:
                await client.pub(topic, {"id": job_id, "n": n})

        await asyncio.gather(*(publish(j, t, n) for j, (t, n) in jobs.items()))
        # Generous: a node is killed every second and a loaded machine takes
        # seconds to start its replacement; the loop ends once all are done.
        conn = await asyncpg.connect(pg_dsn)
        try:

            async def all_done() -> bool:
                return not await conn.fetchval(
                    "SELECT count(*) FROM hotmesh.jobs WHERE app_id = 'chaos' AND status <> 0"
                )

            # other processes' work: only the database tells
            with contextlib.suppress(AssertionError):  # the checks below say which
                await until_notified(pg_dsn, all_done, 600 if LONG else 180, "jobs")
            stop_killing.set()
            kills = await chaos
            rows = await conn.fetch(
                "SELECT job_id, topic, status, data, err FROM hotmesh.jobs WHERE app_id = 'chaos'"
            )
            calls = await conn.fetch(
                "SELECT job_id, activity, pid FROM chaos_calls ORDER BY id"
            )
        finally:
            await conn.close()
    finally:
        stop_killing.set()
        await client.stop()
    assert kills >= 3
    assert len(rows) == JOBS  # nothing lost
    for record in rows:
        row = {**record, "data": json.loads(record["data"])}
        assert row["status"] == 0 and row["err"] is None, (
            row["job_id"],
            row["status"],
            row["err"],
        )
        # every step applied exactly once: the per-job step counter is exact
        assert row["data"]["steps"] == EXPECTED_STEPS[row["topic"]], row
        n = jobs[row["job_id"]][1]
        if row["topic"] == "chaos.seq":
            assert (row["data"].get("a"), row["data"].get("b")) == (n, n), row
        elif row["topic"] == "chaos.order":
            assert row["data"].get("branch") == ("even" if n % 2 == 0 else "odd"), row
    by_activity: dict[tuple[str, str], list[int]] = {}
    for call in calls:
        by_activity.setdefault((call["job_id"], call["activity"]), []).append(
            call["pid"]
        )
    repeated = 0
    for pids in by_activity.values():
        # a worker ran more than once only when a killed process cut it off
        assert all(pid in cluster.killed for pid in pids[:-1]), pids
        repeated += len(pids) > 1
    print(
        f"\nchaos: {JOBS} jobs, {kills} kills, lost 0, doubled 0, re-run cut-off calls {repeated}"
    )
