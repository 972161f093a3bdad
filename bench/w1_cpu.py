"""CPU time per W1 job, engine + workers + client in one process.

    python bench/w1_cpu.py [--jobs 3000] [--concurrency 50] [--profile out.prof]
                           [--tables]

Runs W1 (``bench/w1.py``'s app) in one process and prints the process's CPU
microseconds per job (``time.process_time``, which the load of a shared
machine distorts far less than wall time), and the CPU the scratch database's
backends spent meanwhile (``/proc/<pid>/stat``; the server on this host).
``--profile`` writes a cProfile of the timed phase; ``--tables`` prints
the rows each table gained, changed and lost per job (warm-up included), and
the share of updates that were HOT. Compare two commits with
``PYTHONPATH=<exported copy>``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import resource
import time
import uuid
from pathlib import Path

import asyncpg
from w1 import APP, work

from hotmesh import HotMesh

TICK = os.sysconf("SC_CLK_TCK")


async def server_cpu(admin: asyncpg.Connection, database: str) -> dict[int, float]:
    """CPU seconds so far of each backend of ``database`` (its pid's stat)."""
    pids = await admin.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1", database
    )
    out: dict[int, float] = {}
    for row in pids:
        try:
            fields = Path(f"/proc/{row['pid']}/stat").read_text().rsplit(")", 1)[1]
        except OSError:  # exited meanwhile, or the server is elsewhere
            continue
        utime, stime = fields.split()[11:13]
        out[row["pid"]] = (int(utime) + int(stime)) / TICK
    return out


async def print_tables(db: str, jobs: int) -> None:
    """Rows written per job to each table, and how many updates were HOT."""
    conn = await asyncpg.connect(db)
    try:
        await conn.execute("SELECT pg_stat_force_next_flush()")
        rows = await conn.fetch(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del,"
            " (SELECT count(*) FROM pg_index i WHERE i.indrelid = relid) AS idx"
            " FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd + n_tup_del > 0"
            " ORDER BY relname"
        )
    finally:
        await conn.close()
    print(f"{'table':<16} ins/job upd/job hot/upd del/job indexes")
    for r in rows:
        upd = r["n_tup_upd"]
        hot = r["n_tup_hot_upd"] / upd if upd else 0.0
        print(
            f"{r['relname']:<16} {r['n_tup_ins'] / jobs:7.2f} {upd / jobs:7.2f}"
            f" {hot:7.0%} {r['n_tup_del'] / jobs:7.2f} {r['idx']:7d}"
        )


async def main(
    dsn: str, jobs: int, concurrency: int, profile: Path | None, tables: bool
) -> None:
    admin = await asyncpg.connect(dsn)
    name = f"hm_bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    db = dsn.rsplit("/", 1)[0] + "/" + name
    try:
        hm = await HotMesh.init(
            app_id="w1",
            engine={"connection": {"dsn": db}},
            workers=[
                {"topic": "w1.a", "callback": work},
                {"topic": "w1.b", "callback": work},
            ],
        )
        try:
            await hm.deploy(APP)
            await hm.activate("1")
            sem = asyncio.Semaphore(concurrency)

            async def one(i: int) -> None:
                async with sem:
                    out = await hm.pubsub("w1.start", {"x": i}, timeout=60)
                    assert out["data"]["b"] == f"{i}!!"

            await asyncio.gather(*(one(i) for i in range(300)))  # warm up
            prof = cProfile.Profile(time.process_time) if profile else None
            before = await server_cpu(admin, name)
            cpu, wall = time.process_time(), time.perf_counter()
            ru = resource.getrusage(resource.RUSAGE_SELF)
            if prof:
                prof.enable()
            await asyncio.gather(*(one(i) for i in range(jobs)))
            if prof:
                prof.disable()
                prof.dump_stats(profile)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            end = resource.getrusage(resource.RUSAGE_SELF)
            after = await server_cpu(admin, name)
            server = sum(v - before.get(pid, 0.0) for pid, v in after.items())
            user = end.ru_utime - ru.ru_utime
            if tables:
                await print_tables(db, jobs + 300)
        finally:
            await hm.stop()
        print(
            f"W1 in-process: {cpu / jobs * 1e6:.0f} us CPU per job, "
            f"{user / jobs * 1e6:.0f} us of it user "
            f"({jobs} jobs, {concurrency} in flight, {jobs / wall:,.0f} jobs/s wall); "
            f"PostgreSQL backends {server / jobs * 1e6:.0f} us CPU per job"
        )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--profile", type=Path)
    parser.add_argument(
        "--tables", action="store_true", help="rows written per job, HOT updates"
    )
    args = parser.parse_args()
    asyncio.run(main(args.dsn, args.jobs, args.concurrency, args.profile, args.tables))
