"""A MemFlow chaos node: workflows with an activity, a sleep and a signal wait.

Usage: python -m tests.chaos.mf_node DSN LEASE
Each activity call is recorded in ``mf_calls`` (workflow, step, pid) before it
returns, so the test can tell a repeated call from one cut off by a kill.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import asyncpg

from hotmesh import MemFlow

POOL: dict[str, Any] = {}
LEDGER = (
    "CREATE TABLE IF NOT EXISTS mf_calls (id bigserial PRIMARY KEY, workflow_id text, "
    "step int, pid int)"
)


async def step(workflow_id: str, n: int) -> int:
    await POOL["pool"].execute(
        "INSERT INTO mf_calls (workflow_id, step, pid) VALUES ($1, $2, $3)",
        workflow_id,
        n,
        os.getpid(),
    )
    return n


async def chaotic(workflow_id: str, base: int) -> int:
    """An activity, a durable sleep, a signal wait, then another activity."""
    acts = MemFlow.workflow.proxy_activities(activities={"step": step})
    first = await acts.step(workflow_id, 1)
    await MemFlow.workflow.sleep_for(0.3)
    signal = await MemFlow.workflow.wait_for("go")
    second = await acts.step(workflow_id, 2)
    return int(base + first + second + signal["k"])


async def main(dsn: str, lease: float) -> None:
    POOL["pool"] = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    worker = await MemFlow.Worker.create(
        {
            # see tests/chaos/node.py: every claim a kill cuts counts as poison
            "connection": {
                "dsn": dsn,
                "lease": lease,
                "poll": 0.2,
                "options": {"poison_threshold": 50},
            },
            "task_queue": "chaos",
            "workflow": chaotic,
            "activities": {"step": step},
        }
    )
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await worker.stop()
    await POOL["pool"].close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
