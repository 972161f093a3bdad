"""Listing, describing and bulk-cancelling workflows (issue 19), on real PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from tests.integration.memflow.conftest import Env

wf = MemFlow.workflow


async def managed(mode: str) -> str:
    wf.set_query_handler("mode", lambda: mode)
    if mode == "fail":
        raise ValueError("bad order")
    if mode == "done":
        return "ok"
    await wf.wait_condition(lambda: False)
    return "never"


async def ended(handle: Any) -> None:
    try:
        await asyncio.wait_for(handle.result(), 30)
    except errors.WorkflowFailedError:
        pass


async def test_list_describe_and_bulk_cancel(mf: Env) -> None:
    await mf.worker("mg", managed)
    client = mf.client

    async def start(mode: str, wid: str, **kw: Any) -> Any:
        return await client.workflow.start(
            args=[mode], task_queue="mg", workflow_name=managed, workflow_id=wid, **kw
        )

    done = await start("done", "m-done")
    failed = await start("fail", "m-fail")
    cancelled = await start("wait", "m-cancel")
    terminated = await start("wait", "m-term")
    runners = [
        await start("wait", f"m-run-{i}", search={"team": "blue"}) for i in range(3)
    ]
    await ended(done)
    await ended(failed)
    for handle in (cancelled, terminated, *runners):
        assert await handle.query("mode") == "wait"  # it has run
    await cancelled.cancel()
    await ended(cancelled)
    await terminated.terminate("stop")
    await ended(terminated)

    async def ids(**kw: Any) -> list[str]:
        page = await client.list_workflows(**kw)
        return sorted(w["workflow_id"] for w in page.workflows)

    assert await ids(status="completed") == ["m-done"]
    assert await ids(status="failed") == ["m-fail"]
    assert await ids(status="cancelled") == ["m-cancel"]
    assert await ids(status="terminated") == ["m-term"]
    assert await ids(status="running", search={"team": "blue"}) == [
        "m-run-0",
        "m-run-1",
        "m-run-2",
    ]
    assert len(await ids(workflow_name="managed", task_queue="mg")) == 7
    assert await ids(workflow_name="other") == []

    seen, cursor = [], None  # page by page, newest first
    while True:
        page = await client.list_workflows(limit=2, cursor=cursor)
        seen += [w["workflow_id"] for w in page.workflows]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert sorted(seen) == await ids() and len(seen) == 7

    about = await terminated.describe()
    assert about["status"] == "terminated" and about["task_queue"] == "mg"
    assert (await failed.describe())["error"]["message"] == "bad order"
    running = await runners[0].describe()
    assert running["status"] == "running" and running["search"] == {"team": "blue"}
    assert running["pending"]  # the open wait

    counts = await client.cancel_workflows({"search": {"team": "blue"}})
    assert counts == {"matched": 3, "cancelled": 3, "skipped": 0}
    for handle in runners:
        with pytest.raises(errors.WorkflowCancelledError):
            await asyncio.wait_for(handle.result(), 30)
    assert await ids(status="running") == []


async def test_bad_filters_are_named(mf: Env) -> None:
    client = mf.client
    with pytest.raises(errors.ConfigError, match="'runing' is not one of"):
        await client.list_workflows(status="runing")
    with pytest.raises(errors.ConfigError, match="did you mean 'task_queue'"):
        await client.cancel_workflows({"task_queu": "x"})
    with pytest.raises(errors.ConfigError, match="only running workflows"):
        await client.terminate_workflows({"status": "failed"})
    with pytest.raises(errors.ConfigError, match="cursor"):
        await client.list_workflows(cursor="nonsense")


SECOND_TRY = asyncio.Event()
RELEASE = asyncio.Event()
TRIES: list[str] = []


async def stocked(item: str) -> str:
    TRIES.append(item)
    if len(TRIES) == 1:
        raise ValueError(f"no stock for {item}")
    SECOND_TRY.set()
    await RELEASE.wait()
    return f"{item} in stock"


async def parked() -> str:
    await wf.wait_condition(lambda: False)
    return "never"


async def busy(item: str) -> str:
    await wf.start_child(parked, workflow_id=f"{item}-kid")
    acts = wf.proxy_activities(
        activities={"stocked": stocked},
        retry_policy={"maximum_attempts": 3, "initial_interval": 0.2},
    )
    return await acts.stocked(item)


async def test_describe_shows_attempts_last_failure_and_children(mf: Env) -> None:
    SECOND_TRY.clear()
    RELEASE.clear()
    TRIES.clear()
    await mf.worker("busy-q", busy)
    await mf.worker("busy-q", parked)
    handle = await mf.client.workflow.start(
        args=["ski"], task_queue="busy-q", workflow_name=busy, workflow_id="busy-1"
    )
    await asyncio.wait_for(SECOND_TRY.wait(), 30)  # the retry is running
    about = await handle.describe()
    [act] = about["pending_activities"]
    assert act["activity"] == "stocked" and act["args"] == ["ski"]
    assert act["attempt"] == 2 and act["running"] is True
    assert act["last_failure"]["type"] == "ValueError"
    assert act["last_failure"]["message"] == "no stock for ski"
    [kid] = about["pending_children"]
    assert kid["workflow_id"] == "ski-kid" and kid["workflow_name"] == "parked"
    RELEASE.set()
    assert await asyncio.wait_for(handle.result(), 30) == "ski in stock"
    after = await handle.describe()
    assert after["pending_activities"] == [] and after["pending_children"] == []
    await mf.client.workflow.get_handle("busy-q", "parked", "ski-kid").terminate()
