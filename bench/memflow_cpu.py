"""CPU time per MemFlow W1 workflow, engine + workers + client in one process.

    python bench/memflow_cpu.py [--workflows 1000] [--concurrency 50]
                                [--profile out.prof]

Runs MemFlow W1 (``bench/run.py``'s workflow of two sequential activities)
in one process and prints the process's CPU microseconds per workflow
(``time.process_time``) with the writing transactions, rows and WAL of the
timed phase read as ``bench/run.py`` reads them (stats once every backend of
the scratch database is gone). ``--profile`` writes a cProfile of the timed
phase. Compare two commits with ``PYTHONPATH=<exported copy>``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import resource
import time
import uuid
from pathlib import Path

import asyncpg
from run import MF_ACTIVITIES, MF_ACTS_QUEUE, MF_QUEUE, bench_w1_workflow

from hotmesh import MemFlow

SQL_XACT = "SELECT xact_commit FROM pg_stat_database WHERE datname = $1"
SQL_ROWS = (
    "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
    "FROM pg_stat_user_tables WHERE schemaname = 'hotmesh'"
)


async def _quiet(admin: asyncpg.Connection, name: str) -> None:
    """Wait until no backend is on ``name`` (each flushes its stats on exit)."""
    for _ in range(600):
        n = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name
        )
        if not n:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"backends still on {name}")


async def _counts(admin: asyncpg.Connection, db: str, name: str) -> tuple[int, int]:
    await _quiet(admin, name)
    conn = await asyncpg.connect(db)
    try:
        rows = int(await conn.fetchval(SQL_ROWS))
    finally:
        await conn.close()
    await _quiet(admin, name)
    return int(await admin.fetchval(SQL_XACT, name)), rows


async def _start(db: str) -> MemFlow.Client:
    connection = {"dsn": db}
    await MemFlow.register_activity_worker(
        {"connection": connection, "task_queue": MF_ACTS_QUEUE}, MF_ACTIVITIES
    )
    await MemFlow.Worker.create(
        {
            "connection": connection,
            "task_queue": MF_QUEUE,
            "workflow": bench_w1_workflow,
        }
    )
    return MemFlow.Client({"connection": connection})


async def _run(client: MemFlow.Client, prefix: str, n: int, concurrency: int) -> None:
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            handle = await client.workflow.start(
                args=[i],
                task_queue=MF_QUEUE,
                workflow_name="bench_w1_workflow",
                workflow_id=f"{prefix}-{i}",
            )
            assert await handle.result() == (i + 1) * 2

    await asyncio.gather(*(one(i) for i in range(n)))


async def main(dsn: str, n: int, concurrency: int, profile: Path | None) -> None:
    admin = await asyncpg.connect(dsn)
    name = f"hm_bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    db = dsn.rsplit("/", 1)[0] + "/" + name
    try:
        client = await _start(db)
        await _run(client, "warm", 200, concurrency)
        await MemFlow.shutdown()
        xact0, rows0 = await _counts(admin, db, name)
        lsn0 = await admin.fetchval("SELECT pg_current_wal_lsn()")
        client = await _start(db)
        prof = cProfile.Profile(time.process_time) if profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        ru = resource.getrusage(resource.RUSAGE_SELF)
        if prof:
            prof.enable()
        await _run(client, "load", n, concurrency)
        if prof:
            prof.disable()
            prof.dump_stats(profile)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        user = resource.getrusage(resource.RUSAGE_SELF).ru_utime - ru.ru_utime
        await MemFlow.shutdown()
        lsn1 = await admin.fetchval("SELECT pg_current_wal_lsn()")
        xact1, rows1 = await _counts(admin, db, name)
        wal = await admin.fetchval("SELECT $1::pg_lsn - $2::pg_lsn", lsn1, lsn0)
        print(
            f"MemFlow W1 in-process: {cpu / n * 1e6:.0f} us CPU per workflow, "
            f"{user / n * 1e6:.0f} us of it user; {n / wall:,.0f} wf/s wall; "
            f"{(xact1 - xact0) / n:.2f} xact (incl. the start/stop of one run), "
            f"{(rows1 - rows0) / n:.1f} rows, {float(wal) / n:,.0f} B WAL "
            f"(server-wide) per workflow ({n} workflows, {concurrency} in flight)"
        )
    finally:
        await MemFlow.shutdown()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--workflows", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    asyncio.run(main(args.dsn, args.workflows, args.concurrency, args.profile))
