"""hotmesh.testing.ActivityEnvironment: one activity alone (issue 23)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from hotmesh import MemFlow
from hotmesh.testing import ActivityEnvironment


async def charge(amount: int) -> dict[str, Any]:
    ctx = MemFlow.activity.get_context()
    return {"charged": amount, "workflow": ctx.workflow_id, "name": ctx.activity_name}


def resize(width: int) -> str:
    # a plain function runs in a thread, as a worker runs it
    return f"{width}px in {threading.current_thread().name}"


async def test_runs_a_coroutine_and_a_plain_function_with_an_activity_context() -> None:
    env = ActivityEnvironment(workflow_id="order-7")
    assert await env.run(charge, 20) == {
        "charged": 20,
        "workflow": "order-7",
        "name": "charge",
    }
    out = await env.run(resize, 64)
    assert out.startswith("64px in ") and "MainThread" not in out


async def test_cancel_stops_a_coroutine_activity_at_its_await_point() -> None:
    env = ActivityEnvironment()
    waiting, cleaned = asyncio.Event(), []

    async def wait_forever() -> None:
        try:
            waiting.set()
            await asyncio.Event().wait()
        finally:
            cleaned.append(True)  # its cleanup runs

    run = asyncio.ensure_future(env.run(wait_forever))
    await asyncio.wait_for(waiting.wait(), 10)
    env.cancel("user asked")
    with pytest.raises(asyncio.CancelledError):
        await run
    assert cleaned == [True]
    assert env.cancelled == "user asked"


async def test_a_failure_of_the_activity_is_raised_as_it_is() -> None:
    async def refuse(amount: int) -> None:
        raise ValueError(f"cannot charge {amount}")

    with pytest.raises(ValueError, match="cannot charge 5"):
        await ActivityEnvironment().run(refuse, 5)
