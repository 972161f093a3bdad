"""``job_control.outcome``: a ``pubsub`` caller's timed wait on its waiter."""

from __future__ import annotations

import asyncio
from typing import Any

from hotmesh.job_control import outcome


async def test_an_output_that_comes_in_time_is_returned() -> None:
    fut: asyncio.Future[dict[str, Any] | None] = asyncio.Future()
    asyncio.get_running_loop().call_soon(fut.set_result, {"done": True})
    assert await outcome(fut, 5) == {"done": True}


async def test_out_of_time_the_waiter_ends_without_an_output() -> None:
    fut: asyncio.Future[dict[str, Any] | None] = asyncio.Future()
    assert await outcome(fut, 0.01) is None
    assert fut.done()  # a completion arriving now is ignored (it checks done())


async def test_no_time_at_all_takes_only_what_is_there() -> None:
    fut: asyncio.Future[dict[str, Any] | None] = asyncio.Future()
    assert await outcome(fut, 0) is None
    fut.set_result({"x": 1})
    assert await outcome(fut, 0) == {"x": 1}
