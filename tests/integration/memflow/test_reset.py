"""client.reset (issue 19): re-run a workflow from a recorded step, keeping the
history before it, as a new run; on real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import asyncpg
import pytest

from hotmesh import MemFlow, errors
from hotmesh.engine.effects import KeepRequest
from hotmesh.memflow.reset import plan
from tests.integration.memflow.conftest import Env
from tests.waiting import until_notified

wf = MemFlow.workflow
CALLS: Counter[str] = Counter()
RAN: dict[str, asyncio.Event] = {}
BROKEN = {"charge": True}
#: a step's later calls wait for this (the test then knows where the run is)
HOLD: dict[str, asyncio.Event] = {}


async def step(label: str) -> str:
    CALLS[label] += 1
    RAN.setdefault(label, asyncio.Event()).set()
    if label in HOLD and CALLS[label] > 1:
        await HOLD[label].wait()
    if BROKEN.get(label):
        raise ValueError(f"{label} is down")
    return f"{label}-{CALLS[label]}"


def _acts() -> Any:
    return wf.proxy_activities(
        activities={"step": step}, retry_policy={"maximum_attempts": 1}
    )


async def ship(order: str) -> list[str]:
    acts = _acts()
    reserved = await acts.step("reserve")
    charged = await acts.step("charge")
    return [order, reserved, charged]


async def steered() -> list[Any]:
    got: list[str] = []
    wf.set_signal_handler("add", got.append)
    acts = _acts()
    one = await acts.step("one")
    await wf.wait_condition(lambda: len(got) >= 1)
    two = await acts.step("two")
    await wf.wait_condition(lambda: len(got) >= 2)
    return [one, two, got]


@pytest.fixture(autouse=True)
def _fresh() -> None:
    CALLS.clear()
    RAN.clear()
    HOLD.clear()
    BROKEN["charge"] = True


async def test_reset_to_last_failure_reruns_only_the_failed_step(mf: Env) -> None:
    await mf.worker("rs-q", ship)
    client = mf.client
    first = await client.workflow.start(
        args=["o-1"], task_queue="rs-q", workflow_name=ship, workflow_id="rs-ship"
    )
    with pytest.raises(errors.WorkflowFailedError, match="charge is down"):
        await first.result(timeout=30)
    old = await first.describe()
    BROKEN["charge"] = False  # the fix is deployed
    again = await client.reset("rs-ship", to_last_failure=True)
    assert await again.result(timeout=30) == ["o-1", "reserve-1", "charge-2"]
    assert CALLS == {"reserve": 1, "charge": 2}  # reserve was kept, not re-run
    new = await again.describe()
    assert new["status"] == "completed" and again.run_id == new["run_id"]
    assert new["run_id"] != old["run_id"]
    archived = client.workflow.get_handle(
        "rs-q", "ship", f"rs-ship:run:{old['run_id']}"
    )
    assert (await archived.describe())["status"] == "failed"  # the old run is kept


async def test_reset_a_running_workflow_to_a_step_keeps_the_signals_before_it(
    mf: Env,
) -> None:
    await mf.worker("rs-q", steered)
    client = mf.client
    handle = await client.workflow.start(
        task_queue="rs-q", workflow_name=steered, workflow_id="rs-steer"
    )
    await asyncio.wait_for(RAN.setdefault("one", asyncio.Event()).wait(), 30)
    await handle.signal("add", "a")
    await asyncio.wait_for(RAN.setdefault("two", asyncio.Event()).wait(), 30)
    before = await handle.describe()
    again = await client.reset("rs-steer", to_step=2)
    with pytest.raises(errors.WorkflowTerminatedError, match="reset to step 2"):
        await client.workflow.get_handle(
            "rs-q", "steered", f"rs-steer:run:{before['run_id']}"
        ).result(timeout=10)
    await again.signal("add", "b")
    assert await again.result(timeout=30) == ["one-1", "two-2", ["a", "b"]]
    assert CALLS == {"one": 1, "two": 2}


async def test_a_run_replaced_while_idle_on_its_inbox_takes_no_wake_of_the_new_one(
    mf: Env,
) -> None:
    """The replaced run idles on the key ``<id>:$inbox`` that the new run
    listens on too: its wait ends with it, so a wake sent while the new run
    is busy is kept for the new run, not taken by the old one and lost."""
    await mf.worker("rs-q", steered)
    client = mf.client
    handle = await client.workflow.start(
        task_queue="rs-q", workflow_name=steered, workflow_id="rs-idle"
    )
    await asyncio.wait_for(RAN.setdefault("one", asyncio.Event()).wait(), 30)
    await handle.signal("add", "a")
    await asyncio.wait_for(RAN.setdefault("two", asyncio.Event()).wait(), 30)
    key = "memflow.wfs.wait:rs-idle:$inbox"

    async def idle() -> bool:
        conn = await asyncpg.connect(mf.dsn)
        try:
            return bool(
                await conn.fetchval(
                    "SELECT count(*) FROM hotmesh.signals s JOIN hotmesh.jobs j"
                    " ON j.id = s.job WHERE s.key = $1 AND s.kind = 'hook'"
                    " AND j.status > 0",
                    key,
                )
            )
        finally:
            await conn.close()

    # two has returned and the old run waits on its inbox for the second add
    await until_notified(mf.dsn, idle, 30, "the old run idles on its inbox")
    HOLD["two"] = asyncio.Event()
    RAN["two"].clear()
    again = await client.reset("rs-idle", to_step=2)
    await asyncio.wait_for(RAN["two"].wait(), 30)  # the new run is in step two
    hm = await client.mesh()
    try:
        taken = await hm.engine.signal(
            "memflow.wfs.wait",
            {"id": "rs-idle:$inbox", "data": None},
            request=KeepRequest(job_id="rs-idle", max_pending=1),
        )
        assert taken is None  # kept for the new run: no old wait took it
        await again.signal("add", "b")
    finally:
        HOLD["two"].set()
    assert await again.result(timeout=30) == ["one-1", "two-2", ["a", "b"]]


async def test_a_reset_to_a_missing_step_is_refused_and_changes_nothing(
    mf: Env,
) -> None:
    await mf.worker("rs-q", ship)
    client = mf.client
    BROKEN["charge"] = False
    done = await client.workflow.start(
        args=["o-2"], task_queue="rs-q", workflow_name=ship, workflow_id="rs-done"
    )
    assert await done.result(timeout=30) == ["o-2", "reserve-1", "charge-1"]
    before = await done.describe()
    with pytest.raises(errors.ConfigError, match=r"no step 9 .*1 proxy 'step'"):
        await client.reset("rs-done", to_step=9)
    with pytest.raises(errors.ConfigError, match="exactly one"):
        await client.reset("rs-done")
    with pytest.raises(errors.ConfigError, match="no failure to reset to"):
        await client.reset("rs-done", to_last_failure=True)
    with pytest.raises(errors.JobNotFoundError):
        await client.reset("rs-nope", to_step=1)
    after = await done.describe()
    assert after["run_id"] == before["run_id"] and after["status"] == "completed"
    page = await client.list_workflows()
    assert [w["workflow_id"] for w in page.workflows] == ["rs-done"]


def test_plan_keeps_the_steps_and_events_before_the_point() -> None:
    data = {
        "generation": 1,
        "-proxy$1-1-": {"data": "a", "name": "x"},
        "-proxy$1-2-": {"data": "b", "name": "y"},
        "-proxy-1-": {"data": "old generation"},
        "-evt:1:0-": {"at": 1, "kind": "update", "id": "u1", "name": "n", "args": []},
        "-evt:1:1-": {"at": 2, "kind": "signal", "name": "s", "args": [7]},
        "-upd:u1-": {"data": 5},
        "-inbox-": 4,
        "-cond:1:3-": 99.0,
        "_team": "blue",
    }
    kept = plan(data, 2)
    assert kept.history == {
        "-proxy-1-": {"data": "a", "name": "x"},
        "-evt:0:0-": data["-evt:1:0-"],
        "-upd:u1-": {"data": 5},
        "-cond:0:3-": 99.0,
    }
    assert kept.signals == [("s", [7])]  # taken after the point: sent again
