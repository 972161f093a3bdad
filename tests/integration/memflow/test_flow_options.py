"""MemFlow's Worker.create takes the flow options of its task queue's
activities (issue 17): topic limits every process obeys, checked at create."""

from __future__ import annotations

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
