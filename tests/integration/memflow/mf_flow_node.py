"""A MemFlow worker process for the flow-option tests, until stdin closes.

Usage: python -m tests.integration.memflow.mf_flow_node DSN
Three task queues, each a one-activity workflow whose proxy declares the
queue's limits: ``cap`` (concurrency 2), ``perkey`` (1 per customer) and
``rated`` (10 per second). Every activity call writes an ``mf_flow_ledger``
row (queue, key, pid, start and end from ``time.time()``, one machine).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import asyncpg

from hotmesh import MemFlow

POOL: dict[str, Any] = {}
LEDGER = (
    "CREATE TABLE mf_flow_ledger (id serial PRIMARY KEY, queue text, key text,"
    " pid int, started float8 NOT NULL, ended float8)"
)
HOLD = {"cap": 0.2, "perkey": 0.3, "rated": 0.0}


async def _work(queue: str, key: str) -> str:
    pool = POOL["pool"]
    row = await pool.fetchval(
        "INSERT INTO mf_flow_ledger (queue, key, pid, started) VALUES ($1, $2, $3, $4)"
        " RETURNING id",
        queue,
        key,
        os.getpid(),
        time.time(),
    )
    if HOLD[queue]:
        await asyncio.sleep(HOLD[queue])  # the work itself
    await pool.execute(
        "UPDATE mf_flow_ledger SET ended = $2 WHERE id = $1", row, time.time()
    )
    return key


async def capped(n: int) -> str:
    return await _work("cap", str(n))


async def keyed(customer: str, n: int) -> str:
    return await _work("perkey", customer)


async def rated(n: int) -> str:
    return await _work("rated", str(n))


async def cap_flow(n: int) -> str:
    acts = MemFlow.workflow.proxy_activities(
        activities={"capped": capped}, concurrency=2
    )
    return str(await acts.capped(n))


async def perkey_flow(customer: str, n: int) -> str:
    acts = MemFlow.workflow.proxy_activities(
        activities={"keyed": keyed}, concurrency={"limit": 1, "key": "customer"}
    )
    return str(await acts.keyed(customer, n))


async def rated_flow(n: int) -> str:
    acts = MemFlow.workflow.proxy_activities(
        activities={"rated": rated}, rate={"limit": 10, "period": "1s"}
    )
    return str(await acts.rated(n))


async def main(dsn: str) -> None:
    POOL["pool"] = await asyncpg.create_pool(dsn, min_size=1, max_size=8)
    workers = [
        await MemFlow.Worker.create(
            {
                "connection": {"dsn": dsn, "lease": 5, "poll": 0.5},
                "task_queue": queue,
                "workflow": fn,
                "activities": {act.__name__: act},
            }
        )
        for queue, fn, act in (
            ("cap", cap_flow, capped),
            ("perkey", perkey_flow, keyed),
            ("rated", rated_flow, rated),
        )
    ]
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for worker in workers:
        await worker.stop()
    await POOL["pool"].close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
