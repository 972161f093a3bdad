"""hotmesh.testing.ActivityEnvironment: one activity alone (issue 23)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from hotmesh import MemFlow
from hotmesh.memflow import activity
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


async def copy_files(count: int) -> int:
    done = 0
    for n in range(count):
        activity.heartbeat(n, f"file-{n}")
        done += 1
        await asyncio.sleep(0)  # an await point: where a cancellation lands
    return done


async def test_captures_heartbeats_in_order_and_calls_on_heartbeat() -> None:
    seen: list[tuple[Any, ...]] = []
    env = ActivityEnvironment(on_heartbeat=lambda *d: seen.append(d))
    assert await env.run(copy_files, 3) == 3
    assert env.heartbeats == [[0, "file-0"], [1, "file-1"], [2, "file-2"]]
    assert seen == [(0, "file-0"), (1, "file-1"), (2, "file-2")]


async def test_cancel_from_a_heartbeat_stops_a_coroutine_at_its_next_await() -> None:
    env = ActivityEnvironment()

    def on_beat(n: int, name: str) -> None:
        if n == 1:
            env.cancel("user asked")

    env.on_heartbeat = on_beat
    with pytest.raises(asyncio.CancelledError):
        await env.run(copy_files, 10)
    assert env.heartbeats == [[0, "file-0"], [1, "file-1"]]
    assert env.cancelled == "user asked"


def copy_blocking(count: int, started: threading.Event, go: threading.Event) -> int:
    done = 0
    for n in range(count):
        activity.heartbeat(n)
        if n == 0:
            started.set()
            go.wait(30)
        done += 1
    return done


async def test_cancel_reaches_a_plain_function_at_its_next_heartbeat() -> None:
    env = ActivityEnvironment()
    started, go = threading.Event(), threading.Event()
    run = asyncio.ensure_future(env.run(copy_blocking, 5, started, go))
    assert await asyncio.to_thread(started.wait, 30)
    env.cancel()
    go.set()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert env.heartbeats == [[0]]


async def resume() -> list[Any]:
    info = activity.info()
    return [info.attempt, list(info.heartbeat_details), info.workflow_id]


async def test_the_context_carries_an_earlier_attempts_heartbeat_details() -> None:
    env = ActivityEnvironment(workflow_id="w-9", attempt=2, heartbeat_details=[7])
    assert await env.run(resume) == [2, [7], "w-9"]


async def test_a_failure_of_the_activity_is_raised_as_it_is() -> None:
    async def refuse(amount: int) -> None:
        raise ValueError(f"cannot charge {amount}")

    with pytest.raises(ValueError, match="cannot charge 5"):
        await ActivityEnvironment().run(refuse, 5)
