"""A heartbeating activity that resumes where it stopped (MemFlow).

    python examples/memflow_heartbeat.py                  # one process
    python -m examples.memflow_heartbeat serve DSN LEASE  # a worker process

The behaviour of Temporal's Python heartbeat sample, written anew: an
activity works through records 1..total and heartbeats the number of the
last one done. A new attempt of it (a retry after a failure, or the same
work taken back from a worker that was killed) reads that number from
``activity.info().heartbeat_details`` and carries on after it instead of
starting over.

Run alone, the first attempt fails at record 5 and the retry resumes there.
tests/integration/memflow/test_heartbeat_sample.py runs ``serve`` in a
process, kills it with SIGKILL mid-way, and a second process finishes the
work from the last heartbeat the first one wrote. Uses DATABASE_URL /
HOTMESH_DSN when set, otherwise a private embedded PostgreSQL.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

from hotmesh import MemFlow
from hotmesh.config import resolve_dsn
from hotmesh.memflow import activity

wf = MemFlow.workflow
TASK_QUEUE = "heartbeat-sample"
#: seconds each record's work takes
RECORD_TIME = 0.05
#: run alone: the first attempt fails after this record (the "crash")
FAIL_AFTER = {"record": 0}


async def process_records(total: int) -> dict[str, Any]:
    """Work through records 1..total, resuming after the last heartbeat."""
    info = activity.info()
    done = int(info.heartbeat_details[0]) if info.heartbeat_details else 0
    print(f"attempt {info.attempt} resumes after record {done}", flush=True)
    for n in range(done + 1, total + 1):
        await asyncio.sleep(RECORD_TIME)  # the record's work
        activity.heartbeat(n)
        print(f"record {n} attempt {info.attempt}", flush=True)
        if info.attempt == 1 and n == FAIL_AFTER["record"]:
            raise ConnectionError(f"lost the connection after record {n}")
    return {"records": total, "attempt": info.attempt, "resumed_after": done}


async def process_batch(total: int) -> dict[str, Any]:
    acts = wf.proxy_activities(
        activities={"process_records": process_records},
        heartbeat_timeout="5s",
        retry_policy={"initial_interval": "200ms"},
    )
    return await acts.process_records(total)


async def serve(dsn: str, lease: float) -> None:
    """A worker process: prints ``ready``, works until its stdin closes."""
    worker = await MemFlow.Worker.create(
        {
            "connection": {"dsn": dsn, "lease": lease, "poll": 0.2},
            "task_queue": TASK_QUEUE,
            "workflow": process_batch,
            # registered up front: this process may run the activity before
            # it has run the workflow (work taken back from a killed worker)
            "activities": {"process_records": process_records},
        }
    )
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await worker.stop()


async def main(dsn: str | None = None) -> dict[str, Any]:
    conn = {"dsn": dsn or resolve_dsn(None)}
    FAIL_AFTER["record"] = 5
    try:
        async with MemFlow.Worker.create(
            {"connection": conn, "task_queue": TASK_QUEUE, "workflow": process_batch}
        ):
            async with MemFlow.Client({"connection": conn}) as client:
                handle = await client.workflow.start(
                    args=[8],
                    task_queue=TASK_QUEUE,
                    workflow_name=process_batch,
                    workflow_id=f"batch-{uuid.uuid4().hex[:8]}",
                )
                result: dict[str, Any] = await handle.result()
    finally:
        FAIL_AFTER["record"] = 0
    print(result)  # {'records': 8, 'attempt': 2, 'resumed_after': 5}
    return result


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        asyncio.run(serve(sys.argv[2], float(sys.argv[3])))
    else:
        asyncio.run(main())
