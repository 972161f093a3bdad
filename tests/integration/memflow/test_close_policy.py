"""parent_close_policy (issue 19): children still running when their parent
ends are terminated, asked to cancel, or left running; on real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from hotmesh import MemFlow, errors
from tests.integration.memflow.conftest import Env

wf = MemFlow.workflow
CLEANED: Counter[str] = Counter()
QUEUE = "close-q"


READY = asyncio.Event()


async def cleanup(name: str) -> None:
    CLEANED[name] += 1


async def ready() -> None:
    READY.set()


async def kid(name: str) -> str:
    acts = wf.proxy_activities(activities={"cleanup": cleanup})
    try:
        await wf.wait_condition(lambda: False)
    finally:
        async with wf.shielded():
            await acts.cleanup(name)
    return "never"


async def parent(mode: str) -> list[str]:
    ids = []
    for policy in ("terminate", "request_cancel", "abandon"):
        child = await wf.start_child(
            kid,
            args=[f"{mode}-{policy}"],
            workflow_id=f"{mode}-{policy}",
            parent_close_policy=policy,
        )
        ids.append(str(child))
    if mode == "bad":
        await wf.start_child(kid, args=["x"], parent_close_policy="kill")
    if mode == "wait":
        await wf.proxy_activities(activities={"ready": ready}).ready()
        await wf.wait_condition(lambda: False)
    return ids


async def _outcomes(mf: Env, mode: str) -> dict[str, str]:
    client = mf.client
    out = {}
    for policy in ("terminate", "request_cancel"):
        handle = client.workflow.get_handle(QUEUE, "kid", f"{mode}-{policy}")
        try:
            await asyncio.wait_for(handle.result(), 30)
        except errors.WorkflowFailedError:
            pass
        out[policy] = (await handle.describe())["status"]
    abandoned = client.workflow.get_handle(QUEUE, "kid", f"{mode}-abandon")
    out["abandon"] = (await abandoned.describe())["status"]
    await abandoned.terminate("test over")
    return out


@pytest.fixture(autouse=True)
def _fresh() -> None:
    CLEANED.clear()
    READY.clear()


async def _workers(mf: Env) -> None:
    await mf.worker(QUEUE, parent)
    await mf.worker(QUEUE, kid)


async def test_children_follow_their_policy_when_the_parent_returns(mf: Env) -> None:
    await _workers(mf)
    handle = await mf.client.workflow.start(
        args=["ret"], task_queue=QUEUE, workflow_name=parent, workflow_id="p-ret"
    )
    assert await handle.result(timeout=30) == [
        "ret-terminate",
        "ret-request_cancel",
        "ret-abandon",
    ]
    assert await _outcomes(mf, "ret") == {
        "terminate": "terminated",
        "request_cancel": "cancelled",
        "abandon": "running",
    }
    assert CLEANED == {"ret-request_cancel": 1}  # only the cancelled child cleaned up


async def test_children_follow_their_policy_when_the_parent_is_terminated(
    mf: Env,
) -> None:
    await _workers(mf)
    handle = await mf.client.workflow.start(
        args=["wait"], task_queue=QUEUE, workflow_name=parent, workflow_id="p-wait"
    )
    await asyncio.wait_for(READY.wait(), 30)  # its three children are started
    await handle.terminate("incident")
    assert await _outcomes(mf, "wait") == {
        "terminate": "terminated",
        "request_cancel": "cancelled",
        "abandon": "running",
    }
    assert CLEANED == {"wait-request_cancel": 1}


async def test_an_unknown_policy_fails_the_parent_naming_the_choices(mf: Env) -> None:
    await _workers(mf)
    handle = await mf.client.workflow.start(
        args=["bad"], task_queue=QUEUE, workflow_name=parent, workflow_id="p-bad"
    )
    with pytest.raises(errors.WorkflowFailedError, match="'kill' is not one of"):
        await handle.result(timeout=30)
