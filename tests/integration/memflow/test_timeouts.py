"""Workflow timeouts (issue 19): ``execution_timeout`` and ``run_timeout`` end a
workflow timed out, on an injected clock (the timers are delayed starts)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from hotmesh.clock import ManualClock
from tests.integration.memflow.conftest import Env

wf = MemFlow.workflow
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
QUEUE = "to-q"
ARRIVED = asyncio.Event()


async def parked(mode: str) -> str:
    if mode == "quick":
        return "done"
    await wf.wait_condition(lambda: False)
    return "never"


async def arrived(generation: int) -> int:
    ARRIVED.set()
    return generation


async def runs(generation: int) -> str:
    if generation == 0:
        await wf.wait_for("next")
        wf.continue_as_new(1)
    acts = wf.proxy_activities(activities={"arrived": arrived})
    await acts.arrived(generation)
    await wf.wait_condition(lambda: False)
    return "never"


async def _clocked(mf: Env, workflow: Any) -> tuple[ManualClock, Any]:
    clock = ManualClock(T0)
    # the firing loop is off: the test fires due timers itself, at the clock's time
    mf.conn = {"dsn": mf.dsn, "options": {"clock": clock, "schedules": False}}
    await mf.worker(QUEUE, workflow)
    hm = await mf.client.mesh()
    done: asyncio.Queue[str] = asyncio.Queue()
    hm.subscriptions.add(
        "memflow.timeout.executed", lambda _t, out: done.put_nowait(str(out))
    )
    return clock, done


async def test_execution_timeout_ends_a_running_workflow_timed_out(mf: Env) -> None:
    clock, timers = await _clocked(mf, parked)
    client = mf.client
    slow = await client.workflow.start(
        args=["slow"],
        task_queue=QUEUE,
        workflow_name=parked,
        workflow_id="to-slow",
        execution_timeout="10m",
    )
    quick = await client.workflow.start(
        args=["quick"],
        task_queue=QUEUE,
        workflow_name=parked,
        workflow_id="to-quick",
        execution_timeout=600,
    )
    assert await quick.result(timeout=30) == "done"
    clock.advance(599)
    hm = await client.mesh()
    assert await hm.schedules.fire_due() == []  # not yet
    clock.advance(1)
    assert len(await hm.schedules.fire_due()) == 2
    with pytest.raises(
        errors.WorkflowTimedOutError, match="execution_timeout of 600 s"
    ):
        await slow.result(timeout=30)
    for _ in range(2):
        await asyncio.wait_for(timers.get(), 30)  # both timers have run
    assert await quick.result(timeout=5) == "done"  # a finished workflow is left alone
    about = await slow.describe()
    assert about["status"] == "timed_out"
    assert about["error"]["type"] == "TimedOut"
    page = await client.list_workflows(status="timed_out")
    assert [w["workflow_id"] for w in page.workflows] == ["to-slow"]


async def test_run_timeout_counts_each_run_of_continue_as_new(mf: Env) -> None:
    ARRIVED.clear()
    clock, timers = await _clocked(mf, runs)
    handle = await mf.client.workflow.start(
        args=[0],
        task_queue=QUEUE,
        workflow_name=runs,
        workflow_id="to-runs",
        run_timeout=60,
    )
    hm = await mf.client.mesh()
    clock.advance(40)
    await handle.signal("next")  # run 2 starts at +40 s: its timer is due at +100 s
    await asyncio.wait_for(ARRIVED.wait(), 30)
    clock.advance(20)
    assert len(await hm.schedules.fire_due()) == 1  # the first run's timer
    await asyncio.wait_for(timers.get(), 30)
    assert (await handle.describe())["status"] == "running"  # not this run's
    clock.advance(40)
    assert len(await hm.schedules.fire_due()) == 1
    with pytest.raises(errors.WorkflowTimedOutError, match="run_timeout of 60 s"):
        await handle.result(timeout=30)


async def test_bad_timeouts_are_named(mf: Env) -> None:
    client = mf.client
    with pytest.raises(
        errors.ConfigError, match="execution_timeout must be a positive"
    ):
        await client.workflow.start(
            task_queue=QUEUE, workflow_name="parked", execution_timeout=0
        )
    with pytest.raises(errors.ConfigError, match="run_timeout"):
        await client.workflow.start(
            task_queue=QUEUE, workflow_name="parked", run_timeout="soon"
        )
    with pytest.raises(errors.ConfigError, match="did you mean 'run_timeout'"):
        await client.workflow.start(
            task_queue=QUEUE, workflow_name="parked", run_timout=5
        )
    assert (await client.list_workflows()).workflows == []  # nothing was started
