"""An activity answer that is an engine-level error fails the workflow; it never loops."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from tests.integration.memflow.conftest import Env

wf = MemFlow.workflow
CALLS: list[dict[str, Any]] = []


async def uses_raw_worker() -> str:
    acts = wf.proxy_activities(
        task_queue="raw", retry_policy={"maximum_attempts": 2, "initial_interval": 0.1}
    )
    return str(await acts.anything())


async def test_an_engine_level_activity_error_fails_the_workflow(mf: Env) -> None:
    """A raw worker on the activity stream answers error 500 (as a poison message
    would): after the policy's attempts the workflow fails with it, instead of
    cycling back and calling the activity again and again."""
    await mf.worker("infra", uses_raw_worker)
    mesh = await mf.client.mesh()

    async def raw(message: dict[str, Any]) -> dict[str, Any]:
        CALLS.append(message)
        return {
            "status": "error",
            "code": 500,
            "data": {"message": "infrastructure down"},
        }

    mesh.add_worker({"topic": "raw-activity", "callback": raw})
    handle = await mf.client.workflow.start(
        task_queue="infra", workflow_name="uses_raw_worker"
    )
    with pytest.raises(errors.WorkflowError) as caught:
        await asyncio.wait_for(handle.result(), 10)
    assert "infrastructure down" in str(caught.value)
    assert len(CALLS) == 2  # the policy's two attempts, then no more
    await mesh.remove_worker("raw-activity")
