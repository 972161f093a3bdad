"""MemFlow's Worker.create takes the flow options of its task queue's
activities (issue 17): topic limits every process obeys, checked at create."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from hotmesh import errors
from hotmesh.memflow import workflow
from tests.integration.memflow.conftest import Env


async def limited_flow(n: int) -> int:
    acts = workflow.proxy_activities(task_queue="limited")
    return int(await acts.double(n))


async def double(n: int) -> int:
    return n * 2


async def test_worker_create_sets_the_activity_topic_limits(mf: Env) -> None:
    w = await mf.worker(
        "limited",
        limited_flow,
        activities={"double": double},
        options={"concurrency": 2, "rate": {"limit": 100, "period": "1s"}},
    )
    limits = await w.mesh.topic_limits()
    assert limits["limited-activity"]["concurrency"] == 2
    assert limits["limited-activity"]["rate"] == {
        "limit": 100,
        "period": 1.0,
        "keyed": False,
    }
    handle = await mf.client.workflow.start(
        args=[21],
        task_queue="limited",
        workflow_name="limited_flow",
        workflow_id="lim-1",
    )
    assert await handle.result() == 42


async def test_worker_create_refuses_bad_limits_naming_the_field(mf: Env) -> None:
    with pytest.raises(errors.ConfigError, match=r"Worker.create: 'rate.period'"):
        await mf.worker(
            "limited", limited_flow, options={"rate": {"limit": 5, "period": "never"}}
        )


@pytest.mark.parametrize(
    "options",
    [
        {"concurrency": {"limit": 1, "key": "{$job.data.customer}"}},
        {"rate": {"limit": 5, "period": "1s", "key": "{$job.data.customer}"}},
    ],
)
async def test_worker_create_refuses_a_key_before_it_connects(
    mf: Env, options: dict[str, Any]
) -> None:
    with pytest.raises(errors.ConfigError, match=r"Worker.create: a 'key'"):
        await mf.worker("keyed", limited_flow, options=options)


STARTED: asyncio.Event | None = None
RELEASE: asyncio.Event | None = None


async def held(n: int) -> int:
    assert STARTED is not None and RELEASE is not None
    STARTED.set()
    await RELEASE.wait()
    return n


async def urgent_flow(n: int) -> int:
    acts = workflow.proxy_activities(task_queue="prio", priority=7)
    return int(await acts.held(n))


async def test_proxy_activities_priority_rides_on_the_work_message(
    mf: Env, pg_dsn: str
) -> None:
    global STARTED, RELEASE
    STARTED, RELEASE = asyncio.Event(), asyncio.Event()
    await mf.worker("prio", urgent_flow, activities={"held": held})
    handle = await mf.client.workflow.start(
        args=[5], task_queue="prio", workflow_name="urgent_flow", workflow_id="prio-1"
    )
    await asyncio.wait_for(STARTED.wait(), 20)
    conn = await asyncpg.connect(pg_dsn)
    try:
        priorities = await conn.fetch(
            "SELECT priority FROM hotmesh.messages WHERE stream = 'w:prio-activity'"
        )
    finally:
        await conn.close()
    RELEASE.set()
    assert [r["priority"] for r in priorities] == [7]
    assert await handle.result() == 5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"priority": "high"}, "proxy_activities: 'priority' must be an integer"),
        ({"concurrency": 2}, "'concurrency' is set for the whole task queue"),
        (
            {"rate": {"limit": 1, "period": "1s"}},
            "'rate' is set for the whole task queue",
        ),
    ],
)
def test_proxy_activities_refuses_bad_flow_options(
    options: dict[str, Any], message: str
) -> None:
    # checked where the proxy is made, before it needs a workflow
    with pytest.raises(errors.ConfigError) as caught:
        workflow.proxy_activities(task_queue="bad", **options)
    assert message in str(caught.value)
