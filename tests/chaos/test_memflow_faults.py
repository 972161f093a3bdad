"""MemFlow under connection faults: cuts and outages while workflows sleep and wait.

The worker's connections go through :class:`FaultyProxy`; the client's do not.
Every workflow must finish with the right result and, in this one living
process, every activity must run exactly once (an answer that fails to commit
is retried alone, without running the activity again).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest

from hotmesh import MemFlow
from tests.chaos.proxy import FaultyProxy
from tests.long import LONG

WORKFLOWS = 300 if LONG else 40
CALLS: Counter[tuple[str, int]] = Counter()


async def step(workflow_id: str, n: int) -> int:
    CALLS[(workflow_id, n)] += 1
    return n


async def faulty(workflow_id: str, base: int) -> int:
    acts = MemFlow.workflow.proxy_activities(activities={"step": step})
    first = await acts.step(workflow_id, 1)
    await MemFlow.workflow.sleep_for(0.3)
    signal = await MemFlow.workflow.wait_for("go")
    second = await acts.step(workflow_id, 2)
    return int(base + first + second + signal["k"])


@pytest.mark.timeout(600 if LONG else 120)
@pytest.mark.parametrize("fault", ["cut", "outage"])
async def test_memflow_survives_connection_faults(
    pg_dsn: str, proxy: FaultyProxy, fault: str
) -> None:
    CALLS.clear()
    worker = await MemFlow.Worker.create(
        {
            "connection": {"dsn": proxy.through(pg_dsn), "poll": 0.2},
            "task_queue": "faulty",
            "workflow": faulty,
            "activities": {"step": step},
        }
    )
    client = MemFlow.Client({"connection": {"dsn": pg_dsn}})
    done = asyncio.Event()

    async def chaos() -> int:
        faults = 0
        while not done.is_set():
            # random pauses between faults (the chaos itself, not a wait for work)
            if fault == "cut":
                await asyncio.sleep(random.uniform(0.1, 0.4))
                proxy.cut()
            else:
                await proxy.outage(1.0)
                await asyncio.sleep(random.uniform(0.5, 1.5))
            faults += 1
        return faults

    faults = asyncio.get_running_loop().create_task(chaos())
    try:
        handles: list[Any] = []
        for i in range(WORKFLOWS):
            wid = f"mff-{fault}-{i}"
            handles.append(
                await client.workflow.start(
                    args=[wid, i * 10],
                    task_queue="faulty",
                    workflow_name="faulty",
                    workflow_id=wid,
                )
            )
            if i % 2:  # early: kept until the wait registers
                await client.workflow.signal("go", {"k": 100}, workflow_id=wid)
        for i in range(0, WORKFLOWS, 2):
            await client.workflow.signal(
                "go", {"k": 100}, workflow_id=f"mff-{fault}-{i}"
            )
        results = await asyncio.wait_for(
            asyncio.gather(*(h.result() for h in handles)), 500 if LONG else 100
        )
    finally:
        done.set()
        count = await faults
        await client.close()
        await worker.stop()
    assert results == [i * 10 + 103 for i in range(WORKFLOWS)]  # nothing lost
    assert count >= 1
    assert len(CALLS) == 2 * WORKFLOWS and set(CALLS.values()) == {1}
    print(
        f"\nmemflow {fault}: {WORKFLOWS} workflows, {count} faults, lost 0, doubled 0"
    )
