"""W1 benchmark: trigger -> worker -> worker, engine + workers + client in one process.

Usage: .venv/bin/python bench/w1.py [--dsn DSN] [--jobs 500] [--concurrency 50]
Prints jobs/s, p50/p95 latency of a job run alone, and PostgreSQL transactions per job.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Any

import asyncpg

from hotmesh import HotMesh

APP = """
app:
  id: w1
  version: '1'
  graphs:
    - subscribes: w1.start
      expire: 60
      activities:
        t1:
          type: trigger
        a1:
          type: worker
          topic: w1.a
          input: {maps: {x: '{t1.output.data.x}'}}
          job: {maps: {a: '{$self.output.data.y}'}}
        a2:
          type: worker
          topic: w1.b
          input: {maps: {x: '{a1.output.data.y}'}}
          job: {maps: {b: '{$self.output.data.y}'}}
      transitions:
        t1: [{to: a1}]
        a1: [{to: a2}]
"""


async def work(message: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"y": f"{message['data']['x']}!"}}


async def _commits(admin: asyncpg.Connection, database: str) -> int:
    """Committed transactions of ``database``, once the exited backends' counts land."""
    last = -1
    while True:
        await admin.execute("SELECT pg_stat_clear_snapshot()")
        value = await admin.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", database
        )
        if value == last:
            return int(value)
        last = value
        await asyncio.sleep(0.2)  # settle: stats of exiting backends arrive async


async def main(dsn: str, jobs: int, concurrency: int) -> None:
    admin = await asyncpg.connect(dsn)
    name = f"hm_bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    db = dsn.rsplit("/", 1)[0] + "/" + name
    try:

        async def start() -> HotMesh:
            return await HotMesh.init(
                app_id="w1",
                engine={"connection": {"dsn": db}},
                workers=[
                    {"topic": "w1.a", "callback": work},
                    {"topic": "w1.b", "callback": work},
                ],
            )

        hm = await start()
        await hm.deploy(APP)
        await hm.activate("1")
        for _ in range(20):  # warm up
            await hm.pubsub("w1.start", {"x": 1})
        alone = []
        for i in range(100):
            t0 = time.perf_counter()
            await hm.pubsub("w1.start", {"x": i})
            alone.append((time.perf_counter() - t0) * 1000)
        # Backends flush their pg_stat counters when they exit, so the load
        # phase runs on a fresh instance between two stopped pools.
        await hm.stop()
        before = await _commits(admin, name)
        hm = await start()
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem:
                out = await hm.pubsub("w1.start", {"x": i}, timeout=60)
                assert out["data"]["b"] == f"{i}!!"

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(jobs)))
        elapsed = time.perf_counter() - t0
        await hm.stop()
        after = await _commits(admin, name)
        q = statistics.quantiles(alone, n=20)
        print(f"W1: {jobs} jobs, {concurrency} in flight: {jobs / elapsed:,.0f} jobs/s")
        print(
            f"latency alone: p50 {statistics.median(alone):.2f} ms, p95 {q[18]:.2f} ms"
        )
        print(
            f"transactions per job: {(after - before) / jobs:.2f} "
            "(includes one HotMesh.init and stop)"
        )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.dsn, args.jobs, args.concurrency))
