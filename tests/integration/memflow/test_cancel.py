"""Cancellation with cleanup, and terminate (issue 19), on real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from hotmesh import MemFlow, errors
from tests.integration.memflow.conftest import Env
from tests.waiting import until_notified

wf = MemFlow.workflow
DONE: Counter[str] = Counter()
STARTED = asyncio.Event()
RELEASE = asyncio.Event()


async def record(what: str) -> str:
    DONE[what] += 1
    return what


async def slow(step: str) -> str:
    """Runs until the test lets it finish: the cancel arrives meanwhile."""
    STARTED.set()
    await asyncio.wait_for(RELEASE.wait(), 30)
    DONE[step] += 1
    return step


def acts() -> Any:
    return wf.proxy_activities(activities={"record": record, "slow": slow})


async def waits_forever(mode: str) -> str:
    """Idle on a condition; cancelled, it cleans up (shielded) or swallows it."""
    wf.set_signal_handler("noop", lambda: None)
    try:
        await wf.wait_condition(lambda: False)
    except asyncio.CancelledError:
        async with wf.shielded():
            await acts().record(f"cleanup {mode}")
            await wf.sleep_for(0.05)
        if mode == "swallow":
            return "cleaned up"
        raise
    return "unreachable"


async def busy() -> str:
    """No handler at all: the cancel reaches it when its activity returns."""
    try:
        await acts().slow("step")
        await acts().record("after step")  # never: the cancel comes first
        return "finished"
    finally:
        await acts().record("finally")


async def start(mf: Env, fn: Any, *args: Any) -> Any:
    return await mf.client.workflow.start(
        args=list(args), task_queue="cx", workflow_name=fn
    )


async def idle(mf: Env, handle: Any) -> None:
    """The workflow has run and registered its handler (a query sees it)."""

    async def ran() -> bool:
        try:
            await handle.query("missing")
        except errors.UnknownHandlerError:
            pass
        return "-front-" in (await handle._read()).data

    await until_notified(mf.conn["dsn"], ran, 30, "the workflow runs to its wait")


async def test_cancel_runs_shielded_cleanup_once(mf: Env) -> None:
    DONE.clear()
    await mf.worker("cx", waits_forever)
    handle = await start(mf, waits_forever, "raise")
    await idle(mf, handle)
    await handle.cancel("no longer needed")
    with pytest.raises(errors.WorkflowCancelledError, match="no longer needed"):
        await asyncio.wait_for(handle.result(), 30)
    assert DONE["cleanup raise"] == 1
    # a cancel of a finished workflow: a clear error, nothing recorded
    before = (await handle._read()).data
    with pytest.raises(errors.JobInactiveError, match="nothing to cancel"):
        await handle.cancel()
    assert (await handle._read()).data == before


async def test_a_caught_cancel_lets_the_workflow_finish(mf: Env) -> None:
    DONE.clear()
    await mf.worker("cx", waits_forever)
    handle = await start(mf, waits_forever, "swallow")
    await idle(mf, handle)
    await handle.cancel()
    await handle.cancel()  # a second request adds nothing
    assert await asyncio.wait_for(handle.result(), 30) == "cleaned up"
    assert DONE["cleanup swallow"] == 1


async def test_cancel_reaches_a_busy_workflow_at_its_next_await(mf: Env) -> None:
    DONE.clear()
    STARTED.clear()
    RELEASE.clear()
    await mf.worker("cx", busy)
    handle = await start(mf, busy)
    await asyncio.wait_for(STARTED.wait(), 30)
    await handle.cancel()
    RELEASE.set()
    with pytest.raises(errors.WorkflowCancelledError):
        await asyncio.wait_for(handle.result(), 30)
    assert DONE == Counter({"step": 1, "finally": 1})


async def test_terminate_is_a_hard_stop(mf: Env) -> None:
    DONE.clear()
    await mf.worker("cx", waits_forever)
    handle = await start(mf, waits_forever, "raise")
    await idle(mf, handle)
    await handle.terminate("stop now")
    with pytest.raises(errors.WorkflowTerminatedError, match="stop now"):
        await asyncio.wait_for(handle.result(), 30)
    assert DONE["cleanup raise"] == 0
