"""MemFlow control: a query on a workflow with a long history, and an update round trip.

Usage: ``python bench/memflow_control.py [--dsn DSN] [--steps 100] [--queries 200]
[--updates 200] [--pgbench 10]``

In a scratch database (dropped afterwards), one process:

- **query**: a workflow runs ``--steps`` activities (each a recorded step),
  then waits on a condition; ``--queries`` queries are asked one after
  another. A query replays the recorded history in the asking process, so its
  cost grows with the history: issue 19 asks p50 <= 10 ms at 100 steps.
- **update**: a workflow waits on its inbox; ``--updates`` updates are sent
  one after another, each adding to a counter and answering its new value.
  Latency is ``execute_update`` end to end (validate, record, wake the
  workflow, apply, answer): issue 19 asks p50 <= 15 ms.

The machine is shared: report ``uptime`` and pgbench beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from hotmesh import MemFlow
from hotmesh.store.admin import create_database, drop_database

wf = MemFlow.workflow


async def step(n: int) -> int:
    return n + 1


@wf.defn
class LongHistory:
    def __init__(self) -> None:
        self.done = 0
        self.stop = False

    @wf.run
    async def run(self, steps: int) -> int:
        acts = wf.proxy_activities(activities={"step": step})
        for i in range(steps):
            self.done = await acts.step(i)
        await wf.wait_condition(lambda: self.stop)
        return self.done

    @wf.query
    def progress(self) -> int:
        return self.done

    @wf.signal
    def finish(self) -> None:
        self.stop = True


@wf.defn
class Counter:
    def __init__(self) -> None:
        self.total = 0
        self.stop = False

    @wf.run
    async def run(self) -> int:
        await wf.wait_condition(lambda: self.stop)
        return self.total

    @wf.update
    async def add(self, n: int) -> int:
        self.total += n
        return self.total

    @wf.signal
    def finish(self) -> None:
        self.stop = True


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


async def main(dsn: str, steps: int, queries: int, updates: int) -> dict[str, Any]:
    name = f"bench_mfc_{uuid.uuid4().hex[:8]}"
    await create_database(dsn, name)
    conn = {"dsn": dsn.rsplit("/", 1)[0] + "/" + name}
    out: dict[str, Any] = {"load": os.getloadavg()[0], "steps": steps}
    try:
        workers = [
            await MemFlow.Worker.create(
                {"connection": conn, "task_queue": "ctl", "workflow": w}
            )
            for w in (LongHistory, Counter)
        ]
        client = MemFlow.Client({"connection": conn})
        try:
            long = await client.workflow.start(
                args=[steps],
                task_queue="ctl",
                workflow_name=LongHistory,
                workflow_id="long",
            )
            while await long.query(LongHistory.progress) < steps:
                await asyncio.sleep(0.05)  # the bench waits for its own set-up
            samples = []
            for _ in range(queries):
                began = time.perf_counter()
                assert await long.query(LongHistory.progress) == steps
                samples.append(time.perf_counter() - began)
            out["query"] = _summary(samples)

            counter = await client.workflow.start(
                args=[], task_queue="ctl", workflow_name=Counter, workflow_id="ctr"
            )
            samples = []
            for i in range(updates):
                began = time.perf_counter()
                assert await counter.execute_update(Counter.add, 1) == i + 1
                samples.append(time.perf_counter() - began)
            out["update"] = _summary(samples)
            for handle in (long, counter):
                await handle.signal("finish")
                await handle.result()
        finally:
            await client.close()
            for w in workers:
                await w.stop()
    finally:
        await drop_database(dsn, name)
    return out


async def with_pgbench(dsn: str, seconds: int) -> dict[str, Any]:
    """pgbench -N (1 and 8 clients) in the same run, for scale on a shared machine."""
    sys.path.insert(0, str(Path(__file__).parent))
    from run import run_pgbench  # bench/run.py's, so both report alike

    admin = await asyncpg.connect(dsn)
    try:
        return await run_pgbench(admin, dsn, seconds)
    finally:
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--pgbench", type=int, default=10, help="seconds (0: skip)")
    args = parser.parse_args()
    result = asyncio.run(main(args.dsn, args.steps, args.queries, args.updates))
    if args.pgbench:
        result["pgbench"] = asyncio.run(with_pgbench(args.dsn, args.pgbench))
    print(json.dumps(result, indent=2))
