"""Cancellation with cleanup: the behaviour of Temporal's hello_cancellation, on MemFlow.

    python examples/memflow_cancellation.py

Uses DATABASE_URL / HOTMESH_DSN when set, otherwise a private embedded
PostgreSQL. Written from what the Temporal Python sample does, not from its
code: an activity that never completes heartbeats every second; the workflow
runs it and, in ``finally``, a cleanup activity; the client cancels the
workflow while the activity runs. The activity learns of the cancellation at
its next heartbeat, the cleanup runs, and the workflow ends cancelled. It
prints, as the sample does::

    Heartbeating activity          (once a second, until the cancellation)
    Activity cancelled
    Executing cleanup activity
    Got expected exception: ...

What differs from Temporal: the cleanup activity runs inside
``wf.shielded()`` (Temporal runs a workflow's ``finally`` without one, as a
cancelled workflow's further activities are not cancelled there), and the
client waits for the first heartbeat instead of sleeping two seconds.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import NoReturn

from hotmesh import MemFlow, errors
from hotmesh.config import resolve_dsn
from hotmesh.memflow import activity

wf = MemFlow.workflow
TASK_QUEUE = "hello-cancellation"
#: set at the activity's first heartbeat (the client cancels after it)
HEARTBEATING: dict[str, asyncio.Event] = {}
#: seconds between the activity's heartbeats
BEAT = 1.0


async def never_complete_activity() -> NoReturn:
    try:
        while True:
            print("Heartbeating activity", flush=True)
            activity.heartbeat()  # raises CancelledError once the workflow is cancelled
            if event := HEARTBEATING.get(activity.info().workflow_id):
                event.set()
            await asyncio.sleep(BEAT)  # the activity's own work
    except asyncio.CancelledError:
        print("Activity cancelled", flush=True)
        raise


async def cleanup_activity() -> None:
    print("Executing cleanup activity", flush=True)


async def cancellation_workflow() -> None:
    acts = wf.proxy_activities(
        activities={
            "never_complete_activity": never_complete_activity,
            "cleanup_activity": cleanup_activity,
        },
        start_to_close_timeout="1000s",
        heartbeat_timeout="2s",  # a long-running activity always sets one
    )
    try:
        await acts.never_complete_activity()
    finally:
        async with wf.shielded():  # the cleanup is not cancelled in turn
            await acts.cleanup_activity()


async def main(dsn: str | None = None) -> str:
    """Runs the sample; returns the text of the expected exception."""
    conn = {"dsn": dsn or resolve_dsn(None)}
    worker = await MemFlow.Worker.create(
        {
            "connection": conn,
            "task_queue": TASK_QUEUE,
            "workflow": cancellation_workflow,
        }
    )
    client = MemFlow.Client({"connection": conn})
    workflow_id = f"hello-cancellation-{uuid.uuid4().hex[:8]}"
    HEARTBEATING[workflow_id] = asyncio.Event()
    try:
        handle = await client.workflow.start(
            args=[],
            task_queue=TASK_QUEUE,
            workflow_name=cancellation_workflow,
            workflow_id=workflow_id,
        )
        await asyncio.wait_for(HEARTBEATING[workflow_id].wait(), 60)
        await handle.cancel()
        try:
            await handle.result()
            raise RuntimeError("Should not succeed")
        except errors.WorkflowCancelledError as exc:
            print(f"Got expected exception: {exc!r}", flush=True)
            return repr(exc)
    finally:
        HEARTBEATING.pop(workflow_id, None)
        await client.close()
        await worker.stop()


if __name__ == "__main__":
    asyncio.run(main())
