"""A MemFlow worker process for the crash test: a 5-activity workflow until stdin closes.

Usage: python -m tests.integration.memflow.mf_node DSN MODE LEASE
Each completed activity adds one to ``mf_ledger`` (workflow id, step).
MODE ``crash``: step 3 prints ``step3 <workflow id>`` and never finishes (to be killed).
MODE ``work``: every step completes.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import asyncpg

from hotmesh import MemFlow

MODE = {"value": "work"}
POOL: dict[str, Any] = {}


async def step(workflow_id: str, n: int) -> int:
    if n == 3 and MODE["value"] == "crash":
        print(f"step3 {workflow_id}", flush=True)
        await asyncio.Event().wait()
    await POOL["pool"].execute(
        "INSERT INTO mf_ledger (workflow_id, step) VALUES ($1, $2) "
        "ON CONFLICT (workflow_id, step) DO UPDATE SET calls = mf_ledger.calls + 1",
        workflow_id,
        n,
    )
    return n


async def five_steps(workflow_id: str) -> int:
    acts = MemFlow.workflow.proxy_activities(activities={"step": step})
    total = 0
    for n in range(1, 6):
        total += await acts.step(workflow_id, n)
    return total


async def main(dsn: str, mode: str, lease: float) -> None:
    MODE["value"] = mode
    POOL["pool"] = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    worker = await MemFlow.Worker.create(
        {
            "connection": {"dsn": dsn, "lease": lease, "poll": 0.2},
            "task_queue": "crash",
            "workflow": five_steps,
            "activities": {"step": step},
        }
    )
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await worker.stop()
    await POOL["pool"].close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
