"""A MemFlow chaos node: workflows with an activity, a sleep and a signal wait,
workflows steered by updates, signals and cancellations, and workflows whose
activity heartbeats its progress.

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
from hotmesh.memflow import activity

POOL: dict[str, Any] = {}
LEDGER = (
    "CREATE TABLE IF NOT EXISTS mf_calls (id bigserial PRIMARY KEY, workflow_id text, "
    "step int, pid int); "
    "CREATE TABLE IF NOT EXISTS mf_records (id bigserial PRIMARY KEY, "
    "workflow_id text, n int, pid int, attempt int)"
)
#: the channel each processed record is announced on (the test counts them)
RECORDED = "mf_records"


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


#: the ``step`` number the cleanup activity records in ``mf_calls``
CLEANUP = 99


async def cleanup(workflow_id: str) -> str:
    return f"cleaned {await step(workflow_id, CLEANUP)}"


wf = MemFlow.workflow


@wf.defn(name="steered")
class Steered:
    """Applies ``add`` updates until ``finish``, then runs an activity; a
    cancellation runs a shielded cleanup activity, then ends the workflow."""

    def __init__(self) -> None:
        self.applied: list[int] = []
        self.finished = False

    @wf.run
    async def run(self, workflow_id: str) -> list[int]:
        acts = wf.proxy_activities(activities={"step": step, "cleanup": cleanup})
        try:
            await wf.wait_condition(lambda: self.finished)
            await acts.step(workflow_id, 1)
            return list(self.applied)
        except asyncio.CancelledError:
            async with wf.shielded():
                await acts.cleanup(workflow_id)
            raise

    @wf.update
    async def add(self, n: int) -> int:
        self.applied.append(n)
        return len(self.applied)

    @wf.signal
    def finish(self) -> None:
        self.finished = True


async def count(workflow_id: str, total: int) -> dict[str, int]:
    """Process records 1..total, heartbeating each; an attempt starts after
    the last heartbeat an earlier one wrote."""
    info = activity.info()
    done = int(info.heartbeat_details[0]) if info.heartbeat_details else 0
    for n in range(done + 1, total + 1):
        await asyncio.sleep(0.03)  # the record's work
        await POOL["pool"].execute(
            "WITH r AS (INSERT INTO mf_records (workflow_id, n, pid, attempt) "
            "VALUES ($1, $2, $3, $4)) SELECT pg_notify($5, $1)",
            workflow_id,
            n,
            os.getpid(),
            info.attempt,
            RECORDED,
        )
        activity.heartbeat(n)
    return {"attempt": info.attempt, "resumed_after": done}


async def beating(workflow_id: str, total: int) -> dict[str, int]:
    acts = wf.proxy_activities(
        activities={"count": count},
        heartbeat_timeout="10s",
        retry_policy={"initial_interval": "200ms"},
    )
    return await acts.count(workflow_id, total)


async def main(dsn: str, lease: float) -> None:
    POOL["pool"] = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    # see tests/chaos/node.py: every claim a kill cuts counts as poison
    connection = {
        "dsn": dsn,
        "lease": lease,
        "poll": 0.2,
        "options": {"poison_threshold": 50},
    }
    workers = [
        await MemFlow.Worker.create(
            {
                "connection": connection,
                "task_queue": queue,
                "workflow": workflow,
                "activities": {"step": step, "cleanup": cleanup, "count": count},
            }
        )
        for queue, workflow in (
            ("chaos", chaotic),
            ("steered", Steered),
            ("beating", beating),
        )
    ]
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for worker in workers:
        await worker.stop()
    await POOL["pool"].close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
